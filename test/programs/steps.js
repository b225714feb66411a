// Deterministic node work driven by timers (setTimeout chain and a setInterval), one line per
// step appended to OUTFILE.   node steps.js OUTFILE STEPS STEP_MS
'use strict';
const fs = require('node:fs');
const [out, stepsArg, msArg] = process.argv.slice(2);
const steps = Number(stepsArg), ms = Number(msArg);
const fd = fs.openSync(out, 'a');
const kept = [];
let ticks = 0;
const tick = setInterval(() => ticks++, ms / 4);
let x = 1n;
function step(s) {
  if (s === steps) {
    clearInterval(tick);
    fs.writeSync(fd, 'done\n');
    fs.closeSync(fd);
    console.log(`steps.js finished ${steps} steps`);
    return;
  }
  x = (x * 6364136223846793005n + 1442695040888963407n) % (1n << 64n);
  kept.push(new Array(1000).fill(s).map((v, i) => v * i));
  const sum = kept.reduce((n, a) => n + a[a.length - 1], 0);
  fs.writeSync(fd, `step ${s} x ${x} sum ${sum} kept ${kept.length}\n`);
  setTimeout(() => step(s + 1), ms);
}
step(0);
