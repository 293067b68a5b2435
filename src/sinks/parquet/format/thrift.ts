/**
 * The write side of Thrift's compact protocol, as much of it as Parquet's page headers and footer use
 * (structs, i32/i64, bool, binary, lists). Field ids are written as deltas, as the protocol requires.
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */
import type { ByteBuffer } from "./bytes.ts";

// The compact protocol's type ids (thrift-read.ts reads all of them; this writer uses fewer).
export const T_TRUE = 1;
export const T_FALSE = 2;
export const T_BYTE = 3;
export const T_I16 = 4;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_DOUBLE = 7;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_SET = 10;
export const T_MAP = 11;
export const T_STRUCT = 12;

const utf8 = new TextEncoder();

/**
 * Footers repeat the same few hundred strings (column names, kinds, symbols) in every file: encoded
 * once instead of one small array each per file (thousands a minute in the writer, all garbage).
 */
const encoded = new Map<string, Uint8Array>();
const MAX_ENCODED = 4096;

function utf8Of(v: string): Uint8Array {
  let b = encoded.get(v);
  if (b === undefined) {
    if (encoded.size >= MAX_ENCODED) encoded.clear();
    encoded.set(v, (b = utf8.encode(v)));
  }
  return b;
}

/** A list's header: element type and count (a short form below 15 elements). */
export function listHeader(out: ByteBuffer, elemType: number, size: number): void {
  if (size < 15) out.byte((size << 4) | elemType);
  else {
    out.byte(0xf0 | elemType);
    out.varint(size);
  }
}

export class CompactWriter {
  private last = 0;
  private readonly stack: number[] = [];

  constructor(readonly out: ByteBuffer) {}

  private field(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.out.byte((delta << 4) | type);
    else {
      this.out.byte(type);
      this.out.zigzag(id);
    }
    this.last = id;
  }

  i32(id: number, v: number): this {
    this.field(id, T_I32);
    this.out.zigzag(v);
    return this;
  }

  i64(id: number, v: number): this {
    this.field(id, T_I64);
    this.out.zigzag(v);
    return this;
  }

  bool(id: number, v: boolean): this {
    this.field(id, v ? T_TRUE : T_FALSE);
    return this;
  }

  binary(id: number, v: Uint8Array): this {
    this.field(id, T_BINARY);
    this.out.varint(v.length);
    this.out.append(v);
    return this;
  }

  string(id: number, v: string): this {
    return this.binary(id, utf8Of(v));
  }

  /** Opens a nested struct field; close it with `end()`. */
  struct(id: number): this {
    this.field(id, T_STRUCT);
    return this.enter();
  }

  /** Writes a list header; elements follow (structs via `element()` … `end()`). */
  list(id: number, elemType: number, size: number): this {
    this.field(id, T_LIST);
    listHeader(this.out, elemType, size);
    return this;
  }

  /** Opens a struct that is a list element (no field header). */
  element(): this {
    return this.enter();
  }

  /** A bare i32 list element. */
  i32Element(v: number): this {
    this.out.zigzag(v);
    return this;
  }

  /** A bare binary/string list element. */
  stringElement(v: string): this {
    const b = utf8Of(v);
    this.out.varint(b.length);
    this.out.append(b);
    return this;
  }

  /** Closes the innermost struct (writes STOP). */
  end(): this {
    this.out.byte(0);
    this.last = this.stack.pop() ?? 0;
    return this;
  }

  private enter(): this {
    this.stack.push(this.last);
    this.last = 0;
    return this;
  }
}
