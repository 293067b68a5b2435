/**
 * harvestd's own Parquet encoder against two independent readers (DuckDB and hyparquet): random
 * batches of every kind with the awkward cases an encoder gets wrong — several row groups, runs and
 * alternations of nulls, all-null and no-null columns, integers beyond 2^32 and negative, delta
 * steps that need wide bit widths, strings that overflow the dictionary, non-ASCII, NaN and -0 —
 * must read back exactly, with statistics that match the data.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { ALL_KINDS, SCHEMAS, withComputedCells, type Cell, type ColumnDef, type Row, type RowKind } from "../../src/core/rows.ts";
import { type ColumnBatch } from "../../src/sinks/parquet/columns.ts";
import { ColumnBatchBuilder } from "../../src/sinks/parquet/batch-builder.ts";
import { encodeBatch, joinParts, ParquetFileBuilder } from "../../src/sinks/parquet/encode.ts";
import { PageSpool } from "../../src/sinks/parquet/page-spool.ts";
import { tempDir } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { prng } from "../helpers/prng.ts";

const dir = tempDir("encoder");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 21, 3, 0, 0);

/** A per-column value generator; each column gets its own "shape" so every encoder path is hit. */
function columnGenerator(def: ColumnDef, rnd: () => number, c: number): (i: number) => Cell {
  const shape = c % 4;
  const nullAt = (i: number): boolean => {
    if (!def.nullable) return false;
    // 0: never null, 1: long runs of nulls, 2: alternating, 3: random one in three.
    return shape === 1 ? Math.floor(i / 300) % 2 === 1 : shape === 2 ? i % 2 === 0 : shape === 3 ? rnd() < 0.33 : false;
  };
  let acc = shape === 2 ? -3_000_000_000 : 1_000_000_000_000;
  return (i) => {
    if (def.name === "ts_ms") return T0 + i * 7 + Math.floor(rnd() * 5);
    if (nullAt(i)) return null;
    switch (def.type) {
      case "ts":
        return T0 + Math.floor(rnd() * 3_600_000);
      case "i64": {
        // Mostly small steps, sometimes a huge jump (needs > 32-bit delta widths), sometimes back.
        const r = rnd();
        acc += r < 0.01 ? Math.floor(rnd() * 2 ** 45) : r < 0.02 ? -Math.floor(rnd() * 2 ** 40) : Math.floor(rnd() * 40);
        return acc;
      }
      case "f64": {
        const r = rnd();
        if (r < 0.005) return -0;
        if (r < 0.01) return NaN;
        if (r < 0.015) return -1e300;
        return shape === 0 ? 60_000 + Math.round(rnd() * 1000) / 10 : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 12 - 6);
      }
      case "str":
        // A few repeated values, a long non-ASCII one, or (shape 3) all distinct: overflows the dictionary.
        return shape === 3 ? `id-${i}-${rnd().toString(36)}` : rnd() < 0.01 ? `é✓ ${"x".repeat(200)} ${i % 3}` : ["A", "BB", "flat", ""][i % 7 < 5 ? 0 : Math.floor(rnd() * 4)]!;
      case "bool":
        return shape === 1 ? Math.floor(i / 100) % 2 === 0 : rnd() < 0.5;
    }
  };
}

function batchOf(kind: RowKind, rows: number, seed: number): { rows: Row[]; builder: ColumnBatchBuilder } {
  const rnd = prng(seed);
  const defs = SCHEMAS[kind];
  const gens = defs.map((d, c) => columnGenerator(d, rnd, c));
  const out: Row[] = [];
  const builder = new ColumnBatchBuilder(kind, "BTCUSDT", Math.floor(T0 / 86_400_000));
  for (let i = 0; i < rows; i++) {
    const row: Record<string, Cell> = {};
    defs.forEach((d, c) => (row[d.name] = d.name === "symbol" ? "BTCUSDT" : gens[c]!(i)));
    if (!builder.append(row)) throw new Error(`generator made a bad row: ${builder.lastRejection}`);
    // What the file must hold: computed columns (row_id) derived by the encoder, whatever the row said.
    out.push(withComputedCells(kind, row));
  }
  return { rows: out, builder };
}

const sameNumber = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function expectCell(def: ColumnDef, got: unknown, want: Cell, where: string): void {
  if (want === null) {
    if (got !== null && got !== undefined) throw new Error(`${where}: want null, got ${String(got)}`);
    return;
  }
  let v: unknown = got;
  if (typeof v === "bigint") v = Number(v);
  if (v instanceof Date) v = v.getTime();
  if (def.type === "f64" || def.type === "i64" || def.type === "ts") {
    // DuckDB reads -0 back as 0 through its JS API; hyparquet keeps it.
    const ok = sameNumber(v as number, want as number) || (want === 0 && v === 0);
    if (!ok) throw new Error(`${where}: want ${String(want)}, got ${String(v)}`);
  } else if (v !== want) throw new Error(`${where}: want ${JSON.stringify(want)}, got ${JSON.stringify(v)}`);
}

const KINDS_AND_SIZES: [RowKind, number, number][] = ALL_KINDS.map((k, i) => [k, i % 2 === 0 ? 2_503 : 777, 100 + i]);

/**
 * The writer worker's way: the batch's first chunks arrive ahead of it, a few at a time, and are
 * encoded into pages at once (several pages per column chunk, pieces cut at row-group ends); the
 * batch then brings its last chunk and the strings.
 */
function encodeAsChunksArrive(batch: ColumnBatch, rowGroupSize: number, spool: PageSpool | null = null): { bytes: Uint8Array; calls: number } {
  const file = new ParquetFileBuilder(batch.kind, batch.symbol, { rowGroupSize }, spool);
  const ahead = batch.chunks.slice(0, -1);
  let calls = 0;
  for (let i = 0; i < ahead.length; ) {
    const take = 1 + (calls++ % 2);
    file.addRows(ahead.slice(i, i + take));
    i += take;
  }
  const tail = batch.chunks.slice(-1);
  return { bytes: joinParts(file.finish({ ...batch, chunks: tail, sentRows: batch.rows - tail[0]!.rows })), calls };
}

describe("Parquet encoder", () => {
  for (const [kind, n, seed] of KINDS_AND_SIZES) for (const mode of ["whole batch", "chunks encoded as they arrive", "chunks spooled to disk"] as const) {
    test(`${kind}: ${n} random rows in row groups of 1,000 (${mode}) read back exactly by hyparquet and DuckDB`, async () => {
      const { rows, builder } = batchOf(kind, n, seed);
      const batch = builder.take()!;
      let bytes: Uint8Array;
      if (mode === "whole batch") bytes = encodeBatch(batch, { rowGroupSize: 1000 });
      else if (mode === "chunks spooled to disk") {
        // Tiny segments and write buffer: pages cross buffer flushes and segment files.
        const spool = new PageSpool(() => tempDir("spool"), (m) => { throw new Error(m); }, { segmentBytes: 4096, bufferBytes: 1024 });
        const inMemory = encodeAsChunksArrive(batchOf(kind, n, seed).builder.take()!, 1000).bytes;
        bytes = encodeAsChunksArrive(batch, 1000, spool).bytes;
        expect(spool.pages).toBe(0);
        // Every page read back and freed: only the segment being written remains.
        expect(spool.segmentPaths.length).toBeLessThanOrEqual(1);
        spool.close();
        expect(Buffer.compare(bytes, inMemory)).toBe(0);
      } else {
        const out = encodeAsChunksArrive(batch, 1000);
        // The case is only a case if rows really came in several pieces.
        expect(out.calls).toBeGreaterThan(1);
        bytes = out.bytes;
      }
      const path = join(dir, `${kind}-${mode.split(" ")[0]}.parquet`);
      writeFileSync(path, bytes);
      const defs = SCHEMAS[kind];

      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const meta = parquetMetadata(buf);
      expect(Number(meta.num_rows)).toBe(n);
      expect(meta.row_groups.length).toBe(Math.ceil(n / 1000));
      const hyp = await parquetReadObjects({ file: buf, compressors: { ZSTD: (b: Uint8Array) => Bun.zstdDecompressSync(b) } });
      expect(hyp.length).toBe(n);
      for (let i = 0; i < n; i++) for (const d of defs) expectCell(d, hyp[i]![d.name], rows[i]![d.name]!, `hyparquet row ${i} ${d.name}`);

      const duck = await query(
        `SELECT * EXCLUDE (file_row_number) FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
      );
      expect(duck.length).toBe(n);
      for (let i = 0; i < n; i++) for (const d of defs) expectCell(d, duck[i]![d.name], rows[i]![d.name]!, `duckdb row ${i} ${d.name}`);

      // Statistics per row group agree with the rows (DuckDB's view of them).
      const stats = await query(
        `SELECT row_group_id, path_in_schema AS name, stats_null_count AS nulls, stats_min_value AS lo, stats_max_value AS hi
         FROM parquet_metadata('${path}')`,
      );
      for (const s of stats) {
        const d = defs.find((x) => x.name === s.name)!;
        const g = Number(s.row_group_id);
        const slice = rows.slice(g * 1000, Math.min(n, (g + 1) * 1000)).map((r) => r[d.name]!);
        expect(Number(s.nulls)).toBe(slice.filter((v) => v === null).length);
        const present = slice.filter((v) => v !== null && !(typeof v === "number" && Number.isNaN(v)));
        if (d.type === "i64" && present.length > 0) {
          const nums = present as number[];
          expect(String(s.lo)).toBe(String(Math.min(...nums)));
          expect(String(s.hi)).toBe(String(Math.max(...nums)));
        }
        if (d.type === "str" && present.length > 0) {
          const sorted = (present as string[]).map((v) => Buffer.from(v)).sort(Buffer.compare);
          expect(s.lo).toBe(sorted[0]!.toString());
          expect(s.hi).toBe(sorted[sorted.length - 1]!.toString());
        }
      }
      // Time pruning works: a range outside every row group's ts_ms statistics reads nothing.
      const none = await query(`SELECT count(*) AS n FROM read_parquet('${path}') WHERE ts_ms < TIMESTAMPTZ '2000-01-01 00:00:00+00'`);
      expect(Number(none[0]!.n)).toBe(0);
    });
  }

  test("a batch of one row, and nullable columns that are null throughout", async () => {
    const builder = new ColumnBatchBuilder("prices", "X", 0);
    const row: Record<string, Cell> = {};
    for (const d of SCHEMAS.prices) row[d.name] = d.nullable ? null : d.name === "symbol" ? "X" : d.type === "str" ? "s" : d.type === "bool" ? true : 5;
    expect(builder.append(row)).toBe(true);
    const bytes = encodeBatch(builder.take()!);
    const path = join(dir, "one.parquet");
    writeFileSync(path, bytes);
    const duck = await query(`SELECT * FROM read_parquet('${path}')`);
    expect(duck.length).toBe(1);
    const want = withComputedCells("prices", row);
    expect(want.row_id).toBe(new Bun.CryptoHasher("md5").update("X|5|price").digest("hex"));
    for (const d of SCHEMAS.prices) expectCell(d, duck[0]![d.name], want[d.name]!, d.name);
  });

  test("doubles are PLAIN: market values repeat whole, and zstd finds them when their bytes stay together", async () => {
    // Book rows as a market makes them: prices on a 0.1 tick near 60,000, quantities from a few
    // hundred lot-grid values. A double whose bytes were split by rank (BYTE_STREAM_SPLIT, before
    // 2026-12-06) took ≈ 7 bytes a value here; kept whole, ≈ 2.
    const rnd = prng(7);
    const lots = Array.from({ length: 300 }, () => Math.round(rnd() ** 3 * 20_000) / 1000);
    const builder = new ColumnBatchBuilder("orderbook", "BTCUSDT", Math.floor(T0 / 86_400_000));
    const n = 4_000;
    let mid = 60_000;
    const qty0: number[] = [];
    for (let i = 0; i < n; i++) {
      mid = Math.round((mid + (rnd() < 0.1 ? (rnd() < 0.5 ? -0.1 : 0.1) : 0)) * 10) / 10;
      const row: Record<string, Cell> = {};
      for (const d of SCHEMAS.orderbook) {
        if (d.name === "symbol") row[d.name] = "BTCUSDT";
        else if (d.type === "ts") row[d.name] = T0 + i * 100;
        else if (d.type === "i64") row[d.name] = 1_000_000 + i * 50;
        else if (d.type === "bool") row[d.name] = false;
        else if (d.type === "f64") row[d.name] = /_qty|^d_/.test(d.name) ? lots[Math.floor(rnd() * lots.length)]! : mid + Math.floor(rnd() * 5) / 10;
        else row[d.name] = null;
      }
      expect(builder.append(row)).toBe(true);
      qty0.push(row.bid_qty_0 as number);
    }
    const path = join(dir, "book-values.parquet");
    writeFileSync(path, encodeBatch(builder.take()!));
    const meta = await query(`SELECT path_in_schema AS col, encodings, total_compressed_size::DOUBLE AS size FROM parquet_metadata('${path}')`);
    const qty = meta.filter((m) => String(m.col).startsWith("bid_qty_"));
    expect(qty.length).toBe(5);
    for (const m of qty) {
      expect(String(m.encodings).split(", ").filter((e) => e !== "RLE")).toEqual(["PLAIN"]);
      expect((m.size as number) / n).toBeLessThan(3.5);
    }
    const back = await query(`SELECT bid_qty_0 AS q FROM read_parquet('${path}') ORDER BY ts_ms`);
    expect(back.map((r) => r.q)).toEqual(qty0);
  });
});
