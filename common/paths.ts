// Where cairn's own files are, wherever it is installed (run from dist/ or the source tree).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function projectRoot(): string {
  let dir = here;
  for (let i = 0; i < 4; i++) {
    if (path.basename(dir) === 'dist') return path.dirname(dir);
    dir = path.dirname(dir);
  }
  return path.resolve(here, '..');
}

/** The cairn command itself, for scripts and for spawning a coordinator. */
export function cairnBin(): string {
  return path.join(projectRoot(), 'bin', 'cairn.js');
}

/** The command users run (bin/ on PATH): the native front (native/helpers/front.c), which
    answers `cairn command --checkpoint|--bcheckpoint` itself and runs bin/cairn.js for the rest. */
export function cairnFront(): string {
  return path.join(projectRoot(), 'bin', 'cairn');
}

/** The background coordinator's own entry (coordinator/daemon-main.ts). */
export function coordinatorDaemonScript(): string {
  return path.join(projectRoot(), 'dist', 'coordinator', 'daemon-main.js');
}

export const CAIRN_VERSION = '0.1.0';
