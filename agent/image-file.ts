// One process image on disk: a fixed header, the page data the engine wrote, and the
// ProcessImage metadata (protobuf) after it. The header is written last, after the
// metadata, and everything is fsynced: a file cut short or damaged is detected, never
// misread.
//
//   [0, 64)          header: "CAIRNIMG", container version, page codec (u32 at 12: 0 none,
//                    1 zstd, 2 gzip), meta offset/length/crc32c, total size, header crc32c.
//                    Container version 2 when the page data is compressed: an older cairn
//                    refuses it instead of reading frames as pages.
//   [4096, pagesEnd) page data (engine)
//   [pagesEnd, ...)  metadata
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { UserError } from '../common/errors.js';
import { projectRoot } from '../common/paths.js';
import { crc32c } from '../common/crc32c.js';
import { generateCodecs } from '../common/protobuf-codecs.js';
import type { ProcessImage__Output } from '../gen/cairn/image/ProcessImage.js';

export const IMAGE_MAGIC = 'CAIRNIMG';
export const CONTAINER_VERSION = 1;
export const CONTAINER_VERSION_COMPRESSED = 2;
export const IMAGE_FORMAT_VERSION = 1;
export const HEADER_SIZE = 64;
export const IMAGE_SUFFIX = '.cimg';

let imageType: protobuf.Type | undefined;
function processImageType(): protobuf.Type {
  if (!imageType) {
    const root = protobuf.loadSync(path.join(projectRoot(), 'protos', 'image.proto'));
    imageType = root.lookupType('cairn.image.ProcessImage');
  }
  return imageType;
}

/** Plain-object form used by the engine and by people (64-bit values as strings). */
export type ProcessImageObject = ProcessImage__Output;

export const toObjectOptions: protobuf.IConversionOptions = {
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
};

export function encodeImage(image: Record<string, unknown>): Buffer {
  const t = processImageType();
  const msg = t.fromObject(image);
  return Buffer.from(t.encode(msg).finish());
}

export function decodeImage(buf: Buffer): ProcessImageObject {
  const t = processImageType();
  return t.toObject(t.decode(buf), toObjectOptions) as ProcessImageObject;
}

let warmed = false;

/** Loads the image schema and runs its encoder and decoder a few times on a small image, so
 * that the first checkpoint does not pay for parsing image.proto and compiling the codec
 * (~35 ms, in the agent's WRITTEN phase). Once per process. */
export function warmImageCodec(): void {
  if (warmed) return;
  warmed = true;
  const sample = {
    formatVersion: IMAGE_FORMAT_VERSION,
    vmas: [{ start: '4096', end: '12288', runs: [{ addr: '4096', len: '8192', offset: '4096', crc32c: 1, pageCrcs: [1, 2] }] }],
    threads: [{ tid: 1, regs: Buffer.alloc(16) }],
    fds: [{ fd: 0, path: '/dev/null' }],
    pageFrames: [{ logical: '4096', offset: '4096', length: '100', rawLength: '8204' }],
  };
  generateCodecs(processImageType().root);
  for (let i = 0; i < 20; i++) decodeImage(encodeImage(sample));
}

/** Appends the metadata after the page data, writes the header, fsyncs. Returns the file size. */
export function finishImage(file: string, image: Record<string, unknown>, pagesEnd: number, codec = 0): { bytes: number; metaCrc: number } {
  const meta = encodeImage(image);
  const metaCrc = crc32c(meta);
  const total = pagesEnd + meta.length;
  const header = Buffer.alloc(HEADER_SIZE);
  header.write(IMAGE_MAGIC, 0, 'latin1');
  header.writeUInt32LE(codec ? CONTAINER_VERSION_COMPRESSED : CONTAINER_VERSION, 8);
  header.writeUInt32LE(codec, 12);
  header.writeBigUInt64LE(BigInt(pagesEnd), 16);
  header.writeBigUInt64LE(BigInt(meta.length), 24);
  header.writeUInt32LE(metaCrc, 32);
  header.writeBigUInt64LE(BigInt(total), 40);
  header.writeUInt32LE(crc32c(header.subarray(0, 60)), 60);
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, meta, 0, meta.length, pagesEnd);
    fs.ftruncateSync(fd, total);
    fs.writeSync(fd, header, 0, HEADER_SIZE, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { bytes: total, metaCrc };
}

export interface LoadedImage {
  file: string;
  image: ProcessImageObject;
  metaCrc: number;
  bytes: number;
}

/** Reads and checks an image; every problem is a one-line UserError naming the file. */
export function readImage(file: string): LoadedImage {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`image ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code})`}`, 'give the checkpoint directory or an image from cairn_restart.sh');
  }
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(HEADER_SIZE);
    if (size < HEADER_SIZE || fs.readSync(fd, header, 0, HEADER_SIZE, 0) !== HEADER_SIZE) {
      throw new UserError(`image ${file} is truncated (${size} bytes): not a complete cairn image`, 'restart from an older generation');
    }
    if (header.toString('latin1', 0, 8) !== IMAGE_MAGIC) {
      throw new UserError(`${file} is not a cairn image (bad magic)`, 'give a .cimg file or a checkpoint directory');
    }
    if (header.readUInt32LE(60) !== crc32c(header.subarray(0, 60))) {
      throw new UserError(`image ${file} is corrupted: header checksum mismatch`, 'restart from an older generation');
    }
    const version = header.readUInt32LE(8);
    if (version !== CONTAINER_VERSION && version !== CONTAINER_VERSION_COMPRESSED) {
      throw new UserError(`image ${file} has container version ${version}, this cairn reads ${CONTAINER_VERSION} and ${CONTAINER_VERSION_COMPRESSED}`, 'restart it with the cairn version that wrote it');
    }
    const codec = header.readUInt32LE(12);
    const metaOff = Number(header.readBigUInt64LE(16));
    const metaLen = Number(header.readBigUInt64LE(24));
    const metaCrc = header.readUInt32LE(32);
    const total = Number(header.readBigUInt64LE(40));
    if (size < total) throw new UserError(`image ${file} is truncated: ${size} of ${total} bytes`, 'restart from an older generation');
    const meta = Buffer.alloc(metaLen);
    fs.readSync(fd, meta, 0, metaLen, metaOff);
    if (crc32c(meta) !== metaCrc) throw new UserError(`image ${file} is corrupted: metadata checksum mismatch`, 'restart from an older generation');
    let image: ProcessImageObject;
    try {
      image = decodeImage(meta);
    } catch {
      throw new UserError(`image ${file} is corrupted: metadata does not decode`, 'restart from an older generation');
    }
    if (image.formatVersion !== IMAGE_FORMAT_VERSION) {
      throw new UserError(`image ${file} has format version ${image.formatVersion}, this cairn reads ${IMAGE_FORMAT_VERSION}`, `restart it with cairn ${image.cairnVersion}`);
    }
    const metaCodec = Number(image.pagesCodec ?? 0);
    if (codec !== metaCodec || (codec !== 0) !== (version === CONTAINER_VERSION_COMPRESSED)) {
      throw new UserError(`image ${file} is corrupted: its header says page codec ${codec}, its metadata ${metaCodec}`, 'restart from an older generation');
    }
    return { file, image, metaCrc, bytes: total };
  } finally {
    fs.closeSync(fd);
  }
}
