/**
 * Compression of a closed NDJSON hour file, in the background (zlib streams run on the thread
 * pool, not on the ingest thread), replacing the plain file atomically: a reader sees the plain
 * file or the complete compressed one, never half of either.
 *
 * gzip members and zstd frames concatenate: `zcat`/`zstdcat` and replay read a file of several as
 * one stream. That is how an hour that already has a compressed file gets more lines (a clock
 * stepped back, a restart that reopened the hour): a new member is appended, never a replacement.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, open, rename, rm, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip, createZstdCompress, createZstdDecompress } from "node:zlib";

export type NdjsonCompression = "none" | "gzip" | "zstd";
export type CompressionMode = Exclude<NdjsonCompression, "none">;

export const COMPRESSED_EXT: Readonly<Record<CompressionMode, string>> = { gzip: ".gz", zstd: ".zst" };

const compressor = (mode: CompressionMode) => (mode === "gzip" ? createGzip({ level: 6 }) : createZstdCompress());
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
    await pipeline(createReadStream(path), compressor(mode), createWriteStream(partial, { flags: existing !== null ? "a" : "w" }));
    await fsyncFile(partial);
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => {});
    throw e;
  }
  await rm(path);
  return out;
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
