/**
 * Compaction cost and benefit: one busy symbol-hour at the default 60 s rotation (60 parts) of
 * `orderbook` (10 books/s = 36,000 rows) and `prices` (20,000 trades), merged by compactHour as the
 * writer worker does it. Reports the worker time per hour, bytes before and after, DuckDB's
 * time to read the partition (all columns; and one column of five minutes) before and after, and
 * how far the merge raised the process's RSS above where it started (sampled every 2 ms from a
 * worker thread, since the merge keeps this one busy): at an hour turn a collector runs one such
 * merge per partition.
 *
 * Usage: bun bench/compaction.ts [--quick]. Writes bench/results/compaction-<date>.json.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { SCHEMAS, type Cell, type RowKind } from "../src/core/rows.ts";
import { ColumnBatchBuilder } from "../src/sinks/parquet/batch-builder.ts";
import { encodeBatch } from "../src/sinks/parquet/encode.ts";
import { commitFile, partFileName, partitionDir } from "../src/sinks/parquet/files.ts";
import { compactHour, type CompactOutcome } from "../src/sinks/storage/compaction.ts";
import { header, printTable, QUICK, writeResult } from "./lib/report.ts";

const H0 = Date.UTC(2026, 0, 1, 10);
const PARTS = 60;
const ROWS: Record<"orderbook" | "prices", number> = QUICK ? { orderbook: 3600, prices: 2000 } : { orderbook: 36_000, prices: 20_000 };

function value(kind: RowKind, name: string, type: string, nullable: boolean, i: number, ts: number): Cell {
  if (name === "symbol") return "BTCUSDT";
  if (name === "ts_ms") return ts;
  if (type === "ts") return ts + 3;
  if (type === "i64") return nullable && i % 50 === 0 ? null : 4_000_000_000 + i;
  if (type === "f64") return nullable && i % 40 === 0 ? null : 60_000 + Math.sin(i / 100) * 50 + (i % 7) * 0.1;
  if (type === "bool") return i % 9 === 0;
  // row_id is computed by the encoder (core/row-id.ts): what is given here is ignored.
  return kind === "prices" && name === "scenario_2x2" ? "A_H" : `${name}-${i % 3}`;
}

let seq = 0;

function writeHour(root: string, kind: "orderbook" | "prices"): { dir: string; bytes: number } {
  const n = ROWS[kind];
  const perPart = Math.ceil(n / PARTS);
  const dir = partitionDir(root, kind, "BTCUSDT", Math.floor(H0 / 86_400_000));
  for (let p = 0; p < PARTS; p++) {
    const b = new ColumnBatchBuilder(kind, "BTCUSDT", Math.floor(H0 / 86_400_000));
    for (let k = 0; k < perPart; k++) {
      const i = p * perPart + k;
      if (i >= n) break;
      const ts = H0 + Math.floor((i * 3_600_000) / n);
      b.append(Object.fromEntries(SCHEMAS[kind].map((d) => [d.name, value(kind, d.name, d.type, d.nullable, i, ts)])));
    }
    // The last parts can be empty when the rows do not divide evenly (the --quick sizes).
    const batch = b.take();
    if (batch === null) continue;
    commitFile(dir, encodeBatch(batch), () => partFileName(batch.minTsMs, ++seq, "bench"));
  }
  return { dir, bytes: dirBytes(dir) };
}

const dirBytes = (dir: string) => readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0);

/** DuckDB reading the partition: every column of every row, or one column of five minutes. */
async function readMs(dir: string, kind: "orderbook" | "prices", narrow: boolean): Promise<number> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  const from = `read_parquet('${dir}/*.parquet')`;
  const f64 = SCHEMAS[kind].find((d) => d.type === "f64")!.name;
  const at = (ms: number) => `TIMESTAMPTZ '${new Date(ms).toISOString()}'`;
  const sql = narrow
    ? `SELECT count(*), avg(${f64}) FROM ${from} WHERE ts_ms >= ${at(H0 + 1_800_000)} AND ts_ms < ${at(H0 + 2_100_000)}`
    : `SELECT count(*), count(COLUMNS(*)) FROM ${from}`;
  await conn.run(sql);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await conn.run(sql);
  const ms = (performance.now() - t0) / 5;
  conn.closeSync();
  db.closeSync();
  return Math.round(ms * 10) / 10;
}

/** Highest RSS of this process while `run` runs, read from /proc by a worker thread every 2 ms. */
async function peakRssDuring<T>(run: () => Promise<T>): Promise<{ result: T; startMiB: number; peakMiB: number }> {
  const src = `
    const { readFileSync } = require("node:fs");
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
    let peak = 0;
    const t = setInterval(() => { peak = Math.max(peak, rss()); }, 2);
    self.onmessage = () => { clearInterval(t); postMessage(Math.max(peak, rss())); };
    postMessage(rss());`;
  const w = new Worker(URL.createObjectURL(new Blob([src], { type: "application/javascript" })));
  const messages: number[] = [];
  let wake: (() => void) | null = null;
  w.onmessage = (e) => {
    messages.push(e.data as number);
    wake?.();
  };
  const next = async (): Promise<number> => {
    while (messages.length === 0) await new Promise<void>((r) => (wake = r));
    return messages.shift()!;
  };
  Bun.gc(true);
  const start = await next();
  const result = await run();
  w.postMessage("stop");
  const peak = await next();
  w.terminate();
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return { result, startMiB: mib(start), peakMiB: mib(peak) };
}

const startLoad = header("compaction", `one symbol-hour of ${PARTS} parts per kind`);
const root = mkdtempSync(join(tmpdir(), "harvestd-bench-compact-"));
const results: Record<string, unknown>[] = [];
// Every merge first, every DuckDB read after them: DuckDB's own allocator releases memory lazily,
// which moved the RSS measured during a merge that came right after a read by up to 17 MiB.
const merged: { kind: "orderbook" | "prices"; dir: string; partsDir: string; bytes: number; out: CompactOutcome & { done: true }; ms: number; rise: number; startMiB: number }[] = [];
for (const kind of ["orderbook", "prices"] as const) {
  const { dir, bytes } = writeHour(root, kind);
  // The parts as they were, for DuckDB's "before" (a folder outside the Hive tree).
  const partsDir = join(root, `parts-${kind}`);
  cpSync(dir, partsDir, { recursive: true });
  let ms = 0;
  const { result: out, startMiB, peakMiB } = await peakRssDuring(async () => {
    const t0 = performance.now();
    const o = compactHour(root, dir, Math.floor(H0 / 3_600_000), { nextName: (ts) => partFileName(ts, ++seq, "bench") });
    ms = performance.now() - t0;
    return o;
  });
  if (!out.done) throw new Error(`not compacted: ${out.reason}`);
  merged.push({ kind, dir, partsDir, bytes, out, ms, rise: Math.round((peakMiB - startMiB) * 10) / 10, startMiB });
}
for (const { kind, dir, partsDir, bytes, out, ms, rise, startMiB } of merged) {
  results.push({
    kind,
    rows: out.rows,
    files_before: PARTS,
    compact_ms: Math.round(ms),
    rows_per_s: Math.round(out.rows / (ms / 1000)),
    rss_start_mib: startMiB,
    rss_rise_mib: rise,
    bytes_before: bytes,
    bytes_after: dirBytes(dir),
    duckdb_read_ms_before: await readMs(partsDir, kind, false),
    duckdb_read_ms_after: await readMs(dir, kind, false),
    duckdb_5min_ms_before: await readMs(partsDir, kind, true),
    duckdb_5min_ms_after: await readMs(dir, kind, true),
  });
}
rmSync(root, { recursive: true, force: true });
printTable(results);
writeResult("compaction", startLoad, { parts: PARTS, results });
