/**
 * Parquet's integer encodings: bit packing (LSB first), the RLE / bit-packed hybrid (definition levels,
 * dictionary indices, booleans) and DELTA_BINARY_PACKED (timestamps and ids).
 * Spec: https://parquet.apache.org/docs/file-format/data-pages/encodings/
 */
import type { ByteBuffer } from "./bytes.ts";

const TWO_32 = 4_294_967_296;

/** Bits needed for a non-negative integer below 2^64 held in a number. */
export function bitWidth(max: number): number {
  if (max < TWO_32) return 32 - Math.clz32(max);
  return 64 - Math.clz32(Math.floor(max / TWO_32));
}

type Ints = ArrayLike<number>;

/**
 * Packs `count` values of `width` ≤ 24 bits starting at `from`; positions past `end` are packed as 0
 * (the padding of a last, partial group).
 */
function packNarrow(out: ByteBuffer, vals: Ints, from: number, end: number, count: number, width: number): void {
  out.ensure(((count * width) >> 3) + 4);
  const b = out.bytes;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < count; i++) {
    const k = from + i;
    const v = k < end ? vals[k] : 0;
    // bits < 8 here and v < 2^24, so acc stays below 2^31.
    acc |= v << bits;
    bits += width;
    while (bits >= 8) {
      b[p++] = acc & 255;
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) b[p++] = acc & 255;
  out.pos = p;
}

/** As packNarrow for widths up to 64: each value is written 16 bits at a time. */
function packWide(out: ByteBuffer, vals: Ints, from: number, end: number, count: number, width: number): void {
  out.ensure(((count * width) >> 3) + 8);
  const b = out.bytes;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < count; i++) {
    const k = from + i;
    let v = k < end ? vals[k] : 0;
    for (let left = width; left > 0; ) {
      const take = left < 16 ? left : 16;
      const unit = take === 16 ? 65536 : 1 << take;
      acc |= (v % unit) << bits;
      v = Math.floor(v / unit);
      bits += take;
      left -= take;
      while (bits >= 8) {
        b[p++] = acc & 255;
        acc >>>= 8;
        bits -= 8;
      }
    }
  }
  if (bits > 0) b[p++] = acc & 255;
  out.pos = p;
}

export function packBits(out: ByteBuffer, vals: Ints, from: number, end: number, count: number, width: number): void {
  if (width === 0) return;
  if (width <= 24) packNarrow(out, vals, from, end, count, width);
  else packWide(out, vals, from, end, count, width);
}

/**
 * RLE / bit-packed hybrid of `vals[0, n)` (each < 2^width, width ≤ 24), without the length prefix.
 * Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of 8,
 * and a literal stretch ends at a group boundary where a long run starts.
 */
export function encodeHybrid(out: ByteBuffer, vals: Ints, n: number, width: number): void {
  const valueBytes = (width + 7) >> 3;
  let i = 0;
  while (i < n) {
    const v = vals[i];
    let j = i + 1;
    while (j < n && vals[j] === v) j++;
    if (j - i >= 8 || j === n) {
      out.varint((j - i) * 2);
      out.ensure(valueBytes);
      for (let k = 0, x = v; k < valueBytes; k++, x >>>= 8) out.bytes[out.pos++] = x & 255;
      i = j;
      continue;
    }
    const start = i;
    let groups = 0;
    do {
      i += 8;
      groups++;
      if (i >= n) break;
      // Stop the literal stretch where a run of at least 8 begins.
      const w = vals[i];
      let r = i + 1;
      while (r < n && r - i < 8 && vals[r] === w) r++;
      if (r - i >= 8) break;
    } while (true);
    out.varint(groups * 2 + 1);
    packBits(out, vals, start, n, groups * 8, width);
  }
}

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;
const deltas = new Float64Array(BLOCK);

/**
 * DELTA_BINARY_PACKED of `vals[0, n)`: integers held in numbers. The caller guarantees that every
 * value and every difference of two values is below 2^51 in magnitude, so all arithmetic is exact.
 */
export function encodeDeltaBinaryPacked(out: ByteBuffer, vals: Ints, n: number): void {
  out.varint(BLOCK);
  out.varint(MINIBLOCKS);
  out.varint(n);
  out.zigzag(n > 0 ? vals[0] : 0);
  for (let i = 1; i < n; i += BLOCK) {
    const count = Math.min(BLOCK, n - i);
    let min = Infinity;
    for (let k = 0; k < count; k++) {
      const d = vals[i + k] - vals[i + k - 1];
      deltas[k] = d;
      if (d < min) min = d;
    }
    out.zigzag(min);
    const widthsAt = out.pos;
    out.ensure(MINIBLOCKS);
    out.pos += MINIBLOCKS;
    for (let m = 0; m < MINIBLOCKS; m++) {
      const from = m * MINI;
      let width = 0;
      if (from < count) {
        const to = Math.min(count, from + MINI);
        let max = 0;
        for (let k = from; k < to; k++) {
          const d = deltas[k] - min;
          deltas[k] = d;
          if (d > max) max = d;
        }
        width = bitWidth(max);
        packBits(out, deltas, from, to, MINI, width);
      }
      out.bytes[widthsAt + m] = width;
    }
  }
}
