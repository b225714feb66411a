// The progress line of long checkpoints and restarts.
import test from 'ava';
import { Writable } from 'node:stream';
import { ProgressBar } from '../../cli/progress.js';

function sink(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } }) as unknown as NodeJS.WriteStream;
  (w as { isTTY?: boolean }).isTTY = tty;
  return { stream: w, text: () => text };
}

test('a line names bytes done, total, rate and time left', (t) => {
  const s = sink(false);
  const bar = new ProgressBar('checkpoint', s.stream);
  const line = bar.format(512 * 2 ** 20, 2048 * 2 ** 20);
  t.regex(line, /^checkpoint 25% 512\.0 MiB of 2\.0 GiB, \d+ MB\/s, ETA \d+/);
  t.false(line.includes('['), 'no bar when not on a terminal');
});

test('on a terminal the bar is drawn in place and cleared at the end', async (t) => {
  const s = sink(true);
  const bar = new ProgressBar('restart', s.stream);
  await new Promise((r) => setTimeout(r, 350));
  bar.update(2 ** 30, 4 * 2 ** 30);
  t.regex(s.text(), /^\rrestart \[#{6}\.{18}\] 25% 1\.0 GiB of 4\.0 GiB/);
  bar.finish();
  t.true(s.text().endsWith('\r\x1b[K'));
});

test('work that ends fast prints nothing', (t) => {
  for (const tty of [true, false]) {
    const s = sink(tty);
    const bar = new ProgressBar('checkpoint', s.stream);
    bar.update(10, 100);
    bar.finish();
    t.is(s.text(), '');
  }
});
