// The job's SysV IPC objects are read by cairn-ipc, a helper in the job's user and IPC
// namespaces (the agent, multi-threaded, cannot join them). Starting a process from Node costs
// several ms, so it is started when a checkpoint begins, before the freeze: it joins the
// namespaces and waits for its orders (image file and offset), which come once the job is
// frozen and dumped.
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

export class SysvIpcReader {
  private readonly child: ChildProcess;
  private stdout = '';
  private stderr = '';
  private readonly exited: Promise<number | null>;

  constructor(helper: string, initPid: number) {
    this.child = spawn(helper, ['dump', '--pid', String(initPid)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin!.on('error', () => undefined);   // it failed already: its stderr says why
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.stderr ||= `cairn-ipc: ${errorMessage(e)}`;
        resolve(null);
      });
      this.child.on('close', (code) => resolve(code));
    });
  }

  /** Reads the objects now (the job is frozen) and writes them at `offset` of `file`. */
  async dump(file: string, offset: number): Promise<SysvIpcBlob> {
    this.child.stdin!.end(`${offset}\n${file}`);
    const code = await this.exited;
    if (code !== 0) {
      const why = this.stderr.trim() || `cairn-ipc: exit status ${code}`;
      throw new Error(`${why} (the job's SysV IPC objects)`);
    }
    return JSON.parse(this.stdout) as SysvIpcBlob;
  }

  /** No orders (the checkpoint ended otherwise): it exits without reading anything. */
  async cancel(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}
