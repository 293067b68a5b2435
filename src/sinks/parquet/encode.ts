/**
 * ColumnBatch → Parquet bytes, with the explicit schema of SCHEMAS[kind] (never inferred from data).
 *
 * Synchronous and CPU-bound (hundreds of ms per 100k rows): only ever called inside the writer
 * worker, never on the ingest thread.
 */
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import type { ColumnSource } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import { SCHEMAS, type ColumnDef, type RowKind } from "../../rows/schema.ts";
import type { BatchColumn, ColumnBatch, StrColumn } from "./columns.ts";

/**
 * Bumped whenever a column list in SCHEMAS changes in a way a reader must know about. Written to
 * every file's key-value metadata as `harvestd.schema_version`.
 */
export const SCHEMA_VERSION = "1";

export const DEFAULT_ROW_GROUP_SIZE = 100_000;

export interface EncodeOptions {
  /** Rows per row group; 100k keeps statistics useful for pruning and pages in the MB range. */
  readonly rowGroupSize?: number;
  /** FileMetaData.created_by, e.g. `harvestd 0.1.0`. */
  readonly createdBy?: string;
  /** zstd level (Bun default is 3). */
  readonly zstdLevel?: number;
}

/** One Parquet schema element per column: the file format's side of SCHEMAS. */
export function schemaElement(def: ColumnDef): SchemaElement {
  const repetition_type = def.nullable ? "OPTIONAL" : "REQUIRED";
  switch (def.type) {
    case "ts":
      // logical_type makes DuckDB read TIMESTAMP WITH TIME ZONE and Arrow timestamp[ms, tz=UTC];
      // the legacy converted_type (which implies UTC) is kept for readers that predate logical types.
      return {
        name: def.name,
        type: "INT64",
        repetition_type,
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
      };
    case "i64":
      return { name: def.name, type: "INT64", repetition_type };
    case "f64":
      return { name: def.name, type: "DOUBLE", repetition_type };
    case "bool":
      return { name: def.name, type: "BOOLEAN", repetition_type };
    case "str":
      return {
        name: def.name,
        type: "BYTE_ARRAY",
        repetition_type,
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
      };
  }
}

export function parquetSchema(kind: RowKind): SchemaElement[] {
  const defs = SCHEMAS[kind];
  return [{ name: "root", num_children: defs.length }, ...defs.map(schemaElement)];
}

/**
 * Timestamps and ids grow by small steps. Measured on 100k realistic values (zstd on top):
 * consecutive ids 100 KB plain → 0.2 KB delta, jittered timestamps 104 KB → 75 KB (at ~2x the
 * CPU), while small unordered integers (latencies, counts) come out larger with delta. Doubles and
 * strings keep the library's choice (dictionary when it pays, else plain).
 */
function deltaPacked(def: ColumnDef): boolean {
  return def.type === "ts" || (def.type === "i64" && def.name.endsWith("_id"));
}

/** Built once per kind: SCHEMAS does not change while the process runs. */
const schemaCache = new Map<RowKind, SchemaElement[]>();

export function encodeBatch(batch: ColumnBatch, opts: EncodeOptions = {}): Uint8Array {
  const defs = SCHEMAS[batch.kind];
  if (!defs) throw new Error(`unknown kind ${batch.kind}`);
  if (batch.columns.length !== defs.length) {
    throw new Error(`batch of ${batch.kind} has ${batch.columns.length} columns, schema has ${defs.length}`);
  }
  let schema = schemaCache.get(batch.kind);
  if (!schema) schemaCache.set(batch.kind, (schema = parquetSchema(batch.kind)));

  const columnData: ColumnSource[] = defs.map((def, c) => {
    const col = batch.columns[c];
    if (col.name !== def.name || col.type !== def.type) {
      throw new Error(`batch column ${c} is ${col.name}:${col.type}, schema says ${def.name}:${def.type}`);
    }
    return {
      name: def.name,
      data: columnValues(col, batch.rows),
      nullable: def.nullable,
      encoding: deltaPacked(def) ? "DELTA_BINARY_PACKED" : undefined,
    };
  });

  const level = opts.zstdLevel;
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData,
    schema,
    codec: "ZSTD",
    compressors: { ZSTD: (b: Uint8Array) => Bun.zstdCompressSync(b, level === undefined ? undefined : { level }) },
    statistics: true,
    rowGroupSize: opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE,
    createdBy: opts.createdBy ?? "harvestd",
    kvMetadata: [
      { key: "harvestd.kind", value: batch.kind },
      { key: "harvestd.schema_version", value: SCHEMA_VERSION },
      { key: "harvestd.symbol", value: batch.symbol },
    ],
  });
  return writer.getBytes();
}

/**
 * The value array hyparquet-writer expects for one column: INT64 wants bigints (TIMESTAMP columns
 * convert numbers themselves), nullable columns want null entries.
 */
function columnValues(col: BatchColumn, n: number): ColumnSource["data"] {
  const nulls = col.nulls;
  switch (col.type) {
    case "f64":
    case "ts": {
      if (!nulls) return col.values.subarray(0, n);
      const out = new Array<number | null>(n);
      for (let i = 0; i < n; i++) out[i] = nulls[i] ? null : col.values[i];
      return out;
    }
    case "i64": {
      if (!nulls) {
        const out = new BigInt64Array(n);
        for (let i = 0; i < n; i++) out[i] = BigInt(col.values[i]);
        return out;
      }
      const out = new Array<bigint | null>(n);
      for (let i = 0; i < n; i++) out[i] = nulls[i] ? null : BigInt(col.values[i]);
      return out;
    }
    case "bool": {
      const out = new Array<boolean | null>(n);
      for (let i = 0; i < n; i++) out[i] = nulls && nulls[i] ? null : col.values[i] === 1;
      return out;
    }
    case "str":
      return stringValues(col, n);
  }
}

const decoder = new TextDecoder();

/**
 * hyparquet-writer handles a column of repeated JS strings about 2.5x faster than the same values
 * as byte views (string-keyed dictionary and cheap equality in statistics), and a column of
 * distinct values about 1.7x faster as byte views (no UTF-8 round trip). Most of our string
 * columns are runs of one value (symbol, regime, signal), so: count runs, decode once per run when
 * runs are few, else hand over the views.
 */
function stringValues(col: StrColumn, n: number): (string | Uint8Array | null)[] {
  const { bytes, offsets, nulls } = col;
  let runs = 0;
  for (let i = 0; i < n; i++) if (i === 0 || !sameValue(col, i - 1, i)) runs++;
  const out = new Array<string | Uint8Array | null>(n);
  if (runs * 4 > n) {
    for (let i = 0; i < n; i++) out[i] = nulls && nulls[i] ? null : bytes.subarray(offsets[i], offsets[i + 1]);
    return out;
  }
  let current: string | null = null;
  for (let i = 0; i < n; i++) {
    if (nulls && nulls[i]) current = null;
    else if (i === 0 || current === null || !sameValue(col, i - 1, i)) {
      current = decoder.decode(bytes.subarray(offsets[i], offsets[i + 1]));
    }
    out[i] = current;
  }
  return out;
}

function sameValue(col: StrColumn, a: number, b: number): boolean {
  const { bytes, offsets, nulls } = col;
  if (nulls && (nulls[a] || nulls[b])) return nulls[a] === nulls[b];
  const sa = offsets[a];
  const len = offsets[a + 1] - sa;
  const sb = offsets[b];
  if (offsets[b + 1] - sb !== len) return false;
  for (let k = 0; k < len; k++) if (bytes[sa + k] !== bytes[sb + k]) return false;
  return true;
}
