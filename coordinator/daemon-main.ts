// The background coordinator a launch or restart starts (cli/coordinator-process.ts): the
// same as `cairn coordinator`, run without the command line's modules (yargs, the other
// commands, the engine), so that it answers ~0.1 s sooner. Its flags are written by cairn
// itself; errors go to its log as `cairn: ...` lines, which the starter reports.
import { UserError, errorMessage } from '../common/errors.js';
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

async function main(): Promise<void> {
  try {
    process.exitCode = await serveCoordinator(parseDaemonArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`cairn: ${errorMessage(e)}\n`);
    if (e instanceof UserError && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    process.exit(1);
  }
}

await main();
