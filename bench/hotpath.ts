/**
 * Hot path (one process, no sockets): the ingest thread's cost per frame — the frame intake's onFrame
 * (scanner, gate, ingest: engines, rows into the Parquet sink, NDJSON lines) — on real frames cloned into
 * N symbols, with the real ParquetSink (writer worker on the other core) and NdjsonSink writing to a
 * temp folder. What the live benchmark measures minus the WebSocket receive; used to find and check
 * ingest-thread costs quickly, and to split them: everything, without NDJSON, without Parquet, without
 * both. `bun bench/hotpath.ts [--quick] [--symbols 10] [--passes 3]`; the figure is the ingest
 * thread's own CPU time per frame (robust to other load on the box), median of the passes. Profile with
 * `bun --cpu-prof --cpu-prof-md --cpu-prof-dir DIR bench/hotpath.ts`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import { FrameIntake } from "../src/exchange/binance/frame-intake.ts";
import { StreamGate } from "../src/exchange/binance/stream-gate.ts";
import { Ingest } from "../src/pipeline/ingest.ts";
import { Pipeline } from "../src/pipeline/pipeline.ts";
import { MemoryRowSink } from "../src/sinks/memory/memory-sink.ts";
import { NdjsonSink } from "../src/sinks/ndjson/ndjson-sink.ts";
import { ParquetSink } from "../src/sinks/parquet/parquet-sink.ts";
import { createLogger } from "../src/util/log.ts";
import type { StreamConnection } from "../src/exchange/binance/connection.ts";
import { loadFrameSets } from "./lib/frames.ts";
import { argValue, header, median, printTable, procStat, QUICK, writeResult } from "./lib/report.ts";

const CLONES = Number(argValue("symbols") ?? 10);
const PASSES = Number(argValue("passes") ?? (QUICK ? 1 : 3));

/** Variants: with a sink left out (its rows or lines go nowhere), to see what it costs the ingest thread. */
interface Variant {
  readonly name: string;
  readonly parquet: boolean;
  readonly ndjson: boolean;
}
const VARIANTS: readonly Variant[] = [
  { name: "everything", parquet: true, ndjson: true },
  { name: "without NDJSON", parquet: true, ndjson: false },
  { name: "without Parquet", parquet: false, ndjson: true },
  { name: "neither sink", parquet: false, ndjson: false },
];

/**
 * The calling thread's (the ingest thread's) CPU time in ms, of which system time, and its minor page
 * faults: robust to other processes on the box. Faults are where fresh buffers cost (src/util/buffer-pool.ts).
 */
function threadStat(): { cpuMs: number; sysMs: number; faults: number } {
  const st = procStat("/proc/thread-self/stat");
  if (st === null) throw new Error("/proc/thread-self/stat cannot be read: the hotpath benchmark needs Linux");
  return { cpuMs: st.userMs + st.sysMs, sysMs: st.sysMs, faults: st.minorFaults };
}

async function pass(frames: readonly string[], symbols: readonly string[], v: Variant): Promise<{ us_per_frame: number; cpu_us_per_frame: number; sys_us_per_frame: number; faults_per_frame: number; frames: number }> {
  const dir = mkdtempSync(join(tmpdir(), "harvestd-bench-hot-"));
  const loaded = loadConfig({ configPath: null, env: {} });
  if (!loaded.ok) throw new Error("default config does not load");
  const cfg = loaded.config;
  const parquet = new ParquetSink({ outputDir: join(dir, "raw"), previewDir: join(dir, "preview"), rotateSec: 2, orderbookRotateSec: 2 });
  const ndjson = new NdjsonSink({ dir: join(dir, "ndjson"), compress: "none" });
  // A sink left out is replaced by one that takes nothing: its rows or lines go nowhere.
  const nullRows = Object.assign(new MemoryRowSink({ rotateSec: 2, orderbookRotateSec: 2 }), { append() {} });
  const nullLines = Object.assign(Object.create(ndjson) as NdjsonSink, { append() {}, appendData() {}, tick() {}, close: async () => {} });
  const pipeline = new Pipeline(cfg, { kind: "live" }, { parquetError: () => {}, parquetMaintenance: () => {} }, { rowSinks: [v.parquet ? parquet : nullRows], lineSinks: [v.ndjson ? ndjson : nullLines] });
  const ingest = new Ingest(symbols, pipeline);
  const log = createLogger({ stderr: false });
  const gate = new StreamGate(symbols, ingest, { dedupLru: 8192, backfiller: null, maxHoldMs: 120_000, maxHeldPerStream: 20_000, maxHeldTotal: 200_000 });
  const router = new FrameIntake(symbols, gate, ingest, log);
  const conn = { id: "bench", route: "market", socket: 1 } as unknown as StreamConnection;
  let now = Date.now();
  parquet.tick(now);
  const t0 = performance.now();
  const s0 = threadStat();
  for (let i = 0; i < frames.length; i++) {
    router.onFrame(conn, frames[i]!, now);
    if ((i & 1023) === 0) {
      now = Date.now();
      parquet.tick(now);
      // Let the NDJSON writes and worker replies run, as the event loop would between socket reads.
      await new Promise((r) => setImmediate(r));
    }
  }
  const el = performance.now() - t0;
  const s1 = threadStat();
  const cpu = s1.cpuMs - s0.cpuMs;
  let trades = 0;
  let books = 0;
  for (const p of pipeline.symbols.values()) {
    trades += p.engine.snapshot().counters.trades;
    books += p.engine.snapshot().counters.books;
  }
  if (trades + books !== frames.length) throw new Error(`engines took ${trades} trades + ${books} books of ${frames.length} frames`);
  gate.drain();
  await pipeline.close();
  if (!v.parquet) await parquet.close();
  if (!v.ndjson) await ndjson.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    us_per_frame: Math.round((el * 1000 * 100) / frames.length) / 100,
    cpu_us_per_frame: Math.round((cpu * 1000 * 100) / frames.length) / 100,
    sys_us_per_frame: Math.round(((s1.sysMs - s0.sysMs) * 1000 * 100) / frames.length) / 100,
    faults_per_frame: Math.round(((s1.faults - s0.faults) * 1000) / frames.length) / 1000,
    frames: frames.length,
  };
}

async function main(): Promise<void> {
  const startLoad = header("hotpath", "ingest-thread cost per frame, no sockets");
  // The recorded order: depth and aggTrade frames merged by event time (the mixed set is shuffled,
  // which the stream gate would rightly treat as out-of-order duplicates).
  const { depth, aggTrade } = loadFrameSets();
  const eventTime = (f: string): number => Number(/"E":(\d+)/.exec(f)![1]);
  const mixed = [...depth, ...aggTrade].map((f) => [eventTime(f), f] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  const symbols: string[] = [];
  const frames: string[] = [];
  // Each clone renames the two recorded streams, so ids stay continuous within every stream.
  for (let k = 0; k < CLONES; k++) {
    const a = `B${k}USDT`;
    const b = `E${k}USDT`;
    symbols.push(a, b);
  }
  for (let k = 0; k < CLONES; k++) {
    for (const f of mixed) frames.push(f.replace("btcusdt@", `b${k}usdt@`).replace("ethusdt@", `e${k}usdt@`));
  }
  // One warm-up pass, then the variants in turn within each pass: later code is better JIT-compiled,
  // and running the variants one after the other would credit that to the later ones.
  await pass(frames, symbols, VARIANTS[0]!);
  const runs = new Map<Variant, Awaited<ReturnType<typeof pass>>[]>(VARIANTS.map((v) => [v, []]));
  for (let p = 0; p < PASSES; p++) for (const v of VARIANTS) runs.get(v)!.push(await pass(frames, symbols, v));
  const rows = VARIANTS.map((v) => {
    const r = runs.get(v)!;
    // The median of an even number of passes is a mean: rounded to 4 places, so 2.095 does not print as 2.0949999999999998.
    const med = (xs: number[]): number => Math.round(median(xs) * 10000) / 10000;
    const us = med(r.map((x) => x.cpu_us_per_frame));
    return {
      variant: v.name,
      frames: frames.length,
      passes: r.length,
      cpu_us_per_frame: us,
      sys_us_per_frame: med(r.map((x) => x.sys_us_per_frame)),
      faults_per_frame: med(r.map((x) => x.faults_per_frame)),
      frames_per_s_per_core: Math.round(1e6 / us),
      wall_us_per_frame: med(r.map((x) => x.us_per_frame)),
    };
  });
  printTable(rows);
  const [all, noNd, noPq, none] = rows.map((r) => r.cpu_us_per_frame) as [number, number, number, number];
  const r2 = (x: number) => Math.round(x * 100) / 100;
  console.log(`ingest thread: ${all} µs per frame; NDJSON ≈ ${r2(all - noNd)}, Parquet rows ≈ ${r2(all - noPq)}, scanner + gate + engines ≈ ${none}`);
  writeResult("hotpath", startLoad, { symbols: symbols.length, table: rows });
}

await main();
