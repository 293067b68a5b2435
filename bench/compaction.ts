/**
 * Compaction cost and benefit: one busy symbol-hour at the default 60 s rotation (60 parts) of
 * `orderbook` (10 books/s = 36,000 rows) and `prices` (20,000 trades), merged by compactHour as the
 * writer worker does it. Reports the worker time per hour, bytes before and after, and DuckDB's
 * time to read the partition (all columns) before and after.
 *
 * Usage: bun bench/compaction.ts [--quick]. Writes bench/results/compaction-<date>.json.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { SCHEMAS, type Cell, type RowKind } from "../src/core/rows.ts";
import { ColumnBatchBuilder } from "../src/sinks/parquet/columns.ts";
import { encodeBatch } from "../src/sinks/parquet/encode.ts";
import { commitFile, partFileName, partitionDir } from "../src/sinks/parquet/files.ts";
import { compactHour } from "../src/sinks/storage/compaction.ts";
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

async function readMs(dir: string): Promise<number> {
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  const sql = `SELECT count(*), count(COLUMNS(*)) FROM read_parquet('${dir}/*.parquet')`;
  await conn.run(sql);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) await conn.run(sql);
  const ms = (performance.now() - t0) / 5;
  conn.closeSync();
  db.closeSync();
  return Math.round(ms * 10) / 10;
}

const startLoad = header("compaction", `one symbol-hour of ${PARTS} parts per kind`);
const root = mkdtempSync(join(tmpdir(), "harvestd-bench-compact-"));
const results: Record<string, unknown>[] = [];
for (const kind of ["orderbook", "prices"] as const) {
  const { dir, bytes } = writeHour(root, kind);
  const before = await readMs(dir);
  const t0 = performance.now();
  const out = await compactHour(root, dir, Math.floor(H0 / 3_600_000), { encode: {}, nextName: (ts) => partFileName(ts, ++seq, "bench") });
  const ms = performance.now() - t0;
  if (!out.done) throw new Error(`not compacted: ${out.reason}`);
  const after = await readMs(dir);
  results.push({
    kind,
    rows: out.rows,
    files_before: PARTS,
    compact_ms: Math.round(ms),
    rows_per_s: Math.round(out.rows / (ms / 1000)),
    bytes_before: bytes,
    bytes_after: dirBytes(dir),
    duckdb_read_ms_before: before,
    duckdb_read_ms_after: after,
  });
}
rmSync(root, { recursive: true, force: true });
printTable(results);
writeResult("compaction", startLoad, { parts: PARTS, results });
