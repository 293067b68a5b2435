/**
 * NDJSON data lines, the two ways, on real frames (bench/lib/frames.ts, mixed depth5 and aggTrade):
 *   strings  the line built as a string (`dataLine`) and kept in the file's array until the flush,
 *            then `join` + `Buffer.from` (the NDJSON sink before 2026-12-05, session 7)
 *   bytes    the line written as bytes into the file's buffer when it is appended (`writeDataLine`
 *            into `LineBytes`, what the sink does now), taken at the flush
 * Each frame arrives as a fresh string decoded from its bytes (as the WebSocket receive gives it), its
 * payload is cut out, and the line goes to one of FILES files; every FLUSH_LINES lines every file is
 * flushed (≈ 200 ms at 150k frames/s). No disk: the write loop is the same for both. The figure is
 * CPU of all threads per line (the collector's included), median of the passes, the two ways
 * alternating; "receive only" is the part both share.
 * `bun bench/ndjson-lines.ts [--quick]`.
 */
import { dataLine, maxDataLineBytes, writeDataLine } from "../src/core/raw-log.ts";
import { LineBytes } from "../src/sinks/ndjson/line-bytes.ts";
import { BufferPool } from "../src/util/buffer-pool.ts";
import { loadFrameSets } from "./lib/frames.ts";
import { header, median, printTable, QUICK, writeResult } from "./lib/report.ts";

const LINES = QUICK ? 200_000 : 2_000_000;
const PASSES = QUICK ? 1 : 5;
const FILES = 50;
const FLUSH_LINES = 30_000;

interface Frame {
  readonly bytes: Buffer;
  readonly stream: string;
}

function frames(): Frame[] {
  return loadFrameSets().mixed.map((text) => {
    const s0 = text.indexOf('"stream":"') + 10;
    return { bytes: Buffer.from(text), stream: text.slice(s0, text.indexOf('"', s0)) };
  });
}

type Way = "receive only" | "strings" | "bytes";

function pass(fs: readonly Frame[], way: Way): { cpu_us: number; wall_us: number; bytes: number } {
  const pending: string[][] = Array.from({ length: FILES }, () => []);
  // Written buffers go back to the pool, as the sink's write loop returns them.
  const pool = new BufferPool(32 * 1024 * 1024);
  const tails = Array.from({ length: FILES }, () => new LineBytes(pool));
  let out = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < LINES; i++) {
    const f = fs[i % fs.length]!;
    const text = f.bytes.toString("utf8");
    const payload = text.slice(text.indexOf(',"data":') + 8, -1);
    const ts = 1_733_000_000_000 + i;
    const pipelineMs = (i % 37) / 1000;
    const file = i % FILES;
    if (way === "strings") pending[file]!.push(dataLine(ts, f.stream, 3, pipelineMs, payload));
    else if (way === "bytes") {
      const t = tails[file]!;
      const b = t.room(maxDataLineBytes(f.stream, payload));
      const n = writeDataLine(b, t.offset, ts, f.stream, 3, pipelineMs, payload);
      b[n] = 0x0a;
      t.commit(n + 1);
    } else out += payload.length;
    if (i % FLUSH_LINES === FLUSH_LINES - 1 || i === LINES - 1) {
      for (let k = 0; k < FILES; k++) {
        if (way === "strings" && pending[k]!.length > 0) {
          out += Buffer.from(pending[k]!.join("\n") + "\n", "utf8").length;
          pending[k] = [];
        } else if (way === "bytes" && tails[k]!.lines > 0) {
          for (const part of tails[k]!.take().parts) {
            out += part.bytes.length;
            pool.put(part.owner);
          }
        }
      }
    }
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpu_us: (c.user + c.system) / LINES, wall_us: (wall * 1000) / LINES, bytes: out };
}

const startLoad = header("ndjson-lines", `${LINES.toLocaleString("en")} data lines into ${FILES} files, flushed every ${FLUSH_LINES.toLocaleString("en")} lines`);
const fs = frames();
const ways: readonly Way[] = ["receive only", "strings", "bytes"];
const runs = new Map<Way, ReturnType<typeof pass>[]>(ways.map((w) => [w, []]));
for (const w of ways) pass(fs, w); // warm-up
for (let p = 0; p < PASSES; p++) for (const w of ways) runs.get(w)!.push(pass(fs, w));
const [strBytes, byteBytes] = [runs.get("strings")![0]!.bytes, runs.get("bytes")![0]!.bytes];
if (strBytes !== byteBytes) throw new Error(`the two ways wrote different amounts: ${strBytes} vs ${byteBytes} bytes`);
const rows = ways.map((w) => {
  const r = runs.get(w)!;
  return { way: w, passes: r.length, cpu_us_per_line: Math.round(median(r.map((x) => x.cpu_us)) * 1000) / 1000, wall_us_per_line: Math.round(median(r.map((x) => x.wall_us)) * 1000) / 1000 };
});
printTable(rows);
const [recv, str, byt] = rows.map((r) => r.cpu_us_per_line) as [number, number, number];
console.log(`line cost beyond the receive: strings ${Math.round((str - recv) * 1000) / 1000} µs, bytes ${Math.round((byt - recv) * 1000) / 1000} µs (same ${byteBytes.toLocaleString("en")} bytes out)`);
writeResult("ndjson-lines", startLoad, { lines: LINES, files: FILES, flush_lines: FLUSH_LINES, table: rows });
