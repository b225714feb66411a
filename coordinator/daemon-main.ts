// The background coordinator a launch or restart starts (cli/coordinator-process.ts): the
// same as `cairn coordinator`, run without the command line's modules (yargs, the other
// commands, the engine), so that it answers ~0.1 s sooner. Its flags are written by cairn
// itself; errors go to its log as `cairn: ...` lines, which the starter reports.
import fs from 'node:fs';
import { UserError, errorMessage } from '../common/errors.js';
import { cairnProto } from '../common/proto.js';
import { DEFAULT_KEEP, DEFAULT_PHASE_TIMEOUT_S } from './options.js';
import { serveCoordinator, type ServeOptions } from './serve.js';

export function parseDaemonArgs(argv: string[]): ServeOptions {
  const o: Partial<ServeOptions> = { exitOnLast: false, intervalS: 0, keep: DEFAULT_KEEP, phaseTimeoutS: DEFAULT_PHASE_TIMEOUT_S };
  const num = (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (v === undefined || v === '' || !Number.isFinite(n)) throw new Error(`${flag}: a number is wanted, not ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--exit-on-last') {
      o.exitOnLast = true;
      continue;
    }
    const v = argv[++i];
    switch (flag) {
      case '--coord-port': o.port = num(flag, v); break;
      case '--ckptdir': o.ckptDir = v; break;
      case '--port-file': o.portFile = v; break;
      case '--interval': o.intervalS = num(flag, v); break;
      case '--keep': o.keep = num(flag, v); break;
      case '--phase-timeout': o.phaseTimeoutS = num(flag, v); break;
      case '--ready-fd': o.readyFd = num(flag, v); break;
      case '--starter-pid': o.starterPid = num(flag, v); break;
      case '--cairn-bin': o.cairnBin = v; break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (o.port === undefined || !o.ckptDir || !o.cairnBin) throw new Error('--coord-port, --ckptdir and --cairn-bin are needed');
  return o as ServeOptions;
}

/** `--spare` (cli/coordinator-spare.ts): booted before its flags are known; they come as one
 * JSON line on stdin, { args, log }, with the log file its output goes to (a spawned
 * coordinator's stdout and stderr are that file; a spare's are /dev/null). Stdin closed
 * without a line: not wanted, it exits. */
async function spareFlags(): Promise<string[] | undefined> {
  cairnProto();   // the protos, loaded while the starter works
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  if (!text.includes('\n')) return undefined;
  const { args, log } = JSON.parse(text.slice(0, text.indexOf('\n'))) as { args: string[]; log: string };
  const fd = fs.openSync(log, 'a', 0o600);
  const toLog = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    fs.writeSync(fd, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  process.stdout.write = toLog as typeof process.stdout.write;
  process.stderr.write = toLog as typeof process.stderr.write;
  process.on('uncaughtExceptionMonitor', (e) => toLog(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`));
  return args;
}

async function main(): Promise<void> {
  try {
    let argv = process.argv.slice(2);
    if (argv[0] === '--spare') {
      const flags = await spareFlags();
      if (!flags) return;
      argv = flags;
    }
    process.exitCode = await serveCoordinator(parseDaemonArgs(argv));
  } catch (e) {
    process.stderr.write(`cairn: ${errorMessage(e)}\n`);
    if (e instanceof UserError && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    process.exit(1);
  }
}

await main();
