/**
 * Ingest thread → writer thread: SPSC ring over SharedArrayBuffer vs transferred column batches
 * (docs/storage.md, issue "Storage", deliverable 1). Decides how ParquetSink feeds its worker.
 *
 * Both variants get the same rows of two real schemas: `prices` (15 columns, 3 strings incl. a
 * 32-char md5) and `orderbook` (59 columns, mostly doubles), taken in turn from a pool of 4,096
 * prepared row objects (so the figures are the transport's cost, not the cost of making rows).
 * Measured on the ingest (main) thread, which is what must never wait:
 *   ns/row     producer time per row (copy into the builder / serialise into the ring, handovers);
 *   p99/max    per-1000-row chunk time / 1000 (a handover or a full ring shows up here);
 *   stalls     ring only: times the producer found the ring full and waited for the consumer;
 * and end to end: rows/s until the worker holds every row (columnar, ready to encode).
 * With `encode`, the worker also encodes each 5,000-row batch to Parquet, as the writer does, so
 * the consumer falls behind the producer the way a real writer does.
 *
 * Usage: bun bench/sink-transport.ts [--quick] [--rows N]. Writes bench/results/sink-transport-<date>.json.
 */
import { SCHEMAS, type Cell, type Row, type RowKind } from "../src/core/rows.ts";
import { transferList } from "../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../src/sinks/parquet/batch-builder.ts";
import { argValue, header, printTable, QUICK, quantiles, writeResult } from "./lib/report.ts";
import { createRing, RingProducer } from "./lib/spsc-ring.ts";
import type { TransportInit } from "./lib/transport-worker.ts";

const ROWS = Number(argValue("rows") ?? (QUICK ? 50_000 : 500_000));
const BATCH = 5_000;
const CHUNK = 1_000;
/** 16 MiB: room for several seconds of one busy symbol. */
const RING_BYTES = 16 * 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);

/** Fills `row` with the values of row `i` (realistic shapes: prices around 60k, a regime). */
function fill(kind: RowKind, row: Record<string, Cell>, i: number): void {
  for (const d of SCHEMAS[kind]) {
    if (d.name === "symbol") row.symbol = "BTCUSDT";
    else if (d.type === "ts") row[d.name] = T0 + i * 7;
    else if (d.type === "i64") row[d.name] = d.nullable && i % 17 === 0 ? null : 4_000_000_000 + i;
    else if (d.type === "f64") row[d.name] = d.nullable && i % 13 === 0 ? null : 60_000 + ((i * 37) % 1000) * 0.1;
    else if (d.type === "bool") row[d.name] = (i & 1) === 0;
    // row_id (computed by the writer, core/row-id.ts) is carried by neither transport.
    else if (d.computed !== true) row[d.name] = d.name === "scenario_2x2" ? "A_H" : `${d.name}-${i % 8}`;
  }
}

const POOL = 4096;

function pool(kind: RowKind): Row[] {
  return Array.from({ length: POOL }, (_, i) => {
    const row: Record<string, Cell> = {};
    fill(kind, row, i);
    return row;
  });
}

function spawn(init: TransportInit): Worker {
  const w = new Worker(new URL("./lib/transport-worker.ts", import.meta.url).href);
  w.postMessage(init);
  return w;
}

interface Figures {
  readonly ns_per_row: number;
  readonly chunk_p99_ns_per_row: number | null;
  readonly chunk_max_ns_per_row: number | null;
  readonly e2e_rows_per_s: number;
  readonly stalls: number;
  readonly stall_ms: number;
  readonly peak_in_flight_mb: number;
}

/**
 * Pushes ROWS rows with `push(i)`, timing the producer per CHUNK rows, then waits for the consumer:
 * the figures both transports report, apart from stalls and memory in flight.
 */
async function timeProducer(push: (i: number) => void, done: Promise<void>): Promise<Pick<Figures, "ns_per_row" | "chunk_p99_ns_per_row" | "chunk_max_ns_per_row" | "e2e_rows_per_s">> {
  const chunks: number[] = [];
  const tStart = Bun.nanoseconds();
  let tChunk = tStart;
  for (let i = 0; i < ROWS; i++) {
    push(i);
    if ((i + 1) % CHUNK === 0) {
      const now = Bun.nanoseconds();
      chunks.push((now - tChunk) / CHUNK);
      tChunk = now;
    }
  }
  const producerNs = Bun.nanoseconds() - tStart;
  await done;
  const e2eNs = Bun.nanoseconds() - tStart;
  const q = quantiles(chunks, 0);
  return {
    ns_per_row: Math.round(producerNs / ROWS),
    chunk_p99_ns_per_row: q.p99,
    chunk_max_ns_per_row: q.max,
    e2e_rows_per_s: Math.round(ROWS / (e2eNs / 1e9)),
  };
}

async function runTransfer(kind: RowKind, encode: boolean, rows: readonly Row[]): Promise<Figures> {
  const w = spawn({ mode: "transfer", encode });
  let acked = 0;
  let inFlight = 0;
  let peak = 0;
  const sizes: number[] = [];
  const done = new Promise<void>((resolve) => {
    w.onmessage = (ev: MessageEvent) => {
      acked += (ev.data as { ack: number }).ack;
      inFlight -= sizes.shift() ?? 0;
      if (acked === ROWS) resolve();
    };
  });
  await Bun.sleep(100);
  let b = new ColumnBatchBuilder(kind, "BTCUSDT", 0, BATCH);
  const timed = await timeProducer((i) => {
    b.append(rows[i % POOL]!);
    if (b.rows === BATCH || i === ROWS - 1) {
      const batch = b.take()!;
      const list = transferList(batch);
      const bytes = list.reduce((n, x) => n + x.byteLength, 0);
      sizes.push(bytes);
      inFlight += bytes;
      peak = Math.max(peak, inFlight);
      w.postMessage({ batch }, list);
      b = new ColumnBatchBuilder(kind, "BTCUSDT", 0, BATCH);
    }
  }, done);
  w.terminate();
  return { ...timed, stalls: 0, stall_ms: 0, peak_in_flight_mb: Math.round((peak / 2 ** 20) * 10) / 10 };
}

async function runRing(kind: RowKind, encode: boolean, rows: readonly Row[]): Promise<Figures> {
  const ring = createRing(RING_BYTES);
  const w = spawn({ mode: "ring", encode, ring, kind, rows: ROWS, batchRows: BATCH });
  const done = new Promise<void>((resolve) => {
    w.onmessage = () => resolve();
  });
  await Bun.sleep(100);
  const producer = new RingProducer(ring, SCHEMAS[kind]);
  const timed = await timeProducer((i) => producer.push(rows[i % POOL]!), done);
  w.terminate();
  return {
    ...timed,
    stalls: producer.stalls,
    stall_ms: Math.round(producer.stallNs / 1e6),
    peak_in_flight_mb: Math.round((RING_BYTES / 2 ** 20) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const startLoad = header("sink-transport", `${ROWS.toLocaleString("en-US")} rows per run, batches of ${BATCH}, ring ${RING_BYTES / 2 ** 20} MiB`);
  const results: Record<string, unknown>[] = [];
  for (const kind of ["prices", "orderbook"] as const) {
    const rows = pool(kind);
    for (const encode of [false, true]) {
      // Alternate the order so neither variant always runs on a warmer JIT.
      const t = await runTransfer(kind, encode, rows);
      const r = await runRing(kind, encode, rows);
      const t2 = await runTransfer(kind, encode, rows);
      const r2 = await runRing(kind, encode, rows);
      const best = (a: Figures, b: Figures) => (a.ns_per_row <= b.ns_per_row ? a : b);
      results.push({ kind, encode, variant: "transfer", ...best(t, t2) });
      results.push({ kind, encode, variant: "ring", ...best(r, r2) });
    }
  }
  printTable(results);
  writeResult("sink-transport", startLoad, { rows: ROWS, batch_rows: BATCH, ring_bytes: RING_BYTES, results });
}

await main();
