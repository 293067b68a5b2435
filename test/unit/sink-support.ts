/** Shared helpers for the sink-* tests: deterministic rows of every kind, tree listings, readers. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { SCHEMAS, withComputedCells, type Cell, type ColumnDef, type Row, type RowKind } from "../../src/core/rows.ts";

/** Value of column `def` in row `i` at time `ts`: exact-looking but not trivially equal values, nulls every 3rd row. */
export function cell(def: ColumnDef, i: number, symbol: string, ts: number): Cell {
  if (def.name === "symbol") return symbol;
  if (def.name === "ts_ms") return ts;
  if (def.nullable && i % 3 === 1) return null;
  switch (def.type) {
    case "ts":
      return ts + 37;
    case "i64":
      return 5_000_000_000 + i * 7;
    case "f64":
      return (i - 4) * 0.1 + 1e-9 * i;
    case "str":
      return i % 5 === 3 ? `é✓ ${def.name} ${i}` : `${def.name}-${i % 4}`;
    case "bool":
      return i % 2 === 0;
  }
}

/** A row as stored: computed columns (row_id) hold what the sinks derive. */
export const makeRow = (kind: RowKind, i: number, symbol: string, ts: number): Row =>
  withComputedCells(kind, Object.fromEntries(SCHEMAS[kind].map((d) => [d.name, cell(d, i, symbol, ts)])));

/** Every file under `root`, relative, sorted. */
export function treeFiles(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

const ZSTD = { ZSTD: (b: Uint8Array) => Bun.zstdDecompressSync(b) };

/** Rows of one Parquet file read by hyparquet (an independent reader), ts as epoch ms, i64 as number. */
export async function readParquetRows(path: string): Promise<Record<string, unknown>[]> {
  const b = readFileSync(path);
  const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file, compressors: ZSTD })) as Record<string, unknown>[];
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v])));
}

export function parquetRowCount(path: string): number {
  const b = readFileSync(path);
  return Number(parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer).num_rows);
}
