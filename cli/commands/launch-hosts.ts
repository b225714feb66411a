// cairn launch --hosts a,b / --hostfile F CMD: the coordinator starts one agent per host
// over ssh, each running CMD under cairn there; this process waits for them all and exits
// with the highest exit status.
import { spawn, type ChildProcess } from 'node:child_process';
import { call } from '../../common/control-client-lazy.js';
import { cairnBin } from '../../common/paths.js';
import { UserError } from '../../common/errors.js';
import type { SpawnAgentsReply__Output } from '../../gen/cairn/v1/SpawnAgentsReply.js';
import type { SpawnAgentsRequest } from '../../gen/cairn/v1/SpawnAgentsRequest.js';
import type { StatusReply__Output } from '../../gen/cairn/v1/StatusReply.js';
import type { CoordinatorFound } from '../coordinator-process.js';
import { info } from '../output.js';

const POLL_MS = 500;

function exitStatusOf(state: string): number | undefined {
  const m = /^exited \(status (\d+)\)/.exec(state);
  if (m) return Number(m[1]);
  return state === 'disconnected' ? 255 : undefined;
}

export async function launchOnHosts(coord: CoordinatorFound, hosts: string[], command: string[], cwd: string, ckptDir: string, quiet: boolean, compress?: string): Promise<number> {
  const args = ['launch', ...(quiet ? ['-q'] : []), ...(compress ? [`--compress=${compress}`] : []), '--', ...command];
  return runOnHosts(coord, hosts.map((host) => ({ host, args })), cwd, ckptDir, quiet);
}

export interface HostAgent {
  host: string;
  args: string[];
  /** Run here as a child of this process, with its terminal, instead of over ssh. */
  here?: boolean;
}

/** Starts one agent per entry (through the coordinator, or here) and waits for all of them. */
export async function runOnHosts(coord: CoordinatorFound, agents: HostAgent[], cwd: string, ckptDir: string, quiet: boolean): Promise<number> {
  try {
    return await waitOnHosts(coord, agents, cwd, ckptDir, quiet);
  } finally {
    // grpc-js may keep a channel to the coordinator open: nothing of this process is
    // needed once the job is over, so it must not linger because of that.
    setTimeout(() => process.exit(), 2000).unref();
  }
}

/** An agent on this host: `cairn SUB --coord-host localhost ...`, the user's terminal as
 * its stdio (so a restarted mpirun's output comes here, not to a log); the secret is found
 * in the ckptdir. */
function startHere(coord: CoordinatorFound, a: HostAgent, cwd: string, ckptDir: string): ChildProcess {
  const [sub, ...rest] = a.args;
  const child = spawn(process.execPath, [cairnBin(), sub!, '--coord-host', 'localhost', '--coord-port', String(coord.port), '--ckptdir', ckptDir, ...rest], { cwd, stdio: 'inherit' });
  child.on('error', () => undefined);
  return child;
}

async function waitOnHosts(coord: CoordinatorFound, agents: HostAgent[], cwd: string, ckptDir: string, quiet: boolean): Promise<number> {
  const hosts = agents.map((a) => a.host);
  const remote = agents.filter((a) => !a.here).map(({ host, args }) => ({ host, args }));
  const rep = remote.length
    ? await call<SpawnAgentsRequest, SpawnAgentsReply__Output>(coord, (c) => c.SpawnAgents, { agents: remote, cwd, ckptDir }, 120_000)
    : { ok: true, error: '' };
  const stopAll = async () => {
    await call(coord, (c) => c.Kill, {}, 5000).catch(() => undefined);
    if (coord.started) await call(coord, (c) => c.Quit, {}, 5000).catch(() => undefined);
  };
  if (!rep.ok) {
    await stopAll();
    throw new UserError(`could not start the job on every host: ${rep.error}`);
  }
  const children = agents.filter((a) => a.here).map((a) => {
    const child = startHere(coord, a, cwd, ckptDir);
    const c = { host: a.host, pid: child.pid ?? 0, status: undefined as number | undefined };
    child.on('exit', (code, signal) => (c.status = code ?? (signal ? 128 : 255)));
    return c;
  });
  if (!quiet) info(`started on ${hosts.join(', ')}`);
  let stop = false;
  const onSignal = () => {
    stop = true;
    void stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let status = 0;
  let misses = 0;
  let coordinatorPid = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    let s: StatusReply__Output;
    try {
      s = await call(coord, (c) => c.Status, {}, 5000);
      misses = 0;
      coordinatorPid ||= s.coordinatorPid;
      if (s.coordinatorPid !== coordinatorPid) throw new UserError('the coordinator was replaced while the job ran', 'the job keeps running on its hosts, without checkpoints');
    } catch (e) {
      if (e instanceof UserError && /replaced/.test(e.message)) throw e;
      // The coordinator is gone: the job runs on without it, and this launcher can no
      // longer see it end.
      if (++misses >= 6) throw new UserError(`lost the coordinator while the job runs: ${(e as Error).message}`, 'the job keeps running on its hosts; see cairn command --status');
      continue;
    }
    const states = s.member.map((m) => exitStatusOf(m.state));
    const allRegistered = s.member.length >= hosts.length;
    // An agent here that ended without its member joining could not start its part.
    const lostHere = children.filter((c) => c.status !== undefined && !s.member.some((m) => m.agentPid === c.pid));
    const remotesDone = s.remote.every((r) => r.state !== 'running' && r.state !== 'connecting') && children.every((c) => c.status !== undefined);
    if (lostHere.length) {
      info(`the job did not start on ${lostHere.map((c) => `${c.host} (status ${c.status})`).join(', ')}: stopping it everywhere`);
      await stopAll();
      status = 1;
      break;
    }
    if ((allRegistered && states.every((x) => x !== undefined)) || (remotesDone && s.remote.length + children.length > 0 && !s.running)) {
      status = Math.max(0, ...states.map((x) => x ?? 255));
      // An agent that ended without its job ever joining (it could not start it there). A
      // member names its host by its own hostname, which an ssh alias does not match: the
      // agent's pid tells too.
      const failed = s.remote.filter((r) => r.detail !== 'status 0' && !s.member.some((m) => m.host === r.host || (r.pid > 0 && m.agentPid === r.pid)));
      if (failed.length) {
        info(`the job did not start on ${failed.map((r) => `${r.host} (${r.detail})`).join(', ')}; see cairn-agent-<host>.log in ${ckptDir}`);
        status = Math.max(status, 1);
      }
      break;
    }
    if (stop) continue;
  }
  if (coord.started) {
    await call(coord, (c) => c.Quit, {}, 5000).catch(() => undefined);
    // The coordinator this launcher started stops its agents and ends within seconds: this
    // command returns once it has, so that nothing it started outlives it.
    await processGone(coordinatorPid, 15_000);
  }
  return status;
}

/** Waits (bounded) until process pid no longer exists. */
async function processGone(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (pid > 0 && Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
