// End-to-end tests run cairn and the job as an ordinary user. When the test runner is
// root, every command is started as the dedicated test user (CAIRN_TEST_USER, default
// cairntest; scripts/test.mjs creates it), with that user's HOME.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

let cached: TestUser | undefined;

export function testUser(): TestUser {
  if (cached) return cached;
  if (process.getuid!() !== 0) {
    cached = { name: process.env.USER ?? 'self', uid: process.getuid!(), gid: process.getgid!(), home: process.env.HOME ?? '/tmp' };
    return cached;
  }
  const name = process.env.CAIRN_TEST_USER ?? 'cairntest';
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`test user ${name} does not exist: run the tests with npm test (it creates the user), or useradd -m ${name}`);
  }
  const f = line.split(':');
  cached = { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
  return cached;
}

/** Give a path to the test user (only needed when running as root). */
export function chownToTestUser(p: string): void {
  const u = testUser();
  if (process.getuid!() === 0) fs.chownSync(p, u.uid, u.gid);
}
