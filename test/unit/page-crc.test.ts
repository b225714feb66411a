// The restorer checks every page it fills against the image's page crcs with its own crc32c
// (native/helpers/page_crc.h: three streams joined by shifting, or a table): it must be the
// same function the dump used (test/programs/page_crc_check.c, against a bitwise reference).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { program } from '../helpers/programs.js';

test('the restorer\'s page crc32c equals the bitwise reference, with the crc32 instruction and with the table', (t) => {
  const r = spawnSync(program('page_crc_check'), [], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.true(lines.includes('ok table 1000'), r.stdout);
  // The test machines have SSE4.2: the instruction's path must be the one checked.
  t.true(lines.includes('ok insn 1000'), r.stdout);
});
