// The native front's HPACK decoder (native/helpers/hpack.c) on RFC 7541's examples and on
// eviction, size updates and malformed blocks (test/programs/hpack_vectors.c).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { program } from '../helpers/programs.js';

test('HPACK: RFC 7541 C.4, the dynamic table\'s evictions, malformed blocks refused', (t) => {
  const r = spawnSync(program('hpack_vectors'), [], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['ok C.4.1', 'ok C.4.2', 'ok C.4.3', 'ok size update', 'ok eviction', 'ok malformed']);
});
