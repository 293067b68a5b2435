/**
 * Encoder A/B (issue 18, Deliver 3): harvestd's own Parquet encoder (src/sinks/parquet/encode.ts)
 * against hyparquet-writer (npm, typed arrays where it takes them, per-column DELTA_BINARY_PACKED /
 * PLAIN doubles like ours, zstd through a custom compressor at the same level) on the same
 * batches of every kind.
 *
 * Rows are real: raw logs generated from recorded Binance traffic (bench/lib/ndjson-gen.ts) go
 * through `harvestd replay` (compiled binary); every kind's rows of the busiest symbol are read back
 * (DuckDB) and built into one ColumnBatch per kind with the sink's own ColumnBatchBuilder. Both
 * encoders start from that ColumnBatch, as the writer worker does: for hyparquet-writer the cost of
 * turning it into the column arrays it takes (BigInt64Array, string[], arrays with nulls) is part
 * of its writer cost, as `batchColumn` is part of ours.
 *
 * CPU is this process's CPU time (user + system, process.cpuUsage), not wall time: the machine is
 * shared. The two encoders alternate (A B, then B A) for every kind and repetition; medians per
 * kind and the ratio come from the same run. Peak memory: a child process builds the batches, resets
 * its RSS high-water mark (/proc/self/clear_refs), encodes every batch once with one encoder and
 * reports how far the peak (VmHWM) rose above its RSS before encoding (median of 3 per encoder). Both files
 * of every kind are read back by DuckDB and compared row for row (EXCEPT ALL both ways).
 *
 * Usage: bun bench/encoder-ab.ts [--quick] [--reps N] [--rows N]
 * Writes bench/results/encoder-ab-<date>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetWriteBuffer } from "hyparquet-writer";
import { priceRowId } from "../src/core/row-id.ts";
import { ALL_KINDS, schemaOf, type ColumnDef, type Row, type SinkKind } from "../src/core/rows.ts";
import { type ColumnBatch, type NumberColumn } from "../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../src/sinks/parquet/batch-builder.ts";
import { batchColumn, ColumnScratch } from "../src/sinks/parquet/column-readers.ts";
import { DEFAULT_ROW_GROUP_SIZE, encodeBatch } from "../src/sinks/parquet/encode.ts";
import { listFiles } from "../test/helpers/ndjson.ts";
import { harvestdBinary, REPO, tempDir } from "./lib/harvestd.ts";
import { generateLogs } from "./lib/ndjson-gen.ts";
import { argValue, header, median, printTable, QUICK, writeResult } from "./lib/report.ts";

const REPS = Number(argValue("reps") ?? (QUICK ? 3 : 9));
const MAX_ROWS = Number(argValue("rows") ?? (QUICK ? 20_000 : 100_000));
const FRAMES = QUICK ? 60_000 : 400_000;
/** The rule: switch back when hyparquet-writer is within this factor on CPU and on size. */
const SWITCH_WITHIN = 1.25;

type Encoder = "own" | "hyparquet-writer";
const ENCODERS: readonly Encoder[] = ["own", "hyparquet-writer"];

const zstd = (b: Uint8Array): Uint8Array => Bun.zstdCompressSync(b);

const isDelta = (d: ColumnDef) => d.type === "ts" || (d.type === "i64" && d.name.endsWith("_id"));

/** ColumnBatch → hyparquet-writer's column sources (the conversion is part of its cost). */
function hyparquetColumns(batch: ColumnBatch): Parameters<typeof parquetWriteBuffer>[0]["columnData"] {
  const defs = schemaOf(batch.kind)!;
  const scratch = new ColumnScratch();
  const td = new TextDecoder();
  return defs.map((def, c) => {
    const n = batch.rows;
    if (def.name === "symbol") return { name: def.name, data: new Array<string>(n).fill(batch.symbol), type: "STRING" as const, nullable: false };
    if (def.computed === true) {
      // row_id (the only computed column) is derived from agg_trade_id by the same rule ours uses.
      const ids = (batchColumn(batch, defs.findIndex((d) => d.name === "agg_trade_id"), 0, n, scratch) as NumberColumn).values;
      return { name: def.name, data: Array.from({ length: n }, (_, r) => priceRowId(batch.symbol, ids[r]!)), type: "STRING" as const, nullable: false };
    }
    const col = batchColumn(batch, c, 0, n, scratch);
    const nulls = col.nulls;
    const isNull = (r: number) => nulls !== null && nulls[r] === 1;
    if (col.type === "str") {
      const out = new Array<string | null>(n);
      for (let r = 0; r < n; r++) out[r] = isNull(r) ? null : td.decode(col.bytes.subarray(col.offsets[r]!, col.offsets[r + 1]!));
      return { name: def.name, data: out, type: "STRING" as const, nullable: def.nullable };
    }
    if (col.type === "bool") {
      const out = new Array<boolean | null>(n);
      for (let r = 0; r < n; r++) out[r] = col.values[r] === 2 ? null : col.values[r] === 1;
      return { name: def.name, data: out, type: "BOOLEAN" as const, nullable: def.nullable };
    }
    if (col.type === "f64") {
      if (!def.nullable) return { name: def.name, data: col.values.slice(), type: "DOUBLE" as const, nullable: false, encoding: "PLAIN" as const };
      const out = new Array<number | null>(n);
      for (let r = 0; r < n; r++) out[r] = isNull(r) ? null : col.values[r]!;
      return { name: def.name, data: out, type: "DOUBLE" as const, nullable: true, encoding: "PLAIN" as const };
    }
    const type = col.type === "ts" ? ("TIMESTAMP" as const) : ("INT64" as const);
    const encoding = isDelta(def) ? ("DELTA_BINARY_PACKED" as const) : ("PLAIN" as const);
    if (!def.nullable) {
      const out = new BigInt64Array(n);
      for (let r = 0; r < n; r++) out[r] = BigInt(col.values[r]!);
      return { name: def.name, data: out, type, nullable: false, encoding };
    }
    const out = new Array<bigint | null>(n);
    for (let r = 0; r < n; r++) out[r] = isNull(r) ? null : BigInt(col.values[r]!);
    return { name: def.name, data: out, type, nullable: true, encoding };
  });
}

function encode(which: Encoder, batch: ColumnBatch): Uint8Array {
  if (which === "own") return encodeBatch(batch, { createdBy: "bench" });
  return hyparquetWrite(hyparquetColumns(batch));
}

function hyparquetWrite(columnData: ReturnType<typeof hyparquetColumns>): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData,
    codec: "ZSTD",
    compressors: { ZSTD: zstd },
    rowGroupSize: DEFAULT_ROW_GROUP_SIZE,
    statistics: true,
    createdBy: "bench",
  });
  return new Uint8Array(buf);
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One batch per kind from the rows file written by the parent (kind → rows). */
function buildBatches(rowsFile: string): Map<SinkKind, ColumnBatch> {
  const all = JSON.parse(readFileSync(rowsFile, "utf8")) as Record<string, Row[]>;
  const out = new Map<SinkKind, ColumnBatch>();
  for (const [kind, rows] of Object.entries(all)) {
    const first = rows[0]!;
    const b = new ColumnBatchBuilder(kind as SinkKind, first.symbol as string, Math.floor((first.ts_ms as number) / 86_400_000));
    for (const r of rows) if (!b.append(r)) throw new Error(`${kind}: ${b.lastRejection}`);
    out.set(kind as SinkKind, b.take()!);
  }
  return out;
}

const procStatus = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;

/**
 * Child mode: build the batches, reset the RSS high-water mark (Linux clear_refs 5), encode each
 * batch once with one encoder, print how far the peak rose above the RSS before encoding.
 */
function child(which: Encoder, rowsFile: string): void {
  const batches = buildBatches(rowsFile);
  Bun.gc(true);
  writeFileSync("/proc/self/clear_refs", "5");
  const before = procStatus("VmRSS");
  let bytes = 0;
  for (const b of batches.values()) bytes += encode(which, b).byteLength;
  console.log(JSON.stringify({ peakOverBaseBytes: procStatus("VmHWM") - before, baseBytes: before, bytes }));
}

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Real rows per kind: replay of generated logs, the busiest symbol per kind, numbers as JS numbers. */
async function realRows(dir: string): Promise<Record<string, Row[]>> {
  generateLogs(join(dir, "ndjson"), 3, FRAMES);
  const out = join(dir, "out");
  const r = Bun.spawnSync([harvestdBinary(), "replay", join(dir, "ndjson"), "--out", out, "--config", join(REPO, "config.toml")], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", PAPER_ENABLE: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`replay exited ${r.exitCode}: ${r.stderr.toString()}`);
  const inst = await DuckDBInstance.create(":memory:");
  const db = await inst.connect();
  const rows: Record<string, Row[]> = {};
  try {
    for (const kind of ALL_KINDS) {
      const files = listFiles(out, new RegExp(`kind=${kind}/[^/]*\\.parquet$`));
      if (files.length === 0) continue;
      const defs = schemaOf(kind)!;
      const cols = defs.map((d) => (d.type === "ts" ? `epoch_ms("${d.name}")::DOUBLE AS "${d.name}"` : d.type === "i64" ? `"${d.name}"::DOUBLE AS "${d.name}"` : `"${d.name}"`));
      const src = `read_parquet([${files.map(sq).join(", ")}], hive_partitioning = false)`;
      const top = (await db.runAndReadAll(`SELECT symbol FROM ${src} GROUP BY symbol ORDER BY count(*) DESC LIMIT 1`)).getRowObjectsJS()[0]!.symbol as string;
      // One UTC day, as a batch is.
      const got = (await db.runAndReadAll(`SELECT ${cols.join(", ")} FROM ${src} WHERE symbol = ${sq(top)} ORDER BY ts_ms LIMIT ${MAX_ROWS}`)).getRowObjectsJS() as Row[];
      const day = Math.floor((got[0]!.ts_ms as number) / 86_400_000);
      rows[kind] = got.filter((x) => Math.floor((x.ts_ms as number) / 86_400_000) === day);
    }
  } finally {
    db.closeSync();
    inst.closeSync();
  }
  return rows;
}

/** Rows only in one file or the other (DuckDB, timestamps as epoch ms so the two logical types compare). */
async function differences(kind: SinkKind, a: string, b: string): Promise<{ onlyOwn: number; onlyHyp: number; rowsOwn: number; rowsHyp: number }> {
  const inst = await DuckDBInstance.create(":memory:");
  const db = await inst.connect();
  try {
    const cols = schemaOf(kind)!.map((d) => (d.type === "ts" ? `epoch_ms("${d.name}") AS "${d.name}"` : `"${d.name}"`)).join(", ");
    const s = (f: string) => `(SELECT ${cols} FROM read_parquet(${sq(f)}))`;
    const [r] = (
      await db.runAndReadAll(
        `SELECT (SELECT count(*) FROM (${s(a)} EXCEPT ALL ${s(b)})) AS oa, (SELECT count(*) FROM (${s(b)} EXCEPT ALL ${s(a)})) AS ob, (SELECT count(*) FROM ${s(a)}) AS na, (SELECT count(*) FROM ${s(b)}) AS nb`,
      )
    ).getRowObjectsJS();
    return { onlyOwn: Number(r!.oa), onlyHyp: Number(r!.ob), rowsOwn: Number(r!.na), rowsHyp: Number(r!.nb) };
  } finally {
    db.closeSync();
    inst.closeSync();
  }
}

async function main(): Promise<void> {
  const startLoad = header("encoder-ab", "own Parquet encoder vs hyparquet-writer, same batches, CPU time per row, size, peak memory");
  const dir = tempDir("bench-encoder-ab");
  const rowsFile = join(dir, "rows.json");
  writeFileSync(rowsFile, JSON.stringify(await realRows(dir)));
  const batches = buildBatches(rowsFile);

  // Warm-up (JIT) for both, then interleaved measured repetitions.
  for (const b of batches.values()) for (const e of ENCODERS) encode(e, b);
  const cpu = new Map<string, number[]>();
  const size = new Map<string, number>();
  // Also hyparquet-writer's write alone, its column arrays built beforehand (what the conversion costs).
  const ready = new Map([...batches].map(([k, b]) => [k, hyparquetColumns(b)]));
  const push = (key: string, ms: number) => (cpu.get(key) ?? cpu.set(key, []).get(key)!).push(ms);
  for (let rep = 0; rep < REPS; rep++) {
    for (const [kind, b] of batches) {
      const order = rep % 2 === 0 ? ENCODERS : [...ENCODERS].reverse();
      for (const e of order) {
        const t0 = cpuMs();
        const bytes = encode(e, b);
        push(`${kind}/${e}`, cpuMs() - t0);
        size.set(`${kind}/${e}`, bytes.byteLength);
      }
      const t0 = cpuMs();
      hyparquetWrite(ready.get(kind)!);
      push(`${kind}/write-only`, cpuMs() - t0);
    }
  }

  // Read back: both files of every kind hold the same rows.
  const files = join(dir, "files");
  mkdirSync(files, { recursive: true });
  const table: Record<string, unknown>[] = [];
  const perKind: Record<string, unknown> = {};
  let cpuOwn = 0;
  let cpuHyp = 0;
  let cpuHypWriteOnly = 0;
  let bytesOwn = 0;
  let bytesHyp = 0;
  let rowsAll = 0;
  let equal = true;
  for (const [kind, b] of batches) {
    const fa = join(files, `${kind}-own.parquet`);
    const fb = join(files, `${kind}-hyp.parquet`);
    writeFileSync(fa, encode("own", b));
    writeFileSync(fb, encode("hyparquet-writer", b));
    const diff = await differences(kind, fa, fb);
    const same = diff.onlyOwn === 0 && diff.onlyHyp === 0 && diff.rowsOwn === b.rows && diff.rowsHyp === b.rows;
    equal &&= same;
    const mo = median(cpu.get(`${kind}/own`)!);
    const mh = median(cpu.get(`${kind}/hyparquet-writer`)!);
    const so = size.get(`${kind}/own`)!;
    const sh = size.get(`${kind}/hyparquet-writer`)!;
    cpuOwn += mo;
    cpuHyp += mh;
    cpuHypWriteOnly += median(cpu.get(`${kind}/write-only`)!);
    bytesOwn += so;
    bytesHyp += sh;
    rowsAll += b.rows;
    const row = {
      kind,
      rows: b.rows,
      own_ns_per_row: Math.round((mo * 1e6) / b.rows),
      hyp_ns_per_row: Math.round((mh * 1e6) / b.rows),
      hyp_write_only_ns_per_row: Math.round((median(cpu.get(`${kind}/write-only`)!) * 1e6) / b.rows),
      cpu_ratio: +(mh / mo).toFixed(2),
      own_bytes: so,
      hyp_bytes: sh,
      size_ratio: +(sh / so).toFixed(2),
      read_back_equal: same,
    };
    table.push(row);
    perKind[kind] = { ...row, own_cpu_ms_all: cpu.get(`${kind}/own`), hyp_cpu_ms_all: cpu.get(`${kind}/hyparquet-writer`), diff };
  }
  printTable(table);

  // Peak memory: median of 3 children per encoder, alternating.
  const peaks: Record<Encoder, number[]> = { own: [], "hyparquet-writer": [] };
  for (let i = 0; i < 3; i++) {
    for (const which of i % 2 === 0 ? ENCODERS : [...ENCODERS].reverse()) {
      const r = Bun.spawnSync([process.execPath, import.meta.path, `--child=${which}`, `--rows-file=${rowsFile}`], { stdout: "pipe", stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`child ${which}: ${r.stderr.toString()}`);
      peaks[which].push((JSON.parse(r.stdout.toString().trim().split("\n").pop()!) as { peakOverBaseBytes: number }).peakOverBaseBytes);
    }
  }
  const cpuRatio = cpuHyp / cpuOwn;
  const sizeRatio = bytesHyp / bytesOwn;
  const switchBack = cpuRatio <= SWITCH_WITHIN && sizeRatio <= SWITCH_WITHIN && equal;
  const totals = {
    rows: rowsAll,
    own_ns_per_row: Math.round((cpuOwn * 1e6) / rowsAll),
    hyp_ns_per_row: Math.round((cpuHyp * 1e6) / rowsAll),
    cpu_ratio: +cpuRatio.toFixed(2),
    own_bytes: bytesOwn,
    hyp_bytes: bytesHyp,
    size_ratio: +sizeRatio.toFixed(3),
    hyp_write_only_ns_per_row: Math.round((cpuHypWriteOnly * 1e6) / rowsAll),
    peak_rss_rise_mb: { own: +(median(peaks.own) / 1048576).toFixed(1), "hyparquet-writer": +(median(peaks["hyparquet-writer"]) / 1048576).toFixed(1) },
    peak_rss_rise_mb_all: peaks,
    read_back_equal: equal,
    rule: `switch back if hyparquet-writer is within ${SWITCH_WITHIN}x on CPU and size`,
    verdict: switchBack ? "switch back to hyparquet-writer" : "keep the own encoder",
  };
  console.log(JSON.stringify(totals, null, 2));
  const hypVersion = (JSON.parse(readFileSync(join(REPO, "node_modules", "hyparquet-writer", "package.json"), "utf8")) as { version: string }).version;
  writeResult("encoder-ab", startLoad, {
    settings: { reps: REPS, max_rows_per_kind: MAX_ROWS, frames_generated: FRAMES, zstd_level: "Bun default (3), both", row_group_size: DEFAULT_ROW_GROUP_SIZE, hyparquet_writer: hypVersion, cpu: "process.cpuUsage user+system, median of reps, encoders alternating" },
    totals,
    per_kind: perKind,
  });
}

const childArg = process.argv.find((a) => a.startsWith("--child="));
if (childArg !== undefined) child(childArg.slice(8) as Encoder, process.argv.find((a) => a.startsWith("--rows-file="))!.slice(12));
else await main();
