// A job started from a terminal: cairn launch in a tmux pane running an interactive python
// (readline, raw mode while it waits for a line) and one running top (full screen). Each is
// checkpointed, killed with its coordinator, and restarted from another tmux window: the
// restarted job has the new window's terminal, in the mode the job had left its own in, and
// goes on where it was (python remembers its variables, top redraws).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cairnBin } from '../../common/paths.js';
import { runAsUser, waitFor, type RunResult } from '../helpers/cairn.js';
import { TestJob } from '../helpers/job.js';

class Tmux {
  constructor(private job: TestJob) {}

  private env(): Record<string, string> {
    return { TMUX_TMPDIR: this.job.root, TERM: 'xterm' };
  }

  run(...args: string[]): Promise<RunResult> {
    return runAsUser('/usr/bin/tmux', ['-L', 'cairn', '-f', '/dev/null', ...args], { cwd: this.job.work, env: this.env(), timeoutMs: 10_000 });
  }

  async screen(target: string): Promise<string> {
    return (await this.run('capture-pane', '-p', '-t', target)).stdout;
  }

  /** Until the window's command has ended (tmux closes the window then). */
  async waitClosed(window: string, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const r = await this.run('list-windows', '-a', '-F', '#{window_name}');
      if (r.code !== 0 || !r.stdout.split('\n').includes(window)) return;
      await new Promise((res) => setTimeout(res, 200));
    }
    throw new Error(`window ${window} is still open: its job did not end`);
  }

  async waitScreen(target: string, what: string, re: RegExp, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    let last = '';
    while (Date.now() < end) {
      last = await this.screen(target);
      if (re.test(last)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}; the screen shows:\n${last}`);
  }
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function checkpointKillRestart(t: import('ava').ExecutionContext, job: TestJob, tmux: Tmux): Promise<void> {
  const cp = await job.command('--bcheckpoint');
  t.is(cp.code, 0, cp.stderr.trim());
  const s = await job.status();
  await job.killAll(s);
  fs.rmSync(job.portFile, { force: true });
  // The restart runs in a window of its own: a different terminal than the launch had.
  const r = await tmux.run('new-window', '-t', 'job', '-n', 'again', `cd ${sh(job.ckpt)} && ./cairn_restart.sh`);
  t.is(r.code, 0, r.stderr);
  // Keys are typed once the job is back (registered, so restored and let go).
  await job.running();
}

function launchLine(job: TestJob, argv: string[]): string {
  return [process.execPath, cairnBin(), 'launch', '--new-coordinator', '--coord-port', '0', '--port-file', job.portFile, '--ckptdir', job.ckpt, ...argv].map(sh).join(' ');
}

/** cairn launch ARGV in window 0 of a new tmux session "job" (100x30), torn down with the test. */
async function launchInTmux(t: import('ava').ExecutionContext, name: string, argv: string[]): Promise<{ job: TestJob; tmux: Tmux }> {
  const job = new TestJob(name);
  const tmux = new Tmux(job);
  t.teardown(async () => {
    await tmux.run('kill-server');
    await job.cleanup();
  });
  const r = await tmux.run('new-session', '-d', '-s', 'job', '-x', '100', '-y', '30', launchLine(job, argv));
  t.is(r.code, 0, r.stderr);
  // The session outlives the launch's window: its launcher exits once the job is killed, and
  // the restart gets a window of its own after that.
  const keep = await tmux.run('set-option', '-w', '-t', 'job:0', 'remain-on-exit', 'on');
  t.is(keep.code, 0, keep.stderr);
  return { job, tmux };
}

test.serial('an interactive python under tmux survives checkpoint and restart in another window', async (t) => {
  const { job, tmux } = await launchInTmux(t, 'tty-python', ['/usr/bin/python3', '-q', '-i']);
  await tmux.waitScreen('job:0', 'the python prompt', /^>>>/m);
  await tmux.run('send-keys', '-t', 'job:0', 'answer = 41', 'Enter');
  await tmux.waitScreen('job:0', 'a second prompt', /answer = 41\n>>>/);
  await waitFor('the job to register', () => fs.existsSync(job.portFile), 10_000);
  await checkpointKillRestart(t, job, tmux);
  // The restarted python waits at its prompt, in this window's terminal.
  await tmux.run('send-keys', '-t', 'job:again', 'print(answer + 1)', 'Enter');
  await tmux.waitScreen('job:again', 'python to answer in the new window', /print\(answer \+ 1\)\n42\n/);
  await tmux.run('send-keys', '-t', 'job:again', 'exit()', 'Enter');
  await tmux.waitClosed('again');
});

test.serial('top under tmux survives checkpoint and restart in another window and redraws', async (t) => {
  const { job, tmux } = await launchInTmux(t, 'tty-top', ['/usr/bin/top', '-d', '0.5']);
  await tmux.waitScreen('job:0', 'top', /^top - .*load average/m);
  await waitFor('the job to register', () => fs.existsSync(job.portFile), 10_000);
  await checkpointKillRestart(t, job, tmux);
  await tmux.waitScreen('job:again', 'top to draw in the new window', /^top - .*load average/m);
  // It still follows its terminal: a real resize makes it draw the whole screen anew.
  await tmux.run('resize-window', '-t', 'job:again', '-x', '90', '-y', '28');
  await tmux.waitScreen('job:again', 'top to redraw the whole screen', /^top - .*load average[\s\S]*Tasks:[\s\S]*PID/m);
  // Still interactive: "q" quits it, and the restarted job ends.
  await tmux.run('send-keys', '-t', 'job:again', 'q');
  await tmux.waitClosed('again');
  t.pass();
});
