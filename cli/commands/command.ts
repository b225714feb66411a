// cairn command: talk to a running coordinator (checkpoint, status, list, kill, quit).
import { call, type CoordTarget } from '../../common/control-client.js';
import { ckptDirOf, coordHost, coordPort, readPortFile } from '../../common/coord-address.js';
import { parseCompress } from '../../common/compress.js';
import { UserError } from '../../common/errors.js';
import { findSecret } from '../../common/secret.js';
import { formatBytes } from '../output.js';
import { withProgress } from '../progress.js';
import type { CheckpointReply__Output } from '../../gen/cairn/v1/CheckpointReply.js';
import type { StatusReply__Output } from '../../gen/cairn/v1/StatusReply.js';
import type { ListReply__Output } from '../../gen/cairn/v1/ListReply.js';

export interface CommandArgs {
  checkpoint?: boolean;
  bcheckpoint?: boolean;
  status?: boolean;
  list?: boolean;
  kill?: boolean;
  quit?: boolean;
  json?: boolean;
  /** Page data codec for this checkpoint (--checkpoint / --bcheckpoint). */
  compress?: string;
  coordHost?: string;
  coordPort?: number;
  portFile?: string;
  ckptdir?: string;
}

export function target(a: { coordHost?: string; coordPort?: number; portFile?: string; ckptdir?: string }): CoordTarget {
  const port = a.portFile ? readPortFile(a.portFile) : coordPort(a.coordPort);
  return { host: coordHost(a.coordHost), port, secret: findSecret(ckptDirOf(a.ckptdir)) };
}

function printStatus(s: StatusReply__Output, t: CoordTarget): void {
  const lines = [
    `Coordinator: ${t.host}:${s.port || t.port} (pid ${s.coordinatorPid})`,
    `Job:         ${s.jobId || '(none yet)'}`,
    `Checkpoints: ${s.ckptDir || '-'}`,
    `Members:     ${s.members}`,
    `Running:     ${s.running ? 'yes' : 'no'}`,
    `Interval:    ${s.intervalS ? `${s.intervalS} s` : 'none'}`,
    `Last generation: ${s.lastGeneration || 'none'}${s.checkpointInProgress ? ' (checkpoint in progress)' : ''}`,
  ];
  if (s.lastError) lines.push(`Last error:  ${s.lastError}`);
  // The job by host: each host's agents (members) and their processes (MPI ranks named).
  const hosts = new Map<string, StatusReply__Output['member']>();
  for (const m of s.member ?? []) hosts.set(m.host, [...(hosts.get(m.host) ?? []), m]);
  for (const [host, ms] of [...hosts].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`Host ${host}:`);
    for (const m of ms) {
      const procs = m.processes.map((p) => `${p.comm}[${p.hostPid}]${p.rank ? ` rank ${p.rank}` : ''}`).join(' ');
      lines.push(`  member ${m.memberId}, agent pid ${m.agentPid}, ${m.state}, ${m.processes.length} process(es): ${procs}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function printList(members: ListReply__Output['member']): void {
  if (members.length === 0) process.stdout.write('no members\n');
  for (const m of members) {
    const procs = m.processes.map((p) => `${p.comm}[${p.nsPid}] host pid ${p.hostPid}`).join(', ');
    process.stdout.write(`member ${m.memberId}: host ${m.host}, agent pid ${m.agentPid}, ${m.state}: ${procs}\n`);
  }
}

function describeCheckpoint(r: CheckpointReply__Output, blocking: boolean): string {
  if (!blocking) return `checkpoint requested: generation ${r.generation}`;
  const secs = (Number(r.durationUs) / 1e6).toFixed(3);
  const pause = (Number(r.pauseUs) / 1e3).toFixed(0);
  return `checkpoint generation ${r.generation} written to ${r.genDir} in ${secs} s (${formatBytes(Number(r.bytes))}, job paused ${pause} ms)`;
}

export async function command(a: CommandArgs): Promise<number> {
  const chosen = ['checkpoint', 'bcheckpoint', 'status', 'list', 'kill', 'quit'].filter((k) => a[k as keyof CommandArgs]);
  if (chosen.length !== 1) throw new UserError(chosen.length ? `choose one of --${chosen.join(', --')}` : 'no command given', 'cairn command --checkpoint | --bcheckpoint | --status | --list | --kill | --quit');
  if (a.compress !== undefined && !(a.checkpoint || a.bcheckpoint)) throw new UserError('--compress goes with --checkpoint or --bcheckpoint', 'cairn command --bcheckpoint --compress zstd', 2);
  const compress = a.compress !== undefined ? parseCompress(a.compress, '--compress') : '';
  const t = target(a);
  const out = (obj: unknown, text: string) => process.stdout.write(a.json ? JSON.stringify(obj) + '\n' : text + '\n');
  if (a.checkpoint || a.bcheckpoint) {
    const blocking = !!a.bcheckpoint;
    const req = call<{ wait: boolean; compress: string }, CheckpointReply__Output>(t, (c) => c.Checkpoint, { wait: blocking, compress }, blocking ? 0 : 10_000);
    // A blocking checkpoint shows how far the images are (stderr; not with --json).
    const r = blocking && !a.json
      ? await withProgress('checkpoint', req, async () => {
          const s = await call<Record<string, never>, StatusReply__Output>(t, (c) => c.Status, {}, 5_000);
          return s.checkpointInProgress ? { done: Number(s.progressDone), total: Number(s.progressTotal) } : undefined;
        })
      : await req;
    if (!r.ok) throw new UserError(`checkpoint failed: ${r.error}`, 'the previous checkpoint is still the latest; see cairn command --status');
    out(r, describeCheckpoint(r, blocking));
    if (!a.json) for (const n of r.notes ?? []) process.stderr.write(`cairn: note: ${n}\n`);
    return 0;
  }
  if (a.status) {
    const s = await call<Record<string, never>, StatusReply__Output>(t, (c) => c.Status, {}, 10_000);
    if (a.json) out(s, '');
    else printStatus(s, t);
    return 0;
  }
  if (a.list) {
    const l = await call<Record<string, never>, ListReply__Output>(t, (c) => c.List, {}, 10_000);
    if (a.json) out(l, '');
    else printList(l.member);
    return 0;
  }
  if (a.kill) {
    const r = await call<Record<string, never>, { members: number }>(t, (c) => c.Kill, {}, 10_000);
    out(r, `kill sent to ${r.members} member(s)`);
    return 0;
  }
  await call(t, (c) => c.Quit, {}, 10_000);
  out({ ok: true }, 'coordinator is quitting');
  return 0;
}
