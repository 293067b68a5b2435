/**
 * compressFile on a file of a few MB, on an empty file, and onto an hour that already has a
 * compressed file (a further member); read back by the system's zcat / zstdcat, independent
 * readers, and by the sink's own check (compressedEndsWith). A file is compressed in blocks, a
 * member (frame) each, so that memory stays at a block: the members are counted.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { BLOCK_BYTES, compressedEndsWith, compressFile } from "../../src/sinks/ndjson/compress.ts";
import { tempDir } from "../helpers/binary.ts";

/** `n` distinct depth-like lines: ≈ 127 bytes each. */
function lines(n: number, from = 0): string {
  let s = "";
  for (let i = from; i < from + n; i++) s += `{"ts_recv":${1733400000000 + i},"stream":"btcusdt@depth@100ms","data":{"u":${i * 7},"b":[["${60000 + (i % 100)}.10","${(i % 37) / 10}"]],"a":[["${60001 + (i % 77)}.20","0.5${i % 9}"]]}}\n`;
  return s;
}

const cat = (tool: string, path: string): string => {
  const r = Bun.spawnSync([tool, "-dc", path]);
  if (r.exitCode !== 0) throw new Error(`${tool} -dc ${path}: ${r.stderr.toString()}`);
  return r.stdout.toString();
};

/** gzip members in `buf`, walked one by one (zlib's gunzip would read them all as one stream). */
function gzipMembers(buf: Uint8Array): number {
  let pos = 0;
  let n = 0;
  while (pos < buf.length) {
    // Node's gzip writes a bare 10-byte header (no name, no extra fields) and an 8-byte trailer.
    expect([buf[pos], buf[pos + 1], buf[pos + 3]]).toEqual([0x1f, 0x8b, 0]);
    const r = inflateRawSync(buf.subarray(pos + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
    pos += 10 + r.engine.bytesWritten + 8;
    n++;
  }
  return n;
}

/** zstd frames in `path`, as `zstd -lv` counts them. */
function zstdFrames(path: string): number {
  const r = Bun.spawnSync(["zstd", "-lv", path]);
  const m = /# Zstandard Frames: (\d+)/.exec(r.stdout.toString());
  if (m === null) throw new Error(`zstd -lv ${path}: ${r.stderr.toString()}`);
  return Number(m[1]);
}

describe("compressFile", () => {
  for (const [mode, tool, ext] of [
    ["gzip", "gzip", ".gz"],
    ["zstd", "zstd", ".zst"],
  ] as const) {
    test(`${mode}: a 2.6 MB file reads back exactly with ${tool}; the plain file goes`, async () => {
      const dir = tempDir("ndjson-compress");
      const path = join(dir, "raw-13.ndjson");
      const text = lines(21_000);
      expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
      writeFileSync(path, text);
      const out = await compressFile(path, mode);
      expect(out).toBe(path + ext);
      expect(existsSync(path)).toBe(false);
      expect(cat(tool, out)).toBe(text);
      expect(readFileSync(out).length).toBeLessThan(text.length / 4);
      const blocks = Math.ceil(text.length / BLOCK_BYTES[mode]);
      expect(blocks).toBe(mode === "gzip" ? 11 : 3);
      expect(mode === "gzip" ? gzipMembers(readFileSync(out)) : zstdFrames(out)).toBe(blocks);
    });
  }

  test("compression asks after every block whether to leave the thread; a closing sink says no", async () => {
    const dir = tempDir("ndjson-compress-paced");
    const path = join(dir, "raw-14.ndjson");
    const text = lines(21_000);
    writeFileSync(path, text);
    let asked = 0;
    const out = await compressFile(path, "gzip", () => {
      asked++;
      return false;
    });
    expect(asked).toBe(Math.ceil(text.length / BLOCK_BYTES.gzip));
    expect(cat("gzip", out)).toBe(text);
  });

  test("an empty file becomes a valid, empty .gz", async () => {
    const dir = tempDir("ndjson-compress-empty");
    const path = join(dir, "raw-00.ndjson");
    writeFileSync(path, "");
    const out = await compressFile(path, "gzip");
    expect(readFileSync(out).length).toBeGreaterThan(0);
    expect(cat("gzip", out)).toBe("");
  });

  test("an hour reopened after it was compressed: its new lines are appended as further members", async () => {
    const dir = tempDir("ndjson-compress-append");
    const path = join(dir, "raw-05.ndjson");
    const first = lines(9_000);
    writeFileSync(path, first);
    await compressFile(path, "gzip");
    const second = lines(7_000, 9_000);
    writeFileSync(path, second);
    expect(await compressedEndsWith(path + ".gz", path, "gzip")).toBe(false);
    await compressFile(path, "gzip");
    expect(existsSync(path)).toBe(false);
    expect(cat("gzip", path + ".gz")).toBe(first + second);
    // Cut off between the rename and the removal of the plain file: the plain file just goes.
    writeFileSync(path, second);
    expect(await compressedEndsWith(path + ".gz", path, "gzip")).toBe(true);
    await compressFile(path, "gzip");
    expect(cat("gzip", path + ".gz")).toBe(first + second);
  });
});
