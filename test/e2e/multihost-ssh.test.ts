// The multi-host test bed answers: the test user reaches every node over ssh with its own
// keys and ssh config, and each node has its own hostname (UTS namespace).
import test from 'ava';
import { NODES, requireTestbed, sshAsUser } from '../helpers/cluster.js';

test.serial('the test user ssh-es to every node of the test bed', async (t) => {
  requireTestbed();
  for (const node of NODES) {
    const r = await sshAsUser(node, 'hostname; id -un');
    t.is(r.code, 0, r.stderr);
    const [host] = r.stdout.trim().split('\n');
    t.is(host, node);
  }
});
