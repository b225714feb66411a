// A coordinator booted before it is needed. A new coordinator is a Node process that takes
// ~0.3 s to load gRPC and its protos, and a launch or restart cannot let its job run before
// the coordinator answers. So a command that will start one boots a spare at once, before
// the command line's own modules load; the spare loads its modules and waits for its flags
// on stdin (coordinator/daemon-main.ts --spare). startCoordinatorDaemon hands it the flags,
// or the spare exits when its stdin closes unused. Only light modules here: this runs first.
import { spawn, type ChildProcess } from 'node:child_process';
import { coordPort } from '../common/coord-address.js';
import { coordinatorDaemonScript } from '../common/paths.js';
import { splitLaunchArgv } from './launch-argv.js';

let spare: ChildProcess | undefined;

/** The value of flag NAMES among cairn's own options. */
function flagValue(options: string[], names: string[]): string | undefined {
  for (let i = 0; i < options.length; i++) {
    const a = options[i]!;
    for (const n of names) {
      if (a === n) return options[i + 1];
      if (a.startsWith(n + '=')) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

/** Whether `cairn ARGV` is sure to start a new coordinator on this host: a launch or
 * restart with --new-coordinator or port 0 (the tests', the bench's, a batch script's usual
 * way), not an agent of a multi-host restart. At the default port one may be running. */
export function startsCoordinator(argv: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (argv[0] !== 'launch' && argv[0] !== 'restart') return false;
  const split = splitLaunchArgv(argv);
  const options = split.indexOf('--') < 0 ? split : split.slice(0, split.indexOf('--'));
  if (options.some((a) => a === '--help' || a === '--only-host' || a.startsWith('--only-host='))) return false;
  if (options.includes('--new-coordinator')) return true;
  try {
    return coordPort(flagValue(options, ['--coord-port', '-p']), env) === 0;
  } catch {
    return false;   // a bad port: the command line says so, with no coordinator started
  }
}

/** Boots a spare coordinator if `cairn ARGV` is sure to want one; its pid. */
export function bootSpareIfNeeded(argv: string[]): number | undefined {
  if (spare || process.env.CAIRN_NO_SPARE_COORDINATOR || !startsCoordinator(argv)) return undefined;
  try {
    spare = spawn(process.execPath, [coordinatorDaemonScript(), '--spare'], { detached: true, stdio: ['pipe', 'ignore', 'ignore', 'pipe'], env: process.env });
  } catch {
    spare = undefined;   // the coordinator is then spawned when it is wanted, as without a spare
    return undefined;
  }
  spare.on('error', () => undefined);
  spare.stdin!.on('error', () => undefined);
  // Neither the spare nor its pipes keep this process alive.
  spare.unref();
  (spare.stdin as unknown as { unref(): void }).unref();
  (spare.stdio[3] as unknown as { unref(): void }).unref();
  return spare.pid;
}

/** The spare, still waiting, for its caller to hand flags to; at most once. */
export function takeSpare(): ChildProcess | undefined {
  const s = spare;
  spare = undefined;
  if (!s || s.exitCode !== null || s.signalCode !== null || !s.stdin?.writable) return undefined;
  // Its starter now waits for it, as for a coordinator spawned then.
  s.ref();
  (s.stdio[3] as unknown as { ref(): void }).ref();
  return s;
}

/** The spare is not wanted (a coordinator answered already): it exits. */
export function dropSpare(): void {
  takeSpare()?.stdin!.end();
}
