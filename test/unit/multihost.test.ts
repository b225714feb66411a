// Pure parts of the multi-host work: ssh config, known_hosts, host lists, --host-map.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkHostKey } from '../../common/known-hosts.js';
import { parseHostList } from '../../common/hostfile.js';
import { resolveSshHost } from '../../common/ssh-config.js';
import { parseHostMap } from '../../cli/commands/restart-hosts.js';
import { renderRestartScript } from '../../coordinator/restart-script.js';
import { matchTcpEnds } from '../../coordinator/checkpoint-run.js';
import { Rendezvous } from '../../coordinator/rendezvous.js';

const CONFIG = `
Host node2
    HostName 10.0.0.2
    Port 2222
Host node* !node3
    User alice
    IdentityFile ~/.ssh/id_cluster
    StrictHostKeyChecking accept-new
Host *
    User bob
    UserKnownHostsFile ~/.ssh/kh
`;

test('ssh config: the first value wins, patterns and negation, ~ and defaults', (t) => {
  const n2 = resolveSshHost('node2', CONFIG, '/home/u', 'u');
  t.is(n2.hostName, '10.0.0.2');
  t.is(n2.port, 2222);
  t.is(n2.user, 'alice');
  t.deepEqual(n2.identityFiles, ['/home/u/.ssh/id_cluster']);
  t.is(n2.strictHostKeyChecking, 'accept-new');
  t.deepEqual(n2.knownHostsFiles, ['/home/u/.ssh/kh']);
  const n3 = resolveSshHost('node3', CONFIG, '/home/u', 'u');
  t.is(n3.user, 'bob');
  t.is(n3.port, 22);
  t.is(n3.strictHostKeyChecking, 'ask');
  t.deepEqual(n3.identityFiles, ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => `/home/u/.ssh/${f}`));
});

test('known_hosts: plain, hashed, [host]:port, changed and unknown keys', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kh-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = Buffer.from('0000000b7373682d65643235353139', 'hex');
  const other = Buffer.from('other key');
  const salt = crypto.randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${crypto.createHmac('sha1', salt).update('node5').digest('base64')}`;
  const file = path.join(dir, 'known_hosts');
  fs.writeFileSync(file, `node1,10.0.0.1 ssh-ed25519 ${key.toString('base64')}\n${hashed} ssh-ed25519 ${key.toString('base64')}\n[node2]:2222 ssh-ed25519 ${key.toString('base64')}\n`);
  t.is(checkHostKey([file], ['node1'], 22, key), 'known');
  t.is(checkHostKey([file], ['10.0.0.1'], 22, key), 'known');
  t.is(checkHostKey([file], ['node5'], 22, key), 'known');
  t.is(checkHostKey([file], ['node2'], 2222, key), 'known');
  t.is(checkHostKey([file], ['node2'], 22, key), 'unknown');
  t.is(checkHostKey([file], ['node1'], 22, other), 'changed');
});

test('host lists: --hosts, plain and MPI hostfiles', (t) => {
  t.deepEqual(parseHostList('node1,node2'), ['node1', 'node2']);
  t.deepEqual(parseHostList('# cluster\nnode1 slots=2\nnode2:4\n\nnode1\n'), ['node1', 'node2']);
});

test('--host-map OLD=NEW pairs', (t) => {
  t.deepEqual([...parseHostMap('node1=node3, node2=node1')], [['node1', 'node3'], ['node2', 'node1']]);
  t.throws(() => parseHostMap('node1'), { message: /OLD=NEW/ });
});

test('cairn_restart.sh: an editable host table that feeds --host-map', (t) => {
  const text = renderRestartScript({ jobId: 'j-1', generation: 3, date: new Date(0), hosts: [{ host: 'node1', cwd: '/w', images: 2 }, { host: 'node2', cwd: '/w', images: 1 }], jobDir: '/c/j-1', ckptDir: '/c', coordPort: 0, intervalS: 0, cairnBin: '/opt/cairn/bin/cairn.js' });
  t.regex(text, /^host_1='node1'  host_1_to='node1'/m);
  t.regex(text, /^host_map="\$host_1=\$host_1_to,\$host_2=\$host_2_to"$/m);
  t.regex(text, /set -- --host-map "\$host_map" "\$@"/);
  // The table comes before the command, where a person edits it.
  t.true(text.indexOf('host_1_to=') < text.indexOf('exec "$CAIRN" restart'));
});

test('TCP ends are paired across members by swapped addresses; each end gets what its peer wrote; others stay unpaired', (t) => {
  const result = (ends: Array<[string, string, string]>) =>
    ({ checkpointId: '1', phase: 'FD_LEADER', ok: true, error: '', images: [], pauseUs: '0', tcpEnds: ends.map(([local, peer, written]) => ({ local, peer, written })) }) as never;
  const results = new Map([
    [1, result([['10.0.0.1:4000', '10.0.0.2:5000', '11'], ['10.0.0.1:4001', '10.9.9.9:80', '3']])],
    [2, result([['10.0.0.2:5000', '10.0.0.1:4000', '22']])],
    [3, result([])],
  ]);
  const m = matchTcpEnds(results);
  t.deepEqual(m.get(1), [{ local: '10.0.0.1:4000', peer: '10.0.0.2:5000', written: '22' }]);
  t.deepEqual(m.get(2), [{ local: '10.0.0.2:5000', peer: '10.0.0.1:4000', written: '11' }]);
  t.false(m.has(3));
});

test('rendezvous: an offer reaches who waits for it, before or after; a wait without offer ends with a clear error', async (t) => {
  const r = new Rendezvous();
  const early = r.want('gen-000001#a|b', 5_000);
  r.offer('gen-000001#a|b', ['10.0.0.3:4321']);
  t.deepEqual(await early, ['10.0.0.3:4321']);
  t.deepEqual(await r.want('gen-000001#a|b', 10), ['10.0.0.3:4321']);
  await t.throwsAsync(r.want('gen-000001#c|d', 20), { message: /no agent offered the connection gen-000001#c\|d within 0.02 s/ });
});
