// Scratch directories owned by the test user, removed after the test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chownToTestUser } from './user.js';

export function scratchDir(prefix = 'cairn-test-'): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  chownToTestUser(dir);
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function mkdirForUser(p: string): string {
  fs.mkdirSync(p, { recursive: true });
  chownToTestUser(p);
  return p;
}
