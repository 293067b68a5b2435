/**
 * A Parquet file's footer (FileMetaData, Thrift compact protocol): the schema from the kind's
 * explicit column list, each row group's column chunks with their offsets, encodings and
 * statistics, and harvestd's key-value metadata (kind, schema version, symbol).
 */
import { noFTL } from "bun:jsc";
import type { ColumnDef } from "../../core/rows.ts";
import type { ColumnBatch } from "./columns.ts";
import type { ByteBuffer } from "./format/bytes.ts";
import { CompactWriter, T_BINARY, T_I32, T_STRUCT } from "./format/thrift.ts";
import { CODEC_ZSTD, CONVERTED_TIMESTAMP_MILLIS, CONVERTED_UTF8, OPTIONAL, REQUIRED, physicalType, type ColumnChunkPages } from "./pages.ts";

/**
 * Bumped whenever a column list in SCHEMAS changes in a way a reader must know about. Written to
 * every file's key-value metadata as `harvestd.schema_version`.
 */
export const SCHEMA_VERSION = "1";

/** Where one column chunk landed in the file, for the footer. */
export interface ChunkMeta {
  readonly pages: ColumnChunkPages;
  readonly dataPageOffset: number;
  readonly dictionaryPageOffset: number | null;
}

export interface RowGroupMeta {
  readonly rows: number;
  readonly offset: number;
  readonly chunks: readonly ChunkMeta[];
}

function writeSchemaElement(w: CompactWriter, def: ColumnDef): void {
  w.element().i32(1, physicalType(def)).i32(3, def.nullable ? OPTIONAL : REQUIRED).string(4, def.name);
  if (def.type === "ts") {
    // logical_type makes DuckDB read TIMESTAMP WITH TIME ZONE and Arrow timestamp[ms, tz=UTC]; the
    // legacy converted_type (which implies UTC) is kept for readers that predate logical types.
    w.i32(6, CONVERTED_TIMESTAMP_MILLIS);
    w.struct(10).struct(8).bool(1, true).struct(2).struct(1).end().end().end().end();
  } else if (def.type === "str") {
    w.i32(6, CONVERTED_UTF8);
    w.struct(10).struct(1).end().end();
  }
  w.end();
}

export function writeFileMetaData(
  out: ByteBuffer,
  batch: ColumnBatch,
  defs: readonly ColumnDef[],
  groups: readonly RowGroupMeta[],
  createdBy: string,
): void {
  const w = new CompactWriter(out);
  w.i32(1, 2);
  w.list(2, T_STRUCT, defs.length + 1);
  w.element().string(4, "root").i32(5, defs.length).end();
  for (const def of defs) writeSchemaElement(w, def);
  w.i64(3, batch.rows);
  w.list(4, T_STRUCT, groups.length);
  for (const g of groups) {
    w.element();
    w.list(1, T_STRUCT, g.chunks.length);
    let totalU = 0;
    let totalC = 0;
    for (const { pages: ch, dataPageOffset, dictionaryPageOffset } of g.chunks) {
      totalU += ch.uncompressed;
      totalC += ch.compressed;
      const start = dictionaryPageOffset ?? dataPageOffset;
      w.element().i64(2, start).struct(3);
      w.i32(1, physicalType(ch.def));
      w.list(2, T_I32, ch.encodings.length);
      for (const e of ch.encodings) w.i32Element(e);
      w.list(3, T_BINARY, 1).stringElement(ch.def.name);
      w.i32(4, CODEC_ZSTD).i64(5, ch.numValues).i64(6, ch.uncompressed).i64(7, ch.compressed);
      w.i64(9, dataPageOffset);
      if (dictionaryPageOffset !== null) w.i64(11, dictionaryPageOffset);
      w.struct(12).i64(3, ch.nullCount);
      const stats = ch.stats();
      if (stats !== null) w.binary(5, stats[1]).binary(6, stats[0]);
      w.end();
      w.end().end();
    }
    w.i64(2, totalU).i64(3, g.rows).i64(5, g.offset).i64(6, totalC);
    w.end();
  }
  w.list(5, T_STRUCT, 3);
  for (const [key, value] of [
    ["harvestd.kind", batch.kind],
    ["harvestd.schema_version", SCHEMA_VERSION],
    ["harvestd.symbol", batch.symbol],
  ]) {
    w.element().string(1, key).string(2, value).end();
  }
  w.string(6, createdBy);
  // Min/max above follow each type's own order (signed numbers, unsigned bytes).
  w.list(7, T_STRUCT, defs.length);
  for (let i = 0; i < defs.length; i++) w.element().struct(1).end().end();
  out.byte(0);
}

// The footer writers run once per file, and JSC's top tier inlines every Thrift call into them: in
// the binary, writeFileMetaData's one FTL compilation took 424–575 ms and 158 KB of code, and RSS
// rose by 50–60 MiB while it ran (once a run, about 5 min in at 50 symbols; docs/storage.md
// "Memory"). The DFG tier below it is fast enough for a few files a second.
noFTL(writeFileMetaData);
noFTL(writeSchemaElement);
