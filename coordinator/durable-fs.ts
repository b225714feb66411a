// File writes that survive a crash or a power cut at any instant: data is fsynced before
// it is renamed into place, and the directory is fsynced after the rename, so a reader
// sees either the old file or the complete new one.
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Create (or truncate) `file` with `mode` and fsync its contents. */
export async function writeFileDurable(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fh = await fsp.open(file, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/** Write to a temporary file beside `file`, fsync, rename over `file`, fsync the directory. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeFileDurable(tmp, data, mode);
    // The umask may have narrowed the mode given to open(); the result must be exactly `mode`.
    await fsp.chmod(tmp, mode);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

/** Point the symlink `link` at `target` atomically: a new symlink renamed over the old one.
 * The caller fsyncs the directory (it must know whether the switch itself happened). */
export async function replaceSymlink(link: string, target: string): Promise<void> {
  const tmp = tempName(link);
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, link);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
