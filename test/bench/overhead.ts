// What cairn costs outside checkpoints: a trivial process's checkpoint end to end, starting a
// program under cairn, and running under it (each workload times itself, natively and under
// cairn launch, alternately).
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin } from '../../common/paths.js';
import { cairn, readIf, runAsUser, waitFor } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';
import { scratchDir } from '../helpers/scratch.js';
import { median, secondsAsync } from './util.js';

export interface TrivialCheckpoint {
  runs: number;
  /** The checkpoint itself, as the coordinator measures it (freeze to thaw, images fsynced). */
  checkpointS: number;
  pauseS: number;
  /** `cairn command --bcheckpoint` as a user runs it: bin/cairn, whose native front answers it. */
  commandWallS: number;
  /** The same through the Node CLI (bin/cairn.js): a Node start-up and gRPC's loading more. */
  nodeCommandWallS: number;
}

export async function trivialCheckpoint(workload: string, runs: number): Promise<TrivialCheckpoint> {
  const job = new TestJob('bench-trivial');
  try {
    job.launch([workload, 'out.txt', 'idle', '1', '1']);
    await job.running();
    await waitFor('trivial process ready', () => readIf(path.join(job.work, 'out.txt')).includes('ready'));
    const d: number[] = [], p: number[] = [], w: number[] = [], nw: number[] = [];
    for (let i = 0; i < runs; i++) {
      let out = '';
      w.push(await secondsAsync(async () => {
        const r = await job.command('--bcheckpoint', '--json');
        if (r.code !== 0) throw new Error(`trivial checkpoint failed: ${r.stderr}`);
        out = r.stdout;
      }));
      const reply = JSON.parse(out) as { durationUs: string; pauseUs: string };
      d.push(Number(reply.durationUs) / 1e6);
      p.push(Number(reply.pauseUs) / 1e6);
      nw.push(await secondsAsync(async () => {
        const r = await runAsUser(process.execPath, [cairnBin(), 'command', '--port-file', job.portFile, '--ckptdir', job.ckpt, '--bcheckpoint', '--json'], { cwd: job.work });
        if (r.code !== 0) throw new Error(`trivial checkpoint through node failed: ${r.stderr}`);
      }));
    }
    await job.command('--kill');
    await job.launcher!.exited;
    return { runs, checkpointS: median(d), pauseS: median(p), commandWallS: median(w), nodeCommandWallS: median(nw) };
  } finally {
    await job.cleanup();
  }
}

export interface LaunchOverhead {
  runs: number;
  nativeS: number;
  /** `cairn launch --new-coordinator` of the same program: namespaces, init, coordinator. */
  cairnS: number;
}

export async function launchOverhead(runs: number): Promise<LaunchOverhead> {
  const job = new TestJob('bench-launch');
  try {
    const n: number[] = [], c: number[] = [];
    for (let i = 0; i < runs; i++) {
      n.push(await secondsAsync(() => runAsUser('/bin/true', [], { cwd: job.work })));
      fs.rmSync(job.portFile, { force: true });
      c.push(await secondsAsync(async () => {
        const r = await cairn(['launch', '--new-coordinator', '--coord-port', '0', '--port-file', job.portFile, '--ckptdir', job.ckpt, '/bin/true'], { cwd: job.work });
        if (r.code !== 0) throw new Error(`cairn launch /bin/true failed: ${r.stderr}`);
      }));
    }
    return { runs, nativeS: median(n), cairnS: median(c) };
  } finally {
    await job.cleanup();
  }
}

export interface RuntimeOverhead {
  workload: string;
  /** Launches of each kind, alternately native and under cairn; each runs the workload
   * `repeats` times in a row and counts its fastest run (interference only ever adds time). */
  runs: number;
  repeats: number;
  nativeS: number;
  cairnS: number;
  /** Median over the launches of (cairn's fastest / the native launch's just before it) - 1:
   * pairs cancel the drift of a shared machine. */
  pairedOverhead: number;
  /** (slowest - fastest) / median of the native launches' fastest runs: the noise left. */
  nativeSpread: number;
  /** The same for the CPU time (user + system) each run took: scheduling noise left out. */
  nativeCpuS: number;
  cairnCpuS: number;
  pairedCpuOverhead: number;
  nativeCpuSpread: number;
  /** The fastest run of all under cairn against the fastest native one, - 1. */
  fastestOverhead: number;
  fastestCpuOverhead: number;
}

function timings(file: string): Array<{ wall: number; cpu: number }> {
  const all = [...readIf(file).matchAll(/elapsed_ns (\d+) cpu_ns (\d+)/g)].map((m) => ({ wall: Number(m[1]) / 1e9, cpu: Number(m[2]) / 1e9 }));
  if (all.length === 0) throw new Error(`no timing in ${file}`);
  return all;
}

export async function runtimeOverhead(workload: string, mode: string, arg: string, runs: number, repeats: number): Promise<RuntimeOverhead> {
  const scratch = scratchDir('cairn-bench-native-');
  const n: number[] = [], c: number[] = [], nc: number[] = [], cc: number[] = [];
  const fastest = (t: Array<{ wall: number; cpu: number }>) => ({ wall: Math.min(...t.map((x) => x.wall)), cpu: Math.min(...t.map((x) => x.cpu)) });
  try {
    for (let i = 0; i < runs; i++) {
      const out = path.join(scratch.dir, `native.${i}.txt`);
      // Both idle 2 s before they time themselves: cairn's agent and coordinator have
      // started by then (what starting them costs is the launch overhead, above).
      const env = { WORKLOAD_SETTLE_MS: '2000', WORKLOAD_REPEAT: String(repeats) };
      const r = await runAsUser(workload, [out, mode, arg], { cwd: scratch.dir, env });
      if (r.code !== 0) throw new Error(`native ${mode} failed (${r.code})`);
      const nt = fastest(timings(out));
      n.push(nt.wall);
      nc.push(nt.cpu);
      const job = new TestJob(`bench-${mode}`);
      try {
        const l = await job.launch([workload, 'out.txt', mode, arg], { env }).exited;
        if (l.code !== 0) throw new Error(`${mode} under cairn failed: ${l.stderr}`);
        const ct = fastest(timings(path.join(job.work, 'out.txt')));
        c.push(ct.wall);
        cc.push(ct.cpu);
      } finally {
        await job.cleanup();
      }
    }
    const paired = (a: number[], b: number[]) => median(a.map((x, i) => b[i]! / x - 1));
    const spread = (a: number[]) => (Math.max(...a) - Math.min(...a)) / median(a);
    return {
      workload: `${mode} ${arg}`, runs, repeats, nativeS: median(n), cairnS: median(c), pairedOverhead: paired(n, c), nativeSpread: spread(n),
      nativeCpuS: median(nc), cairnCpuS: median(cc), pairedCpuOverhead: paired(nc, cc), nativeCpuSpread: spread(nc),
      fastestOverhead: Math.min(...c) / Math.min(...n) - 1, fastestCpuOverhead: Math.min(...cc) / Math.min(...nc) - 1,
    };
  } finally {
    scratch.remove();
  }
}
