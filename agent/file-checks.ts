// Files a restored process will reopen or map must be as the checkpoint left them. An
// output file that grew since is to be cut back to its size at the checkpoint, so the
// restarted program writes those bytes again instead of twice (the restore does it, once
// every page has been checked); a file that vanished, shrank or (for mapped programs and
// libraries) changed is refused, naming it.
import fs from 'node:fs';
import { UserError } from '../common/errors.js';
import type { ProcessImageObject } from './image-file.js';

const O_ACCMODE = 3;
const FD_FILE = 0;
const VMA_FILE_PRIVATE = 1;
const VMA_FILE_SHARED = 2;

export interface FileFix {
  path: string;
  from: number;
  to: number;
}

function statOrNull(p: string): fs.BigIntStats | null {
  try {
    return fs.statSync(p, { bigint: true });
  } catch {
    return null;
  }
}

/** Refuses what cannot be restored; returns the files to cut back, changing nothing. */
export function checkFiles(images: ProcessImageObject[]): FileFix[] {
  const truncations = new Map<string, FileFix>();
  for (const img of images) {
    const who = `process ${img.nsPid} (${img.comm})`;
    for (const fd of img.fds) {
      if (fd.kind !== (FD_FILE as unknown)) continue;
      const st = statOrNull(fd.path);
      if (!st) throw new UserError(`file ${fd.path} (fd ${fd.fd} of ${who}) no longer exists`, 'put it back, or restart an older generation');
      const saved = BigInt(fd.size);
      if (st.size < saved) throw new UserError(`file ${fd.path} (fd ${fd.fd} of ${who}) shrank from ${saved} to ${st.size} bytes since the checkpoint`, 'put the complete file back, or restart an older generation');
      if (st.size > saved && (fd.flags & O_ACCMODE) !== 0) truncations.set(fd.path, { path: fd.path, from: Number(st.size), to: Number(saved) });
    }
    for (const v of img.vmas) {
      const kind = v.kind as unknown as number;
      if ((kind !== VMA_FILE_PRIVATE && kind !== VMA_FILE_SHARED) || !v.path.startsWith('/') || v.path.endsWith(' (deleted)')) continue;
      const st = statOrNull(v.path);
      if (!st) throw new UserError(`file ${v.path} (mapped by ${who}) no longer exists`, 'put it back, or restart an older generation');
      const id = v.file;
      const writableShared = kind === VMA_FILE_SHARED && (v.prot & 2) !== 0;
      if (id && !writableShared && (st.size !== BigInt(id.size) || st.mtimeNs !== BigInt(id.mtimeNs))) {
        throw new UserError(`file ${v.path} (mapped by ${who}) changed since the checkpoint`, 'restore the version the job ran with (was the program rebuilt or the library upgraded?)');
      }
    }
  }
  return [...truncations.values()];
}
