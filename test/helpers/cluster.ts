// The multi-host test bed (test/testbed/cluster.sh): three hosts node1..3 made of network
// namespaces, each with its own sshd, sharing this machine's filesystem. npm test brings it
// up (as root) before the tests and down after them; a test that needs it and finds it
// missing fails, so a broken bed never passes as "skipped".
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { runAsUser, type RunResult } from './cairn.js';

export const NODES = ['node1', 'node2', 'node3'] as const;
/** The root namespace's address on the bed's bridge (clusterhost). */
export const CLUSTER_HOST = 'clusterhost';

export function clusterScript(): string {
  return path.join(projectRoot(), 'test', 'testbed', 'cluster.sh');
}

/** Throws unless every node's sshd answers. */
export function requireTestbed(): void {
  try {
    execFileSync(clusterScript(), ['status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const out = (e as { stdout?: string }).stdout ?? '';
    throw new Error(`the multi-host test bed is not up (run as root: CLUSTER_USER=<test user> test/testbed/cluster.sh up, or use npm test):\n${out}`);
  }
}

/** `ssh host cmd` as the test user, with its own keys and ~/.ssh/config. */
export function sshAsUser(host: string, command: string, timeoutMs = 30_000): Promise<RunResult> {
  return runAsUser('ssh', ['-o', 'BatchMode=yes', host, command], { cwd: '/', timeoutMs });
}
