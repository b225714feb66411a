// What the CLI prints: one-line errors with a hint, never a stack trace.
import { UserError, errorMessage } from '../common/errors.js';

export function fail(err: unknown): never {
  if (err instanceof UserError) {
    process.stderr.write(`cairn: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`cairn: ${errorMessage(err)}\n`);
  if (process.env.CAIRN_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

export function info(line: string): void {
  process.stderr.write(`cairn: ${line}\n`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
