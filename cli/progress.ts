// Progress of long work (a checkpoint, a restart): a bar redrawn in place on a terminal, a
// plain line every few seconds otherwise (logs of batch jobs). Quiet for work that ends fast.
import { formatBytes } from './output.js';

const TTY_EVERY_MS = 100;
const TTY_AFTER_MS = 300;
const LINE_EVERY_MS = 5000;
const WIDTH = 24;

export class ProgressBar {
  private readonly start = Date.now();
  private last = 0;
  private drawn = false;
  private samples: Array<{ t: number; done: number }> = [];

  constructor(
    private readonly what: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = !!out.isTTY,
  ) {}

  update(done: number, total: number): void {
    const now = Date.now();
    if (total <= 0) return;
    this.samples.push({ t: now, done });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 3000) this.samples.shift();   // rate over ~3 s
    if (this.tty ? now - this.start < TTY_AFTER_MS || now - this.last < TTY_EVERY_MS : now - (this.last || this.start) < LINE_EVERY_MS) return;
    this.last = now;
    const line = this.format(done, total, now);
    if (this.tty) {
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`cairn: ${line}\n`);
    }
  }

  /** Clears the bar (a terminal keeps the lines that follow clean). */
  finish(): void {
    if (this.tty && this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }

  format(done: number, total: number, now = Date.now()): string {
    const frac = Math.min(1, done / total);
    const first = this.samples[0];
    const dt = first ? (now - first.t) / 1000 : 0;
    const rate = first && dt > 0.2 ? (done - first.done) / dt : done / Math.max(0.001, (now - this.start) / 1000);
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : NaN;
    const fill = Math.round(frac * WIDTH);
    const bar = this.tty ? `[${'#'.repeat(fill)}${'.'.repeat(WIDTH - fill)}] ` : '';
    const etaText = Number.isFinite(eta) ? `, ETA ${eta < 60 ? `${Math.ceil(eta)} s` : `${Math.floor(eta / 60)} min ${Math.ceil(eta % 60)} s`}` : '';
    return `${this.what} ${bar}${(frac * 100).toFixed(0)}% ${formatBytes(done)} of ${formatBytes(total)}, ${(rate / 1e6).toFixed(0)} MB/s${etaText}`;
  }
}

/** Calls poll() every quarter second and shows what it says until `work` settles. */
export async function withProgress<T>(what: string, work: Promise<T>, poll: () => Promise<{ done: number; total: number } | undefined> | { done: number; total: number } | undefined): Promise<T> {
  const bar = new ProgressBar(what);
  let stop = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  void (async () => {
    while (!stop) {
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, 250);
      });
      if (stop) break;
      const p = await Promise.resolve(poll()).catch(() => undefined);
      if (p && !stop) bar.update(p.done, p.total);
    }
  })();
  try {
    return await work;
  } finally {
    // Not waiting for the poll in flight: the work's end must not wait for a quarter second.
    stop = true;
    clearTimeout(timer);
    wake?.();
    bar.finish();
  }
}
