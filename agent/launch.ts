// Starting a program under cairn: find it as execvp would, refuse what cannot be traced,
// and hand it to the engine, which starts it inside the job's fresh namespaces.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../common/errors.js';
import { nativePaths, type Engine, type JobProcess } from './engine-api.js';

/** Absolute path of the program, as execvp would find it. */
export function resolveProgram(cmd: string, cwd: string, pathEnv = process.env.PATH ?? '/usr/bin:/bin'): string {
  const candidates = cmd.includes('/') ? [path.resolve(cwd, cmd)] : pathEnv.split(':').filter(Boolean).map((d) => path.resolve(cwd, d, cmd));
  for (const c of candidates) {
    let st: fs.Stats;
    try {
      st = fs.statSync(c);
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    try {
      fs.accessSync(c, fs.constants.X_OK);
    } catch {
      throw new UserError(`program ${c} is not executable`, `chmod +x ${c}`);
    }
    try {
      fs.accessSync(c, fs.constants.R_OK);
    } catch {
      // The kernel refuses to let an unprivileged user trace a program he cannot read.
      throw new UserError(`program ${c} is not readable by you, so it cannot be checkpointed`, 'use a copy you can read');
    }
    return c;
  }
  throw new UserError(`program '${cmd}' not found${cmd.includes('/') ? '' : ' in PATH'}`, 'give its path, e.g. ./a.out');
}

/** The job's environment: the user's, without cairn's secret. */
export function jobEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([k, v]) => v !== undefined && k !== 'CAIRN_SECRET' && k !== 'CAIRN_SECRET_FILE')
    .map(([k, v]) => `${k}=${v}`);
}

export async function launchJob(engine: Engine, argv: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<JobProcess> {
  const program = resolveProgram(argv[0]!, cwd);
  const nsinit = nativePaths().nsinit;
  const job = await engine.launch({
    argv: [program, ...argv.slice(1)],
    env: jobEnvironment({ ...process.env, ...extraEnv }),
    cwd,
    stdio: [0, 1, 2],
    nsinitPath: nsinit,
  });
  await programStarted(job.pid, nsinit);
  return job;
}

/** Until the job's main process runs its program: forked by cairn-nsinit, it is cairn-nsinit
 * until its exec, and the job would be named, and its process told, after that (seen on a
 * loaded machine). A failed exec ends the process: no wait then. */
async function programStarted(pid: number, nsinit: string): Promise<void> {
  let helper: string;
  try {
    helper = fs.realpathSync(nsinit);
  } catch {
    return;
  }
  const exe = () => {
    try {
      return fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return '';   // gone (its exec failed), or a zombie
    }
  };
  const end = Date.now() + 10_000;
  while (exe() === helper && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
}
