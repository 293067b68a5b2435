/**
 * A growable byte buffer with the primitive writes the Parquet encoders share: bytes, ULEB128 varints,
 * little-endian fixed-width numbers. One buffer is reused for every page of a file, so steady-state
 * encoding allocates nothing but the compressed output.
 */

const TWO_32 = 4_294_967_296;

export class ByteBuffer {
  bytes: Uint8Array;
  pos = 0;
  private view: DataView;

  constructor(capacity = 64 * 1024) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A view of what was written (valid until the next write). */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.pos);
  }

  byte(b: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = b;
  }

  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.bytes.set(src, this.pos);
    this.pos += src.length;
  }

  /** Bytes [start, end) of `src`, without making a view of them. */
  appendRange(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const out = this.bytes;
    let p = this.pos;
    for (let i = start; i < end; i++) out[p++] = src[i]!;
    this.pos = p;
  }

  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  varint(n: number): void {
    this.ensure(8);
    const b = this.bytes;
    while (n >= 0x80) {
      b[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    b[this.pos++] = n;
  }

  /** Zigzag LEB128 of an integer (|n| < 2^52, so that 2|n| + 1 stays exact). */
  zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  int32LE(n: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, n, true);
    this.pos += 4;
  }

  /** An integer held in a JS number, as two's-complement INT64. */
  int64LE(n: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, n >>> 0, true);
    this.view.setInt32(this.pos + 4, Math.floor(n / TWO_32) | 0, true);
    this.pos += 8;
  }

  float64LE(n: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }
}

/** INT64 little-endian bytes of a safe integer, for statistics. */
export function int64Bytes(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, n >>> 0, true);
  v.setInt32(4, Math.floor(n / TWO_32) | 0, true);
  return out;
}

export function float64Bytes(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, n, true);
  return out;
}
