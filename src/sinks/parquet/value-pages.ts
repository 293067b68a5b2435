/**
 * Data pages of number and bool columns, one per call, as rows arrive: `ts` and `*_id` INT64
 * DELTA_BINARY_PACKED, other INT64 and DOUBLE PLAIN, BOOLEAN bit-packed, nulls as RLE definition
 * levels. Each page is self-contained, so a column chunk is its pages back to back.
 */
import type { ColumnDef } from "../../core/rows.ts";
import type { BoolColumn, NumberColumn } from "./columns.ts";
import { encodeDeltaBinaryPacked } from "./format/bit-pack.ts";
import { ENC, PAGE, finishPage, gatherScratch, scratch, writeLevels, type ColumnChunkPages } from "./pages.ts";

/** Values whose differences stay exact in delta arithmetic (see encodeDeltaBinaryPacked). */
const DELTA_LIMIT = 2 ** 50;

const wantsDelta = (def: ColumnDef): boolean => def.type === "ts" || (def.type === "i64" && def.name.endsWith("_id"));

/** One data page of a number or bool column (its n rows), added to `into` with its statistics. */
export function encodeValuePage(into: ColumnChunkPages, col: NumberColumn | BoolColumn, n: number, zstdLevel: number | undefined): void {
  const def = into.def;
  const page = scratch.page;
  page.reset();
  const nulls = def.nullable ? (col.nulls ?? new Uint8Array(n)) : null;
  const nullCount = nulls ? writeLevels(page, nulls, n) : 0;
  const present = n - nullCount;
  let encoding: number = ENC.PLAIN;
  let lo = into.lo;
  let hi = into.hi;
  if (col.type === "bool") {
    const vals = col.values;
    page.ensure((present >> 3) + 1);
    let acc = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if (nulls !== null && nulls[i]) continue;
      const v = vals[i]!;
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
  } else {
    // Numbers: gather the present values, then encode them.
    const src = col.values;
    let vals: Float64Array;
    if (nulls === null) vals = src.subarray(0, n);
    else {
      vals = gatherScratch(present);
      for (let i = 0, k = 0; i < n; i++) if (!nulls[i]) vals[k++] = src[i]!;
      vals = vals.subarray(0, present);
    }
    let pageLo = Infinity;
    let pageHi = -Infinity;
    for (let i = 0; i < present; i++) {
      const v = vals[i]!;
      if (v < pageLo) pageLo = v;
      if (v > pageHi) pageHi = v;
    }
    if (pageLo < lo) lo = pageLo;
    if (pageHi > hi) hi = pageHi;
    if (col.type === "f64") {
      page.ensure(present * 8);
      page.bytes.set(new Uint8Array(vals.buffer, vals.byteOffset, present * 8), page.pos);
      page.pos += present * 8;
    } else if (wantsDelta(def) && present > 0 && pageLo > -DELTA_LIMIT && pageHi < DELTA_LIMIT) {
      encoding = ENC.DELTA_BINARY_PACKED;
      encodeDeltaBinaryPacked(page, vals, present);
    } else {
      page.ensure(present * 8);
      for (let i = 0; i < present; i++) page.int64LE(vals[i]!);
    }
  }
  into.lo = lo;
  into.hi = hi;
  into.nullCount += nullCount;
  into.numValues += n;
  if (nulls) into.useEncoding(ENC.RLE);
  into.useEncoding(encoding);
  finishPage(into, PAGE.DATA, n, encoding, zstdLevel);
}
