// `cairn launch OPTIONS PROGRAM ARGS`: where cairn's options end and the program begins. No
// other imports: cli/coordinator-spare.ts reads the options before the command line loads.

// Options of `cairn launch` that take a value: everything up to the first other word is
// cairn's, the rest is the program's command line (which may have options of its own).
const LAUNCH_VALUE_OPTIONS = new Set(['--coord-host', '-h', '--coord-port', '-p', '--port-file', '--ckptdir', '--interval', '-i', '--hosts', '--hostfile']);
// --compress takes its codec only when the next word looks like one (a word, maybe ":N", no
// '.' or '/'): `--compress ./a.out` compresses with zstd and runs ./a.out.
const CODEC_WORD = /^[A-Za-z]+[0-9]*(:[^/]*)?$/;

/** `launch OPTS PROG ARGS` -> `launch OPTS -- PROG ARGS`, so the program's flags stay its own. */
export function splitLaunchArgv(argv: string[]): string[] {
  if (argv[0] !== 'launch') return argv;
  let i = 1;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return argv;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--compress') {
      i += CODEC_WORD.test(argv[i + 1] ?? '') ? 2 : 1;   // else another option or the program follows
      continue;
    }
    i += LAUNCH_VALUE_OPTIONS.has(a) ? 2 : 1;
  }
  return [...argv.slice(0, i), '--', ...argv.slice(i)];
}
