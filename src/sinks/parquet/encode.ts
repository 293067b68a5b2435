/**
 * ColumnBatch → Parquet bytes, with the explicit schema of the kind (core/rows.ts schemaOf; never inferred from data).
 *
 * harvestd's own encoder, written for the handful of column types it stores: it reads the batch's
 * typed arrays directly (no boxing of values, no BigInt), so encoding costs little more than zstd.
 * Per column type:
 * - `ts` and `*_id` INT64: DELTA_BINARY_PACKED (consecutive ids compress to almost nothing);
 *   other INT64: PLAIN.
 * - DOUBLE: BYTE_STREAM_SPLIT (the bytes of equal rank together, so zstd sees the repetitive
 *   sign/exponent/high-mantissa bytes as runs).
 * - BYTE_ARRAY: a dictionary (RLE_DICTIONARY) while it stays small, else PLAIN.
 * - BOOLEAN: PLAIN (bit-packed).
 * - nullable columns: RLE definition levels.
 * Data pages are v1, compressed with zstd; one data page per column per row group; statistics
 * (min/max/null count) per column chunk so readers can prune by time. Format:
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 *
 * Synchronous and CPU-bound: only ever called inside the writer worker (and by compaction, which runs
 * there too), never on the ingest thread.
 */
import { schemaOf, type ColumnDef } from "../../core/rows.ts";
import { batchColumn, ColumnScratch, type BatchColumn, type ColumnBatch, type StrColumn } from "./columns.ts";
import { ByteBuffer, float64Bytes, int64Bytes } from "./format/bytes.ts";
import { bitWidth, encodeDeltaBinaryPacked, encodeHybrid } from "./format/bit-pack.ts";
import { CompactWriter, T_BINARY, T_I32, T_STRUCT } from "./format/thrift.ts";

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

// parquet.thrift enums
const TYPE = { BOOLEAN: 0, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const ENC = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8, BYTE_STREAM_SPLIT: 9 } as const;
const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
const CODEC_ZSTD = 6;
const REQUIRED = 0;
const OPTIONAL = 1;
const CONVERTED_UTF8 = 0;
const CONVERTED_TIMESTAMP_MILLIS = 9;

/** Values whose differences stay exact in delta arithmetic (see encodeDeltaBinaryPacked). */
const DELTA_LIMIT = 2 ** 50;
/** A string dictionary larger than this is abandoned for PLAIN (distinct ids, free text). */
const MAX_DICTIONARY = 1024;

const physicalType = (def: ColumnDef): number =>
  def.type === "f64" ? TYPE.DOUBLE : def.type === "bool" ? TYPE.BOOLEAN : def.type === "str" ? TYPE.BYTE_ARRAY : TYPE.INT64;

const wantsDelta = (def: ColumnDef): boolean => def.type === "ts" || (def.type === "i64" && def.name.endsWith("_id"));

/** Metadata of one written column chunk, for the footer. */
interface ChunkMeta {
  readonly def: ColumnDef;
  readonly encodings: readonly number[];
  readonly numValues: number;
  readonly uncompressed: number;
  readonly compressed: number;
  readonly dataPageOffset: number;
  readonly dictionaryPageOffset: number | null;
  readonly nullCount: number;
  readonly min: Uint8Array | null;
  readonly max: Uint8Array | null;
}

interface RowGroupMeta {
  readonly rows: number;
  readonly offset: number;
  readonly chunks: readonly ChunkMeta[];
}

/**
 * Scratch space of the encoder, shared by every file it encodes (encoding is synchronous, so one set
 * serves the thread): a writer that encodes hundreds of files a minute allocates only their output.
 */
const scratch = {
  columns: new ColumnScratch(),
  page: new ByteBuffer(1 << 16),
  header: new ByteBuffer(256),
  levels: new Uint8Array(0),
  gathered: new Float64Array(0),
  indices: new Int32Array(0),
};

/** One file being encoded: the pieces written so far, and the shared scratch. */
class FileEncoder {
  private readonly parts: Uint8Array[] = [];
  private offset = 0;
  readonly page = scratch.page;
  readonly header = scratch.header;

  constructor(private readonly zstdLevel: number | undefined) {}

  get position(): number {
    return this.offset;
  }

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.offset += bytes.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.offset);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }

  compress(b: Uint8Array): Uint8Array {
    return Bun.zstdCompressSync(b, this.zstdLevel === undefined ? undefined : { level: this.zstdLevel });
  }

  levelScratch(n: number): Uint8Array {
    if (scratch.levels.length < n) scratch.levels = new Uint8Array(n);
    return scratch.levels;
  }

  gatherScratch(n: number): Float64Array {
    if (scratch.gathered.length < n) scratch.gathered = new Float64Array(n);
    return scratch.gathered;
  }

  indexScratch(n: number): Int32Array {
    if (scratch.indices.length < n) scratch.indices = new Int32Array(n);
    return scratch.indices;
  }

  /**
   * Compresses `this.page` and writes header + body. Returns [offset, header+uncompressed, header+compressed].
   */
  writePage(type: number, numValues: number, encoding: number): [number, number, number] {
    const body = this.page.written();
    const compressed = this.compress(body);
    const h = this.header;
    h.reset();
    const w = new CompactWriter(h);
    w.i32(1, type).i32(2, body.length).i32(3, compressed.length);
    if (type === PAGE.DATA) {
      w.struct(5).i32(1, numValues).i32(2, encoding).i32(3, ENC.RLE).i32(4, ENC.RLE).end();
    } else {
      w.struct(7).i32(1, numValues).i32(2, encoding).end();
    }
    h.byte(0);
    const at = this.offset;
    this.push(h.written().slice());
    this.push(compressed);
    return [at, h.pos + body.length, h.pos + compressed.length];
  }
}

export function encodeBatch(batch: ColumnBatch, opts: EncodeOptions = {}): Uint8Array {
  const defs = schemaOf(batch.kind);
  if (!defs) throw new Error(`unknown kind ${batch.kind}`);
  if (batch.sentRows !== 0) throw new Error(`batch of ${batch.kind} lacks the ${batch.sentRows} rows sent ahead of it`);
  const groupSize = Math.max(1, opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
  const enc = new FileEncoder(opts.zstdLevel);
  enc.push(MAGIC);
  const groups: RowGroupMeta[] = [];
  for (let r0 = 0; r0 < batch.rows || (r0 === 0 && batch.rows === 0); r0 += groupSize) {
    const r1 = Math.min(batch.rows, r0 + groupSize);
    const offset = enc.position;
    const chunks = defs.map((def, c) => encodeChunk(enc, def, batchColumn(batch, c, r0, r1, scratch.columns), 0, r1 - r0));
    groups.push({ rows: r1 - r0, offset, chunks });
    if (batch.rows === 0) break;
  }
  const footer = new ByteBuffer(4096);
  writeFileMetaData(footer, batch, defs, groups, opts.createdBy ?? "harvestd");
  enc.push(footer.written());
  const tail = new ByteBuffer(8);
  tail.int32LE(footer.pos);
  tail.append(MAGIC);
  enc.push(tail.written());
  return enc.bytes();
}

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

/** Definition levels (1 = present) of rows [r0, r1) into the page, length-prefixed; returns null count. */
function writeLevels(enc: FileEncoder, nulls: Uint8Array, r0: number, r1: number): number {
  const n = r1 - r0;
  const levels = enc.levelScratch(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const isNull = nulls[r0 + i];
    levels[i] = isNull ^ 1;
    nullCount += isNull;
  }
  const page = enc.page;
  const at = page.pos;
  page.ensure(4);
  page.pos += 4;
  encodeHybrid(page, levels, n, 1);
  new DataView(page.bytes.buffer).setInt32(at, page.pos - at - 4, true);
  return nullCount;
}

function encodeChunk(enc: FileEncoder, def: ColumnDef, col: BatchColumn, r0: number, r1: number): ChunkMeta {
  const n = r1 - r0;
  const page = enc.page;
  page.reset();
  const nulls = def.nullable ? (col.nulls ?? new Uint8Array(r1)) : null;
  const nullCount = nulls ? writeLevels(enc, nulls, r0, r1) : 0;
  const present = n - nullCount;

  if (col.type === "str") return encodeStrings(enc, def, col, nulls, r0, r1, nullCount);

  let encoding: number = ENC.PLAIN;
  let min: Uint8Array | null = null;
  let max: Uint8Array | null = null;
  if (col.type === "bool") {
    const vals = col.values;
    page.ensure((present >> 3) + 1);
    let acc = 0;
    let bits = 0;
    let lo = 1;
    let hi = 0;
    for (let i = r0; i < r1; i++) {
      if (nulls !== null && nulls[i]) continue;
      const v = vals[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      acc |= v << bits;
      if (++bits === 8) {
        page.bytes[page.pos++] = acc;
        acc = 0;
        bits = 0;
      }
    }
    if (bits > 0) page.bytes[page.pos++] = acc;
    if (present > 0) {
      min = Uint8Array.of(lo);
      max = Uint8Array.of(hi);
    }
  } else {
    // Numbers: gather the present values, then encode them.
    const src = col.values;
    let vals: Float64Array;
    if (nulls === null) vals = src.subarray(r0, r1);
    else {
      vals = enc.gatherScratch(present);
      for (let i = r0, k = 0; i < r1; i++) if (!nulls[i]) vals[k++] = src[i];
      vals = vals.subarray(0, present);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < present; i++) {
      const v = vals[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (col.type === "f64") {
      encoding = ENC.BYTE_STREAM_SPLIT;
      writeByteStreamSplit(page, vals);
      // NaN never compares, so lo/hi already skip it; signed zeros as the spec asks.
      if (lo <= hi) {
        min = float64Bytes(lo === 0 ? -0 : lo);
        max = float64Bytes(hi === 0 ? 0 : hi);
      }
    } else {
      if (wantsDelta(def) && present > 0 && lo > -DELTA_LIMIT && hi < DELTA_LIMIT) {
        encoding = ENC.DELTA_BINARY_PACKED;
        encodeDeltaBinaryPacked(page, vals, present);
      } else {
        page.ensure(present * 8);
        for (let i = 0; i < present; i++) page.int64LE(vals[i]);
      }
      if (present > 0) {
        min = int64Bytes(lo);
        max = int64Bytes(hi);
      }
    }
  }
  const [at, uncompressed, compressed] = enc.writePage(PAGE.DATA, n, encoding);
  return {
    def,
    encodings: nulls ? [ENC.RLE, encoding] : [encoding],
    numValues: n,
    uncompressed,
    compressed,
    dataPageOffset: at,
    dictionaryPageOffset: null,
    nullCount,
    min,
    max,
  };
}

function writeByteStreamSplit(page: ByteBuffer, vals: Float64Array): void {
  const n = vals.length;
  page.ensure(n * 8);
  const src = new Uint8Array(vals.buffer, vals.byteOffset, n * 8);
  const out = page.bytes;
  const base = page.pos;
  for (let k = 0; k < 8; k++) {
    const o = base + k * n;
    for (let i = 0, s = k; i < n; i++, s += 8) out[o + i] = src[s];
  }
  page.pos = base + n * 8;
}

const decoder = new TextDecoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function encodeStrings(
  enc: FileEncoder,
  def: ColumnDef,
  col: StrColumn,
  nulls: Uint8Array | null,
  r0: number,
  r1: number,
  nullCount: number,
): ChunkMeta {
  const { bytes, offsets } = col;
  const n = r1 - r0;
  const present = n - nullCount;
  const page = enc.page;
  const levelsEnd = page.pos;

  // Try a dictionary: consecutive equal values (the common case: symbol, regime, signal) cost one
  // byte comparison each; a new value costs one map lookup.
  const dict = new Map<string, number>();
  const entries: Uint8Array[] = [];
  const idx = enc.indexScratch(present);
  let k = 0;
  let prevStart = -1;
  let prevEnd = -1;
  let prevIdx = 0;
  for (let i = r0; i < r1 && entries.length <= MAX_DICTIONARY; i++) {
    if (nulls !== null && nulls[i]) continue;
    const s = offsets[i];
    const e = offsets[i + 1];
    if (prevStart >= 0 && e - s === prevEnd - prevStart && sameBytes(bytes, s, prevStart, e - s)) {
      idx[k++] = prevIdx;
      continue;
    }
    const key = decoder.decode(bytes.subarray(s, e));
    let id = dict.get(key);
    if (id === undefined) {
      id = entries.length;
      dict.set(key, id);
      entries.push(bytes.subarray(s, e));
    }
    idx[k++] = id;
    prevStart = s;
    prevEnd = e;
    prevIdx = id;
  }

  let min: Uint8Array | null = null;
  let max: Uint8Array | null = null;
  if (entries.length <= MAX_DICTIONARY) {
    for (const v of entries) {
      if (min === null || compareBytes(v, min) < 0) min = v;
      if (max === null || compareBytes(v, max) > 0) max = v;
    }
    // The dictionary page comes first in the chunk; the levels already in `page` are kept aside.
    const levels = page.written().slice(0, levelsEnd);
    page.reset();
    for (const v of entries) {
      page.int32LE(v.length);
      page.append(v);
    }
    const [dictAt, dictU, dictC] = enc.writePage(PAGE.DICTIONARY, entries.length, ENC.PLAIN);
    page.reset();
    page.append(levels);
    const width = Math.max(1, bitWidth(Math.max(0, entries.length - 1)));
    page.byte(width);
    encodeHybrid(page, idx, present, width);
    const [at, u, c] = enc.writePage(PAGE.DATA, n, ENC.RLE_DICTIONARY);
    return {
      def,
      encodings: [ENC.PLAIN, ENC.RLE, ENC.RLE_DICTIONARY],
      numValues: n,
      uncompressed: dictU + u,
      compressed: dictC + c,
      dataPageOffset: at,
      dictionaryPageOffset: dictAt,
      nullCount,
      min: min ? min.slice() : null,
      max: max ? max.slice() : null,
    };
  }

  page.pos = levelsEnd;
  for (let i = r0; i < r1; i++) {
    if (nulls !== null && nulls[i]) continue;
    const v = bytes.subarray(offsets[i], offsets[i + 1]);
    if (min === null || compareBytes(v, min) < 0) min = v;
    if (max === null || compareBytes(v, max) > 0) max = v;
    page.int32LE(v.length);
    page.append(v);
  }
  const [at, u, c] = enc.writePage(PAGE.DATA, n, ENC.PLAIN);
  return {
    def,
    encodings: nulls ? [ENC.RLE, ENC.PLAIN] : [ENC.PLAIN],
    numValues: n,
    uncompressed: u,
    compressed: c,
    dataPageOffset: at,
    dictionaryPageOffset: null,
    nullCount,
    min: min ? min.slice() : null,
    max: max ? max.slice() : null,
  };
}

function sameBytes(b: Uint8Array, a0: number, b0: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[a0 + i] !== b[b0 + i]) return false;
  return true;
}

// ---- footer ---------------------------------------------------------------------------------------

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

function writeFileMetaData(
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
    for (const ch of g.chunks) {
      totalU += ch.uncompressed;
      totalC += ch.compressed;
      const start = ch.dictionaryPageOffset ?? ch.dataPageOffset;
      w.element().i64(2, start).struct(3);
      w.i32(1, physicalType(ch.def));
      w.list(2, T_I32, ch.encodings.length);
      for (const e of ch.encodings) w.i32Element(e);
      w.list(3, T_BINARY, 1).stringElement(ch.def.name);
      w.i32(4, CODEC_ZSTD).i64(5, ch.numValues).i64(6, ch.uncompressed).i64(7, ch.compressed);
      w.i64(9, ch.dataPageOffset);
      if (ch.dictionaryPageOffset !== null) w.i64(11, ch.dictionaryPageOffset);
      w.struct(12).i64(3, ch.nullCount);
      if (ch.max && ch.min) w.binary(5, ch.max).binary(6, ch.min);
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
