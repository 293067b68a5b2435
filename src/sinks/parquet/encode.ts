/**
 * Rows → Parquet bytes, with the explicit schema of the kind (core/rows.ts schemaOf; never inferred
 * from data).
 *
 * harvestd's own encoder, written for the handful of column types it stores: it reads the batch's
 * typed arrays directly (no boxing of values, no BigInt), so encoding costs little more than zstd.
 * Per column type:
 * - `ts` and `*_id` INT64: DELTA_BINARY_PACKED (consecutive ids compress to almost nothing);
 *   other INT64: PLAIN.
 * - DOUBLE: PLAIN. Market values come from a small set (prices on the tick grid, quantities on the
 *   lot grid, their differences), so whole 8-byte values repeat and zstd matches them; splitting the
 *   bytes by rank (BYTE_STREAM_SPLIT, used before 2026-12-06) scattered those repeats and made the
 *   pages of real traffic 1.1–3× larger (docs/storage.md "Doubles: PLAIN, not byte-stream-split").
 * - BYTE_ARRAY: a dictionary (RLE_DICTIONARY) while it stays small, else PLAIN.
 * - BOOLEAN: PLAIN (bit-packed).
 * - nullable columns: RLE definition levels.
 * Data pages are v1, compressed with zstd; statistics (min/max/null count) per column chunk so
 * readers can prune by time. Format:
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 *
 * Pages are encoded as rows arrive (`ParquetFileBuilder.addRows`): the writer worker encodes each
 * chunk sent ahead of its batch into the number and bool columns' pages at once and keeps only the
 * compressed pages, so a batch's raw rows never exist whole in the worker (the rotation spike of
 * docs/storage.md). Every page of these columns is self-contained (levels, DELTA_BINARY_PACKED,
 * PLAIN doubles, bit-packed bools), so a column chunk is just its pages back to back. String
 * columns wait for the batch (their bytes travel with it) and get one dictionary and one data page
 * per row group. Rows given in one `addRows` call share pages: a whole batch (compaction) gets one
 * page per column per row group.
 *
 * This module builds a file from its parts: pages.ts (shared page machinery and zstd), value-pages.ts
 * (number and bool pages), string-pages.ts (string column chunks), footer.ts (FileMetaData).
 *
 * Synchronous and CPU-bound: only ever called inside the writer worker (and by compaction, which runs
 * there too), never on the ingest thread.
 */
import { PRICE_ROW_ID_BYTES, writePriceRowId } from "../../core/row-id.ts";
import { schemaOf, type ColumnDef, type SinkKind } from "../../core/rows.ts";
import { isStringColumn, type ColumnBatch, type RowChunk, type StrColumn } from "./columns.ts";
import { chunkColumn, copyNullFlags, stringColumn } from "./column-readers.ts";
import type { PageSpool } from "./page-spool.ts";
import { releaseBuffer } from "../../util/release.ts";
import { ColumnChunkPages, scratch } from "./pages.ts";
import { encodeValuePage } from "./value-pages.ts";
import { encodeConstantString, encodeStrings } from "./string-pages.ts";
import { writeFileMetaData, type ChunkMeta, type RowGroupMeta } from "./footer.ts";

export const DEFAULT_ROW_GROUP_SIZE = 100_000;

export interface EncodeOptions {
  /** Rows per row group; 100k keeps statistics useful for pruning and pages in the MB range. */
  readonly rowGroupSize?: number;
  /** FileMetaData.created_by, e.g. `harvestd 0.1.0`. */
  readonly createdBy?: string;
  /** zstd level; DEFAULT_ZSTD_LEVEL when absent. */
  readonly zstdLevel?: number;
}

/**
 * The values of a computed string column (ColumnDef.computed: `row_id`, core/row-id.ts), derived
 * from the rows as they arrive, before their chunks go: the ingest thread never makes them.
 */
class ComputedStrings {
  private bytes = new Uint8Array(0);
  private rows = 0;

  constructor(
    private readonly kind: SinkKind,
    private readonly symbol: string,
    /** Schema index of `agg_trade_id`, the column row_id is computed from. */
    private readonly from: number,
  ) {}

  /** Derives the values of the next `n` rows of `chunks`. */
  add(chunks: readonly RowChunk[], n: number): void {
    const need = (this.rows + n) * PRICE_ROW_ID_BYTES;
    if (this.bytes.length < need) {
      const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
      next.set(this.bytes.subarray(0, this.rows * PRICE_ROW_ID_BYTES));
      releaseBuffer(this.bytes);
      this.bytes = next;
    }
    const ids = chunkColumn(this.kind, chunks, this.from, 0, n, scratch.columns).values;
    for (let i = 0; i < n; i++) writePriceRowId(this.symbol, ids[i]!, this.bytes, (this.rows + i) * PRICE_ROW_ID_BYTES);
    this.rows += n;
  }

  /** Rows [r0, r1) as a string column. */
  column(name: string, r0: number, r1: number): StrColumn {
    const offsets = new Uint32Array(r1 - r0 + 1);
    for (let i = 0; i <= r1 - r0; i++) offsets[i] = (r0 + i) * PRICE_ROW_ID_BYTES;
    return { name, type: "str", bytes: this.bytes, offsets, nulls: null };
  }

  release(): void {
    releaseBuffer(this.bytes);
  }
}

interface RowGroupPages {
  rows: number;
  readonly columns: ColumnChunkPages[];
}

/**
 * One Parquet file built as its rows arrive: `addRows` encodes the number and bool columns of those
 * rows into pages at once; `finish` adds the batch's own rows and its strings and returns the file.
 */
export class ParquetFileBuilder {
  private readonly defs: readonly ColumnDef[];
  private readonly groupSize: number;
  private readonly groups: RowGroupPages[] = [];
  private rowCount = 0;
  /** Per nullable string column (by schema index): null flags of the rows so far. */
  private readonly stringNulls = new Map<number, Uint8Array>();
  /** Per computed column (by schema index): its values so far. */
  private readonly computed = new Map<number, ComputedStrings>();

  constructor(
    readonly kind: SinkKind,
    /** The file's symbol: the `symbol` column, and what `row_id` is computed from. */
    readonly symbol: string,
    private readonly opts: EncodeOptions = {},
    /** Where the pages of rows added before `finish` wait (page-spool.ts); null: in memory. */
    private readonly spool: PageSpool | null = null,
  ) {
    const defs = schemaOf(kind);
    if (!defs) throw new Error(`unknown kind ${kind}`);
    this.defs = defs;
    this.groupSize = Math.max(1, opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
    defs.forEach((def, c) => {
      if (def.type === "str" && def.nullable) this.stringNulls.set(c, new Uint8Array(0));
      if (def.computed === true) {
        // row_id is the only computed column (core/row-id.ts).
        const from = defs.findIndex((d) => d.name === "agg_trade_id");
        if (def.name !== "row_id" || from < 0) throw new Error(`${kind}.${def.name}: no rule computes it`);
        this.computed.set(c, new ComputedStrings(kind, symbol, from));
      }
    });
  }

  /** Rows added so far. */
  get rows(): number {
    return this.rowCount;
  }

  /** Encodes `chunks` (consecutive rows, after those added before) into pages; the chunks can go. */
  addRows(chunks: readonly RowChunk[]): void {
    let n = 0;
    for (const ch of chunks) n += ch.rows;
    this.keepStringNulls(chunks, n);
    for (const values of this.computed.values()) values.add(chunks, n);
    for (let p0 = 0; p0 < n; ) {
      const inGroup = this.rowCount % this.groupSize;
      const p1 = Math.min(n, p0 + this.groupSize - inGroup);
      this.encodePiece(chunks, p0, p1);
      p0 = p1;
    }
  }

  /**
   * Adds the batch's own chunks (the rows after those sent ahead), encodes its strings and returns
   * the file as consecutive pieces (written with one writev, never joined in memory). The builder is
   * spent.
   */
  finish(batch: ColumnBatch): Uint8Array[] {
    if (batch.kind !== this.kind || batch.symbol !== this.symbol) throw new Error(`a ${batch.kind} batch of ${batch.symbol} given to a ${this.kind} file of ${this.symbol}`);
    this.addRows(batch.chunks);
    if (this.rowCount !== batch.rows) throw new Error(`${batch.kind} batch of ${batch.rows} rows, ${this.rowCount} arrived (rows sent ahead missing)`);
    // An empty batch still makes a valid file: one empty row group.
    if (this.groups.length === 0) this.encodePiece([], 0, 0);
    this.defs.forEach((def, c) => {
      if (def.type !== "str") return;
      const flags = this.stringNulls.get(c) ?? null;
      this.groups.forEach((g, i) => {
        const r0 = i * this.groupSize;
        const r1 = r0 + g.rows;
        // A batch is one symbol's: its column is that one value, not a copy of it per row.
        const computed = this.computed.get(c);
        if (def.name === "symbol" && !def.nullable) encodeConstantString(g.columns[c]!, utf8.encode(batch.symbol), g.rows, this.opts.zstdLevel);
        else if (computed !== undefined) encodeStrings(g.columns[c]!, computed.column(def.name, r0, r1), this.opts.zstdLevel);
        else encodeStrings(g.columns[c]!, stringColumn(batch, c, r0, r1, flags === null ? null : flags.subarray(r0, r1)), this.opts.zstdLevel);
      });
    });
    for (const values of this.computed.values()) values.release();
    return this.assemble(batch);
  }

  /** The string columns' null flags of the new rows (their values come later, with the batch). */
  private keepStringNulls(chunks: readonly RowChunk[], n: number): void {
    for (const [c, flags] of this.stringNulls) {
      let out = flags;
      if (out.length < this.rowCount + n) {
        out = new Uint8Array(Math.max(this.rowCount + n, out.length * 2));
        out.set(flags.subarray(0, this.rowCount));
        this.stringNulls.set(c, out);
      }
      copyNullFlags(this.kind, chunks, c, 0, n, out, this.rowCount);
    }
  }

  /** Rows [p0, p1) of `chunks`, all within one row group: one page per number and bool column. */
  private encodePiece(chunks: readonly RowChunk[], p0: number, p1: number): void {
    const g = Math.floor(this.rowCount / this.groupSize);
    let group = this.groups[g];
    // String columns are encoded by `finish` and written right after: nothing to spool.
    if (group === undefined) this.groups.push((group = { rows: 0, columns: this.defs.map((def, c) => new ColumnChunkPages(def, isStringColumn(this.kind, c) ? null : this.spool)) }));
    for (let c = 0; c < this.defs.length; c++) {
      if (isStringColumn(this.kind, c)) continue;
      encodeValuePage(group.columns[c]!, chunkColumn(this.kind, chunks, c, p0, p1, scratch.columns), p1 - p0, this.opts.zstdLevel);
    }
    group.rows += p1 - p0;
    this.rowCount += p1 - p0;
  }

  /** The file as consecutive pieces: magic, every column chunk's pages in order, footer, magic. */
  private assemble(batch: ColumnBatch): Uint8Array[] {
    const footer = scratch.footer;
    footer.reset();
    const metas: RowGroupMeta[] = [];
    const parts: Uint8Array[] = [MAGIC];
    // Spooled pages come back into one array for the whole file, each column chunk's as one piece.
    let spooled = 0;
    for (const g of this.groups) for (const ch of g.columns) for (const d of ch.data) if (typeof d === "number") spooled += this.spool!.length(d);
    const back = new Uint8Array(spooled);
    let backAt = 0;
    let at = MAGIC.length;
    for (const g of this.groups) {
      const offset = at;
      const chunks = g.columns.map((ch): ChunkMeta => {
        const dictionaryPageOffset = ch.dictionary === null ? null : at;
        const dataPageOffset = at + (ch.dictionary?.length ?? 0);
        at += ch.compressed;
        if (ch.dictionary !== null) parts.push(ch.dictionary);
        let run = backAt;
        ch.data.forEach((d, i) => {
          if (typeof d !== "number") {
            if (backAt > run) parts.push(back.subarray(run, (run = backAt)));
            parts.push(d);
            return;
          }
          const n = this.spool!.length(d);
          this.spool!.read(d, back, backAt);
          this.spool!.free(d);
          // Read and freed: a later `discard` must not free it again.
          ch.data[i] = back.subarray(backAt, (backAt += n));
        });
        if (backAt > run) parts.push(back.subarray(run, backAt));
        return { pages: ch, dataPageOffset, dictionaryPageOffset };
      });
      metas.push({ rows: g.rows, offset, chunks });
    }
    writeFileMetaData(footer, batch, this.defs, metas, this.opts.createdBy ?? "harvestd");
    footer.int32LE(footer.pos);
    footer.append(MAGIC);
    parts.push(footer.written().slice());
    return parts;
  }

  /** Frees the pages still in the spool of a file that will not be finished. The builder is spent. */
  discard(): void {
    for (const g of this.groups) for (const ch of g.columns) for (const d of ch.data) if (typeof d === "number") this.spool!.free(d);
    this.groups.length = 0;
    for (const values of this.computed.values()) values.release();
  }
}

/** Pieces of a file as one array. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(partsLength(parts));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Frees a file's pieces (from `finish`) once written; the shared magic bytes stay. */
export function releaseParts(parts: readonly Uint8Array[]): void {
  for (const p of parts) if (p !== MAGIC) releaseBuffer(p);
}

/** Bytes in pieces of a file. */
export function partsLength(parts: readonly Uint8Array[]): number {
  let size = 0;
  for (const p of parts) size += p.length;
  return size;
}

/** A whole batch as one file (compaction, tests, benchmarks): one page per column per row group. */
export function encodeBatch(batch: ColumnBatch, opts: EncodeOptions = {}): Uint8Array {
  if (batch.sentRows !== 0) throw new Error(`batch of ${batch.kind} lacks the ${batch.sentRows} rows sent ahead of it`);
  return joinParts(new ParquetFileBuilder(batch.kind, batch.symbol, opts).finish(batch));
}

export const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

const utf8 = new TextEncoder();
