// `cairn launch OPTIONS PROGRAM ARGS`: where cairn's options end and the program begins.
import test from 'ava';
import { splitLaunchArgv } from '../../cli/launch-argv.js';

test('--compress takes a codec word, and leaves a program or another option alone', (t) => {
  t.deepEqual(splitLaunchArgv(['launch', '--compress', 'zstd:3', './a.out', '-x']), ['launch', '--compress', 'zstd:3', '--', './a.out', '-x']);
  t.deepEqual(splitLaunchArgv(['launch', '--compress', './a.out', '-x']), ['launch', '--compress', '--', './a.out', '-x']);
  t.deepEqual(splitLaunchArgv(['launch', '--compress', '-q', '/bin/true']), ['launch', '--compress', '-q', '--', '/bin/true']);
  t.deepEqual(splitLaunchArgv(['launch', '--compress=gzip', 'prog.py']), ['launch', '--compress=gzip', '--', 'prog.py']);
  t.deepEqual(splitLaunchArgv(['launch', '-i', '60', '--compress', 'none', 'a.out']), ['launch', '-i', '60', '--compress', 'none', '--', 'a.out']);
});
