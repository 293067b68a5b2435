/**
 * NDJSON hour files compressed the way the sink did until session 12 and the way it does now, on log
 * lines made from real frames (bench/lib/frames.ts through `dataLine`), as at an hour turn: FILES
 * files one after another.
 *   thread pool   node:zlib `gzip()` per 1 MiB block, the async call on libuv's thread pool (before)
 *   compressFile  the sink's own `compressFile`: `Bun.gzipSync` (libdeflate) per 256 KiB block on the
 *                 calling thread, paced to a fifth of it (now)
 * Each way runs in a fresh process (RSS sampled every 20 ms from inside it), alternating, REPEATS
 * times; the figure is the highest RSS over the process's level just before, median of the repeats.
 * Then size and speed of each codec and block size on the same lines (one process, no pacing).
 * `bun bench/ndjson-compress.ts [--quick]`. Writes bench/results/ndjson-compress-<date>.json.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzip } from "node:zlib";
import { dataLine } from "../src/core/raw-log.ts";
import { compressFile } from "../src/sinks/ndjson/compress.ts";
import { loadFrameSets } from "./lib/frames.ts";
import { header, median, printTable, QUICK, writeResult } from "./lib/report.ts";

const FILE_BYTES = (QUICK ? 2 : 8) * 1024 * 1024;
const FILES = QUICK ? 10 : 50;
const REPEATS = QUICK ? 1 : 3;
const WAYS = ["thread pool", "compressFile"] as const;
type Way = (typeof WAYS)[number];

/** Log lines from the recorded frames until `bytes`: the shape of a busy symbol's hour file. */
function logText(bytes: number): string {
  const frames = loadFrameSets().mixed;
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const text = frames[i % frames.length]!;
    const s0 = text.indexOf('"stream":"') + 10;
    const stream = text.slice(s0, text.indexOf('"', s0));
    const data = text.slice(text.indexOf('"data":') + 7, text.length - 1);
    const line = `${dataLine(1733400000000 + i, stream, i % 9, (i % 997) / 1000, data)}\n`;
    parts.push(line);
    n += line.length;
  }
  return parts.join("");
}

/** The sink's compression before session 12 (compress.ts at e652e50), kept here to compare with. */
async function threadPoolCompress(path: string): Promise<void> {
  const block = Buffer.allocUnsafeSlow(1024 * 1024);
  const input = await open(path, "r");
  const output = await open(`${path}.gz`, "w");
  for (;;) {
    const { bytesRead } = await input.read(block, 0, block.length, null);
    if (bytesRead === 0) break;
    const member = await new Promise<Buffer>((res, rej) => gzip(block.subarray(0, bytesRead), { level: 6 }, (e, o) => (e ? rej(e) : res(o))));
    await output.write(member);
  }
  await input.close();
  await output.close();
  rmSync(path);
}

/** In the child: compresses FILES copies of `src` one after another; prints the RSS rise and the time. */
async function child(way: Way, src: string, dir: string): Promise<void> {
  const text = readFileSync(src);
  Bun.gc(true);
  await Bun.sleep(100);
  const rss = () => process.memoryUsage().rss / 2 ** 20;
  const base = rss();
  let max = base;
  const timer = setInterval(() => (max = Math.max(max, rss())), 20);
  const t0 = performance.now();
  for (let f = 0; f < FILES; f++) {
    const path = join(dir, `raw-${f}.ndjson`);
    writeFileSync(path, text);
    if (way === "thread pool") await threadPoolCompress(path);
    else await compressFile(path, "gzip");
    rmSync(`${path}.gz`);
  }
  clearInterval(timer);
  max = Math.max(max, rss());
  console.log(JSON.stringify({ rise_mib: +(max - base).toFixed(1), seconds: +((performance.now() - t0) / 1000).toFixed(2) }));
}

function codecs(text: Buffer): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const variants: [string, number, (b: Uint8Array<ArrayBuffer>) => Uint8Array][] = [
    ["gzip zlib 6", 1024, (b) => Bun.gzipSync(b, { level: 6 })],
    ["gzip zlib 6", 256, (b) => Bun.gzipSync(b, { level: 6 })],
    ["gzip libdeflate 6", 1024, (b) => Bun.gzipSync(b, { level: 6, library: "libdeflate" })],
    ["gzip libdeflate 6", 256, (b) => Bun.gzipSync(b, { level: 6, library: "libdeflate" })],
    ["zstd 3", 1024, (b) => Bun.zstdCompressSync(b, { level: 3 })],
    ["zstd 3", 256, (b) => Bun.zstdCompressSync(b, { level: 3 })],
  ];
  for (const [codec, kib, fn] of variants) {
    const B = kib * 1024;
    let out = 0;
    let maxMs = 0;
    const t0 = performance.now();
    for (let off = 0; off < text.length; off += B) {
      const t = performance.now();
      out += fn(new Uint8Array(text.subarray(off, off + B))).length;
      maxMs = Math.max(maxMs, performance.now() - t);
    }
    const ms = performance.now() - t0;
    rows.push({ codec, block_kib: kib, ratio: +(text.length / out).toFixed(2), mb_per_s: Math.round(text.length / 1e3 / ms), max_block_ms: +maxMs.toFixed(1) });
  }
  return rows;
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] as Way, process.argv[4]!, process.argv[5]!);
} else {
  const startLoad = header("ndjson-compress", `${FILES} NDJSON files of ${FILE_BYTES / 2 ** 20} MiB compressed one after another, the old way and the new`);
  const dir = join(tmpdir(), `harvestd-bench-compress-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const src = join(dir, "source.ndjson");
  const text = Buffer.from(logText(FILE_BYTES));
  writeFileSync(src, text);
  const runs: Record<Way, { rise_mib: number; seconds: number }[]> = { "thread pool": [], compressFile: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (const way of WAYS) {
      const p = Bun.spawnSync([process.execPath, import.meta.path, "--child", way, src, dir], { stderr: "inherit" });
      if (p.exitCode !== 0) throw new Error(`child ${way} exited ${p.exitCode}`);
      runs[way].push(JSON.parse(p.stdout.toString().trim().split("\n").pop()!));
    }
  }
  const memory = WAYS.map((way) => ({
    way,
    rss_rise_mib_median: median(runs[way].map((x) => x.rise_mib)),
    rss_rise_mib_runs: runs[way].map((x) => x.rise_mib).join(" / "),
    seconds_median: median(runs[way].map((x) => x.seconds)),
  }));
  printTable(memory);
  const sizes = codecs(text);
  printTable(sizes);
  rmSync(dir, { recursive: true, force: true });
  writeResult("ndjson-compress", startLoad, { files: FILES, file_bytes: FILE_BYTES, repeats: REPEATS, memory, runs, codecs: sizes });
}
