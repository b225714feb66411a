// The job's SysV IPC objects are read by cairn-ipc, a helper in the job's user and IPC
// namespaces (the agent, multi-threaded, cannot join them). Starting a process from Node costs
// several ms, more the larger the agent, so one helper serves the job's whole life: started
// with the first checkpoint (while memory is copied), it joins the namespaces and reads the
// objects at each order, once the job is frozen and dumped. A helper that failed is replaced
// at the next checkpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { errorMessage } from '../common/errors.js';

export interface SysvIpcObject {
  kind: string;
  id: number;
  key: number;
  mode: number;
  size: number;
}

/** What cairn-ipc wrote: `length` bytes (0: the namespace has no object) with their crc32c. */
export interface SysvIpcBlob {
  length: number;
  crc32c: number;
  objects: SysvIpcObject[];
}

export class SysvIpcServer {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private waiting?: { resolve: (line: string) => void; reject: (e: Error) => void };
  private ended = false;
  private readonly exited: Promise<void>;

  constructor(helper: string, initPid: number) {
    this.child = spawn(helper, ['serve', '--pid', String(initPid)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      const nl = this.stdout.indexOf('\n');
      if (nl < 0 || !this.waiting) return;
      const line = this.stdout.slice(0, nl);
      this.stdout = this.stdout.slice(nl + 1);
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve(line);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin!.on('error', () => undefined);   // it failed already: its stderr says why
    this.exited = new Promise((resolve) => {
      const end = (why: string) => {
        this.ended = true;
        this.waiting?.reject(new Error(`${this.stderr.trim() || why} (the job's SysV IPC objects)`));
        this.waiting = undefined;
        resolve();
      };
      this.child.on('error', (e) => end(`cairn-ipc: ${errorMessage(e)}`));
      this.child.on('close', (code, signal) => end(`cairn-ipc ended (${signal ?? `exit status ${code}`})`));
    });
  }

  /** False once the helper has ended: a new one is needed. */
  get alive(): boolean {
    return !this.ended;
  }

  /** Reads the objects now (the job is frozen) and writes them at `offset` of `file`. */
  dump(file: string, offset: number): Promise<SysvIpcBlob> {
    if (this.ended) return Promise.reject(new Error(`${this.stderr.trim() || 'cairn-ipc has ended'} (the job's SysV IPC objects)`));
    const line = new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
    const path = Buffer.from(file);
    this.child.stdin!.write(Buffer.concat([Buffer.from(`${offset} ${path.length}\n`), path]));
    return line.then((l) => JSON.parse(l) as SysvIpcBlob);
  }

  /** EOF on its stdin: it exits. */
  async close(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}
