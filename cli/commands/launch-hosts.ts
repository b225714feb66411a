// cairn launch --hosts a,b / --hostfile F CMD: the coordinator starts one agent per host
// over ssh, each running CMD under cairn there; this process waits for them all and exits
// with the highest exit status.
import { call } from '../../common/control-client.js';
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

/** Starts one agent per entry through the coordinator and waits for all of them. */
export async function runOnHosts(coord: CoordinatorFound, agents: Array<{ host: string; args: string[] }>, cwd: string, ckptDir: string, quiet: boolean): Promise<number> {
  try {
    return await waitOnHosts(coord, agents, cwd, ckptDir, quiet);
  } finally {
    // grpc-js may keep a channel to the coordinator open: nothing of this process is
    // needed once the job is over, so it must not linger because of that.
    setTimeout(() => process.exit(), 2000).unref();
  }
}

async function waitOnHosts(coord: CoordinatorFound, agents: Array<{ host: string; args: string[] }>, cwd: string, ckptDir: string, quiet: boolean): Promise<number> {
  const hosts = agents.map((a) => a.host);
  const rep = await call<SpawnAgentsRequest, SpawnAgentsReply__Output>(coord, (c) => c.SpawnAgents, { agents, cwd, ckptDir }, 120_000);
  const stopAll = async () => {
    await call(coord, (c) => c.Kill, {}, 5000).catch(() => undefined);
    if (coord.started) await call(coord, (c) => c.Quit, {}, 5000).catch(() => undefined);
  };
  if (!rep.ok) {
    await stopAll();
    throw new UserError(`could not start the job on every host: ${rep.error}`);
  }
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
    const remotesDone = s.remote.every((r) => r.state !== 'running' && r.state !== 'connecting');
    if ((allRegistered && states.every((x) => x !== undefined)) || (remotesDone && s.remote.length > 0 && !s.running)) {
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
  if (coord.started) await call(coord, (c) => c.Quit, {}, 5000).catch(() => undefined);
  return status;
}
