/**
 * Compression of a closed NDJSON hour file, in the background (zlib runs on the thread pool, not
 * on the ingest thread), replacing the plain file atomically: a reader sees the plain file or the
 * complete compressed one, never half of either.
 *
 * gzip members and zstd frames concatenate: `zcat`/`zstdcat` and replay read a file of several as
 * one stream. That is how an hour that already has a compressed file gets more lines (a clock
 * stepped back, a restart that reopened the hour): a new member is appended, never a replacement.
 *
 * It is also how a file is compressed: in blocks of BLOCK_BYTES, each its own member, read into one
 * buffer and written out, the compressed block freed as soon as it is on disk. Memory stays at a
 * block whatever the file's size. A stream pipeline (read stream → zlib stream → write stream)
 * leaves every chunk it read and wrote to the ingest thread's collector, which runs seldom on a
 * heap that size: when the hour turned, 50 files compressed one after another raised the
 * collector's RSS by 33 MiB with 75 s of data in them (bench/memory.ts --hour-turn-at 75; none with
 * compression off), and a probe of 50 files of 3 MB by 67 MiB against 15 in blocks, which were
 * also faster (docs/storage.md, "The hour turn"). A member per MiB costs nothing measurable in
 * size: deflate's window is 32 KiB.
 */
import { copyFile, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createGunzip, createZstdDecompress, gzip, zstdCompress } from "node:zlib";
import { releaseIfWhole } from "../../util/release.ts";

export type NdjsonCompression = "none" | "gzip" | "zstd";
export type CompressionMode = Exclude<NdjsonCompression, "none">;

export const COMPRESSED_EXT: Readonly<Record<CompressionMode, string>> = { gzip: ".gz", zstd: ".zst" };

/** Bytes of the plain file per member (gzip) or frame (zstd). */
export const BLOCK_BYTES = 1024 * 1024;

/** One block compressed into a member of its own, on the thread pool. */
function compressBlock(block: Buffer, mode: CompressionMode): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (e: Error | null, out: Buffer) => (e === null ? resolve(out) : reject(e));
    if (mode === "gzip") gzip(block, { level: 6 }, done);
    else zstdCompress(block, done);
  });
}

const decompressor = (mode: CompressionMode) => (mode === "gzip" ? createGunzip() : createZstdDecompress());

/**
 * Compresses `path` into `path.gz` / `path.zst` and removes `path`. When the compressed file
 * already exists: if its content already ends with this file's content (a compression that was
 * cut off between its rename and the removal of the plain file), the plain file just goes;
 * otherwise the plain file's lines are appended as a new member.
 */
export async function compressFile(path: string, mode: CompressionMode): Promise<string> {
  const out = `${path}${COMPRESSED_EXT[mode]}`;
  const partial = `${out}.partial`;
  const existing = await stat(out).catch(() => null);
  if (existing !== null && (await compressedEndsWith(out, path, mode))) {
    await rm(path);
    return out;
  }
  try {
    // A leftover partial is debris of a compression that was cut off (the sink runs one
    // compression per file at a time).
    await rm(partial, { force: true });
    if (existing !== null) await copyFile(out, partial);
    await compressInto(path, partial, mode, existing !== null);
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => {});
    throw e;
  }
  await rm(path);
  return out;
}

/** Writes `plain` compressed to `dest` (appended to it when `append`), block by block, and syncs it. */
async function compressInto(plain: string, dest: string, mode: CompressionMode, append: boolean): Promise<void> {
  const block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
  let input: FileHandle | undefined;
  let output: FileHandle | undefined;
  try {
    input = await open(plain, "r");
    output = await open(dest, append ? "a" : "w");
    // An empty file still gets one (empty) member: a zero-byte .gz is not a gzip file.
    for (let first = true; ; first = false) {
      const { bytesRead } = await input.read(block, 0, BLOCK_BYTES, null);
      if (bytesRead === 0 && !first) break;
      const member = await compressBlock(block.subarray(0, bytesRead), mode);
      await writeAll(output, member);
      releaseIfWhole(member);
      if (bytesRead === 0) break;
    }
    await output.sync();
  } finally {
    await input?.close();
    await output?.close();
    releaseIfWhole(block);
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
}

/** Whether the decompressed content of `compressed` ends with the bytes of `plain`. */
export async function compressedEndsWith(compressed: string, plain: string, mode: CompressionMode): Promise<boolean> {
  const plainSize = (await stat(plain)).size;
  let total = 0;
  for await (const chunk of createReadStream(compressed).pipe(decompressor(mode))) total += (chunk as Buffer).length;
  if (total < plainSize) return false;
  const fh = await open(plain, "r");
  try {
    let skip = total - plainSize;
    let pos = 0;
    for await (const raw of createReadStream(compressed).pipe(decompressor(mode))) {
      let chunk = raw as Buffer;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(skip);
      skip = 0;
      const mine = Buffer.alloc(chunk.length);
      const { bytesRead } = await fh.read(mine, 0, chunk.length, pos);
      if (bytesRead !== chunk.length || !mine.equals(chunk)) return false;
      pos += chunk.length;
    }
    return pos === plainSize;
  } finally {
    await fh.close();
  }
}
