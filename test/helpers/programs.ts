// Test programs of test/programs/, compiled once per test process into a directory the
// test user can read.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';

let binDir: string | undefined;

function dir(): string {
  if (!binDir) {
    binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-progs-'));
    fs.chmodSync(binDir, 0o755);
    process.on('exit', () => fs.rmSync(binDir!, { recursive: true, force: true }));
  }
  return binDir;
}

/** Path of the compiled program NAME (test/programs/NAME.c). */
export function program(name: string, extraFlags: string[] = []): string {
  const out = path.join(dir(), name + (extraFlags.length ? '-' + extraFlags.join('').replace(/[^a-z0-9]/gi, '') : ''));
  if (!fs.existsSync(out)) {
    const src = path.join(projectRoot(), 'test', 'programs', `${name}.c`);
    execFileSync('gcc', ['-O2', '-g', '-Wall', '-Wextra', '-pthread', ...extraFlags, '-o', out, src], { stdio: 'inherit' });
    fs.chmodSync(out, 0o755);
  }
  return out;
}
