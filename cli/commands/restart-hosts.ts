// cairn restart on many hosts: each host of the generation gets its processes back on a
// host of the user's choosing (--hosts/--hostfile in manifest order, or --host-map
// old=new), where an agent started over ssh restores that host's processes only
// (restart --only-host OLD). The processes keep their old hostname (UTS namespace).
// Each host's agent restores its own processes; connections between hosts are for a
// later step, in which the agents exchange addresses through the coordinator.
import os from 'node:os';
import path from 'node:path';
import { ckptDirOf, coordPort, intervalOf } from '../../common/coord-address.js';
import { UserError } from '../../common/errors.js';
import { hostsOf } from '../../common/hostfile.js';
import type { RestartTarget } from '../../agent/restart-target.js';
import { ensureCoordinator } from '../coordinator-process.js';
import { info } from '../output.js';
import { runOnHosts } from './launch-hosts.js';

export interface HostPlacement {
  /** old host -> new host, for every host of the generation */
  map: Map<string, string>;
}

export function parseHostMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(pair);
    if (!m) throw new UserError(`--host-map: '${pair}' is not OLD=NEW`, 'e.g. --host-map node1=node3,node2=node1');
    map.set(m[1]!, m[2]!);
  }
  return map;
}

export function imagesOfHost(target: RestartTarget, host: string): string[] {
  const h = target.manifest?.hosts.find((x) => x.host === host);
  if (!h) throw new UserError(`generation ${target.genDir} has no processes of host ${host}`, `its hosts: ${target.manifest?.hosts.map((x) => x.host).join(', ') ?? 'none (no manifest)'}`);
  return h.images.map((i) => path.join(target.genDir, i.file));
}

/** undefined: a plain restart here. Otherwise where each old host's processes go. */
export function planHosts(target: RestartTarget, a: { hosts?: string; hostfile?: string; hostMap?: string; onlyHost?: string }): HostPlacement | undefined {
  if (a.onlyHost !== undefined) return undefined;
  const old = target.manifest?.hosts.map((h) => h.host) ?? [];
  const listed = hostsOf(a.hosts, a.hostfile);
  if (listed.length && a.hostMap) throw new UserError('--host-map together with --hosts/--hostfile', 'use one of them');
  if (!listed.length && !a.hostMap && old.length <= 1) return undefined;
  if (!target.manifest) throw new UserError('a restart on other hosts needs the generation manifest', 'restart a generation directory, not single images');
  const map = new Map(old.map((h) => [h, h] as [string, string]));
  if (listed.length) {
    if (listed.length < old.length) throw new UserError(`generation ${target.manifest.generation} ran on ${old.length} hosts (${old.join(', ')}), but only ${listed.length} were given`, 'give one new host per old host, in the same order');
    old.forEach((h, i) => map.set(h, listed[i]!));
  } else if (a.hostMap) {
    for (const [from, to] of parseHostMap(a.hostMap)) {
      if (!map.has(from)) throw new UserError(`--host-map: generation ${target.manifest.generation} has no host ${from}`, `its hosts: ${old.join(', ')}`);
      map.set(from, to);
    }
  }
  return { map };
}

/** The host named as this machine calls itself (what a member reports as its host). */
export function isThisHost(host: string): boolean {
  return host === 'localhost' || host === os.hostname();
}

export async function restartOnHosts(target: RestartTarget, placement: HostPlacement, a: { newCoordinator: boolean; coordPort?: number; portFile?: string; interval?: number; ckptdir?: string; quiet?: boolean; compress?: string }): Promise<number> {
  const ckptDir = path.resolve(a.ckptdir ?? path.dirname(target.jobDir));
  ckptDirOf(ckptDir);
  const port = coordPort(a.coordPort);
  const coord = await ensureCoordinator({
    host: 'localhost',
    port,
    newCoordinator: a.newCoordinator || port === 0,
    portFile: a.portFile,
    ckptDir,
    intervalS: intervalOf(a.interval ?? target.manifest?.intervalS),
    // This process waits for every host and then quits the coordinator.
    exitOnLast: false,
  });
  // The processes coming back to this very host are restored by a child of this process,
  // on the user's terminal (a restarted mpirun prints here); the others over ssh.
  const agents = [...placement.map].map(([from, to]) => ({ host: to, here: isThisHost(to), args: ['restart', ...(a.quiet ? ['-q'] : []), ...(a.compress !== undefined ? [`--compress=${a.compress}`] : []), '--only-host', from, target.genDir] }));
  const moved = [...placement.map].filter(([from, to]) => from !== to);
  if (moved.length && !a.quiet) {
    info(`note: ${moved.map(([f, t]) => `${f}'s processes go to ${t}`).join(', ')}; the connections they had are made again, but one first made after this restart to an old host's address cannot be (see "MPI jobs across hosts" in the README)`);
  }
  return runOnHosts(coord, agents, '/', ckptDir, !!a.quiet);
}
