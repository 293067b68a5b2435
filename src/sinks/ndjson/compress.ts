/**
 * Compression of a closed NDJSON hour file, in the background, replacing the plain file atomically:
 * a reader sees the plain file or the complete compressed one, never half of either.
 *
 * gzip members and zstd frames concatenate: `zcat`/`zstdcat` and replay read a file of several as
 * one stream. That is how an hour that already has a compressed file gets more lines (a clock
 * stepped back, a restart that reopened the hour): a new member is appended, never a replacement.
 *
 * It is also how a file is compressed: in blocks of BLOCK_BYTES, each its own member, read into one
 * buffer, compressed synchronously on this thread and written out, the compressed block freed as
 * soon as it is on disk. Memory stays at a block whatever the file's size.
 *
 * Why synchronously, on the ingest thread, and paced: node:zlib's asynchronous calls run on the
 * thread pool, and while the hour's 50 files were compressed one after another they raised RSS by
 * 13–41 MiB (the pool's native allocations; closing each zlib handle at once changed nothing),
 * which was the whole spike of the hour turn at 50 symbols (docs/storage.md, "Session 12").
 * Compressed here, a block at a time, its result freed at once, the same work raised RSS by 8.4 MiB
 * against 41 (bench/ndjson-compress.ts). A block (BLOCK_BYTES) takes at most ≈ 3.5 ms, so the
 * ingest thread is never held longer than that, and after each block compression waits
 * (COMPRESS_DUTY) so that it takes at most a fifth of the thread however long the backlog. gzip is
 * made by libdeflate (Bun's `library: "libdeflate"`, standard gzip members): on log lines, 256 KiB
 * members at level 6 came out 7 % smaller than zlib's 1 MiB members before, and 1.25× faster to make.
 */
import { copyFile, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { releaseIfWhole } from "../../util/release.ts";

export type NdjsonCompression = "none" | "gzip" | "zstd";
export type CompressionMode = Exclude<NdjsonCompression, "none">;

export const COMPRESSED_EXT: Readonly<Record<CompressionMode, string>> = { gzip: ".gz", zstd: ".zst" };

/**
 * Bytes of the plain file per member (gzip) or frame (zstd): what one step holds the thread for.
 * deflate's window is 32 KiB, so 256 KiB members cost ≈ 1 % in size against 1 MiB ones (≤ 3.5 ms a
 * block); zstd's window is megabytes, and 256 KiB frames came out 7 % larger than 1 MiB ones, which
 * it compresses in ≈ 4 ms (bench/ndjson-compress.ts).
 */
export const BLOCK_BYTES: Readonly<Record<CompressionMode, number>> = { gzip: 256 * 1024, zstd: 1024 * 1024 };
/** Share of the calling thread that compression may take: after a block of d ms it waits d·(1/COMPRESS_DUTY − 1). */
const COMPRESS_DUTY = 0.2;
const GZIP_LEVEL = 6;
const ZSTD_LEVEL = 3;

const always = () => true;

/** One block compressed into a member of its own, on this thread (see the top of this file for why). */
function compressBlock(block: Uint8Array<ArrayBuffer>, mode: CompressionMode): Uint8Array {
  return mode === "gzip" ? Bun.gzipSync(block, { level: GZIP_LEVEL, library: "libdeflate" }) : Bun.zstdCompressSync(block, { level: ZSTD_LEVEL });
}

const decompressor = (mode: CompressionMode) => (mode === "gzip" ? createGunzip() : createZstdDecompress());

/**
 * Compresses `path` into `path.gz` / `path.zst` and removes `path`. When the compressed file
 * already exists: if its content already ends with this file's content (a compression that was
 * cut off between its rename and the removal of the plain file), the plain file just goes;
 * otherwise the plain file's lines are appended as a new member. `paced`, asked after every block:
 * whether to leave the thread to other work (false once a sink is closing: nothing else is left to
 * run, and a stop should not wait five times as long).
 */
export async function compressFile(path: string, mode: CompressionMode, paced: () => boolean = always): Promise<string> {
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
    await compressInto(path, partial, mode, existing !== null, paced);
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => {});
    throw e;
  }
  await rm(path);
  return out;
}

/** Writes `plain` compressed to `dest` (appended to it when `append`), block by block, and syncs it. */
async function compressInto(plain: string, dest: string, mode: CompressionMode, append: boolean, paced: () => boolean): Promise<void> {
  const blockBytes = BLOCK_BYTES[mode];
  const block = Buffer.allocUnsafeSlow(blockBytes);
  let input: FileHandle | undefined;
  let output: FileHandle | undefined;
  try {
    input = await open(plain, "r");
    output = await open(dest, append ? "a" : "w");
    // An empty file still gets one (empty) member: a zero-byte .gz is not a gzip file.
    for (let first = true; ; first = false) {
      const { bytesRead } = await input.read(block, 0, blockBytes, null);
      if (bytesRead === 0 && !first) break;
      const t0 = performance.now();
      const member = compressBlock(block.subarray(0, bytesRead), mode);
      const tookMs = performance.now() - t0;
      await writeAll(output, member);
      releaseIfWhole(member);
      if (bytesRead === 0) break;
      if (paced()) await Bun.sleep(tookMs * (1 / COMPRESS_DUTY - 1));
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
