/**
 * String column chunks, encoded once their batch has arrived (their bytes travel with it): a
 * dictionary page and a page of ids while the dictionary stays small, else one PLAIN page; a
 * non-nullable column of one value (`symbol`) as a one-entry dictionary and one run. Nothing is
 * allocated per value.
 */
import type { StrColumn } from "./columns.ts";
import { bitWidth, encodeHybrid } from "./format/bit-pack.ts";
import { ENC, PAGE, finishPage, indexScratch, scratch, writeLevels, type ColumnChunkPages } from "./pages.ts";

/** A string dictionary larger than this is abandoned for PLAIN (distinct ids, free text). */
const MAX_DICTIONARY = 1024;

/** A string column chunk (one row group's rows, all of them): a dictionary and one data page, or one PLAIN page. */
export function encodeStrings(into: ColumnChunkPages, col: StrColumn, zstdLevel: number | undefined): void {
  const def = into.def;
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  const page = scratch.page;
  page.reset();
  const nulls = def.nullable ? (col.nulls ?? new Uint8Array(n)) : null;
  const nullCount = nulls ? writeLevels(page, nulls, n) : 0;
  const present = n - nullCount;
  const levelsEnd = page.pos;
  into.nullCount += nullCount;
  into.numValues += n;
  const idx = indexScratch(present);
  const entries = dictionaryOf(col, nulls, idx);
  const range = rangeScratch;
  range.reset();
  if (entries <= MAX_DICTIONARY) {
    const d = dictScratch();
    for (let j = 0; j < entries; j++) range.consider(bytes, d.start[j]!, d.end[j]!);
    writeDictionaryPages(into, bytes, entries, idx, present, n, levelsEnd, zstdLevel);
  } else {
    page.pos = levelsEnd;
    writePlainValues(col, nulls, range);
    finishPage(into, PAGE.DATA, n, ENC.PLAIN, zstdLevel);
    if (nulls) into.useEncoding(ENC.RLE);
    into.useEncoding(ENC.PLAIN);
  }
  into.minBytes = range.minS < 0 ? null : bytes.slice(range.minS, range.minE);
  into.maxBytes = range.maxS < 0 ? null : bytes.slice(range.maxS, range.maxE);
}

/*
 * encodeStrings is split into the functions below on purpose: as one function (a dictionary
 * loop, a plain loop, a closure and two pages) it was the costliest compilation of JSC's optimising
 * tier in a source run (≈ 370 ms, BUN_JSC_reportFTLCompileTimes=1), and such a compilation holds
 * tens of MiB while it runs. (The memory benchmark's once-a-run outlier was another one, the
 * footer's: see writeFileMetaData.)
 */

/**
 * Dictionary ids of the present values into `idx`; returns the number of distinct values, or more
 * than MAX_DICTIONARY when there are too many (the ids are then incomplete). Consecutive equal
 * values (the common case: symbol, regime, signal) cost one byte comparison each; a new value a
 * hash of its bytes and a probe of an open-addressing table. Nothing is allocated per value: a Map,
 * JS strings or a view per distinct id (row_id) made ≈ 120 KB of garbage per batch, which a
 * rotation's ≈ 350 batches turned into tens of MiB of RSS in the writer (measured in isolation:
 * 300 prices batches, +54 → +17 MiB).
 */
function dictionaryOf(col: StrColumn, nulls: Uint8Array | null, idx: Int32Array): number {
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  const d = dictScratch();
  d.slots.fill(0);
  let entries = 0;
  let k = 0;
  let prevStart = -1;
  let prevEnd = -1;
  let prevIdx = 0;
  for (let i = 0; i < n && entries <= MAX_DICTIONARY; i++) {
    if (nulls !== null && nulls[i]) continue;
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    if (prevStart >= 0 && e - s === prevEnd - prevStart && sameBytes(bytes, s, prevStart, e - s)) {
      idx[k++] = prevIdx;
      continue;
    }
    let slot = hashBytes(bytes, s, e) & DICT_SLOT_MASK;
    let id = -1;
    for (;;) {
      const at = d.slots[slot]!;
      if (at === 0) break;
      const j = at - 1;
      if (d.end[j]! - d.start[j]! === e - s && sameBytes(bytes, s, d.start[j]!, e - s)) {
        id = j;
        break;
      }
      slot = (slot + 1) & DICT_SLOT_MASK;
    }
    if (id < 0) {
      id = entries++;
      d.start[id] = s;
      d.end[id] = e;
      d.slots[slot] = id + 1;
    }
    idx[k++] = id;
    prevStart = s;
    prevEnd = e;
    prevIdx = id;
  }
  return entries;
}

/** The dictionary page (first in the chunk), then the data page of ids; the levels are in the page scratch up to `levelsEnd`. */
function writeDictionaryPages(into: ColumnChunkPages, bytes: Uint8Array, entries: number, idx: Int32Array, present: number, n: number, levelsEnd: number, zstdLevel: number | undefined): void {
  const page = scratch.page;
  const d = dictScratch();
  const levels = page.written().slice(0, levelsEnd);
  page.reset();
  for (let j = 0; j < entries; j++) {
    page.int32LE(d.end[j]! - d.start[j]!);
    page.appendRange(bytes, d.start[j]!, d.end[j]!);
  }
  finishPage(into, PAGE.DICTIONARY, entries, ENC.PLAIN, zstdLevel);
  page.reset();
  page.append(levels);
  const width = Math.max(1, bitWidth(Math.max(0, entries - 1)));
  page.byte(width);
  encodeHybrid(page, idx, present, width);
  finishPage(into, PAGE.DATA, n, ENC.RLE_DICTIONARY, zstdLevel);
  for (const e of [ENC.PLAIN, ENC.RLE, ENC.RLE_DICTIONARY]) into.useEncoding(e);
}

/** The present values, PLAIN, into the page scratch after its levels; each one considered for the statistics. */
function writePlainValues(col: StrColumn, nulls: Uint8Array | null, range: ByteRangeStats): void {
  const page = scratch.page;
  const { bytes, offsets } = col;
  const n = offsets.length - 1;
  for (let i = 0; i < n; i++) {
    if (nulls !== null && nulls[i]) continue;
    const s = offsets[i]!;
    const e = offsets[i + 1]!;
    range.consider(bytes, s, e);
    page.int32LE(e - s);
    page.appendRange(bytes, s, e);
  }
}

/** The values with the smallest and the largest bytes: [start, end) of each, -1 = none yet. */
class ByteRangeStats {
  minS = -1;
  minE = -1;
  maxS = -1;
  maxE = -1;

  reset(): void {
    this.minS = this.minE = this.maxS = this.maxE = -1;
  }

  consider(bytes: Uint8Array, s: number, e: number): void {
    if (this.minS < 0 || compareRanges(bytes, s, e, this.minS, this.minE) < 0) {
      this.minS = s;
      this.minE = e;
    }
    if (this.maxS < 0 || compareRanges(bytes, s, e, this.maxS, this.maxE) > 0) {
      this.maxS = s;
      this.maxE = e;
    }
  }
}
const rangeScratch = new ByteRangeStats();

/** A non-nullable string column holding `value` on all n rows: a one-entry dictionary and one run. */
export function encodeConstantString(into: ColumnChunkPages, value: Uint8Array, n: number, zstdLevel: number | undefined): void {
  const page = scratch.page;
  page.reset();
  page.int32LE(value.length);
  page.append(value);
  finishPage(into, PAGE.DICTIONARY, 1, ENC.PLAIN, zstdLevel);
  page.reset();
  page.byte(1);
  encodeHybrid(page, indexScratch(n).fill(0, 0, n), n, 1);
  finishPage(into, PAGE.DATA, n, ENC.RLE_DICTIONARY, zstdLevel);
  for (const e of [ENC.PLAIN, ENC.RLE, ENC.RLE_DICTIONARY]) into.useEncoding(e);
  into.numValues += n;
  into.minBytes = value;
  into.maxBytes = value;
}

/** Open-addressing slots (entry + 1, 0 = empty) for at most MAX_DICTIONARY + 1 entries, half full at worst. */
const DICT_SLOTS = 4096;
const DICT_SLOT_MASK = DICT_SLOTS - 1;
let dictTables: { slots: Int32Array; start: Int32Array; end: Int32Array } | null = null;

function dictScratch(): { slots: Int32Array; start: Int32Array; end: Int32Array } {
  dictTables ??= { slots: new Int32Array(DICT_SLOTS), start: new Int32Array(MAX_DICTIONARY + 2), end: new Int32Array(MAX_DICTIONARY + 2) };
  return dictTables;
}

/** Unsigned byte order of bytes [a0, a1) and [b0, b1) of one array. */
function compareRanges(b: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const len = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < len; i++) if (b[a0 + i] !== b[b0 + i]) return b[a0 + i]! - b[b0 + i]!;
  return a1 - a0 - (b1 - b0);
}

/** FNV-1a of bytes [s, e). */
function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function sameBytes(b: Uint8Array, a0: number, b0: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[a0 + i] !== b[b0 + i]) return false;
  return true;
}
