/**
 * The read side of Thrift's compact protocol, as much as copying a Parquet footer needs: field
 * headers, integers, and skipping any value whole. Numbers are JS numbers (a file offset or a row
 * count stays far below 2^53). Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */
import { T_BINARY, T_BYTE, T_DOUBLE, T_FALSE, T_I16, T_I32, T_I64, T_LIST, T_MAP, T_SET, T_STRUCT, T_TRUE } from "./thrift.ts";

/** A field's header: its id and compact type (1/2 are a bool's value; 0 is the struct's end). */
export interface FieldHeader {
  readonly id: number;
  readonly type: number;
}

/** Bytes that are not a well-formed compact struct (a truncated or foreign footer). */
export class ThriftError extends Error {}

export class CompactReader {
  pos: number;
  private last = 0;
  private readonly stack: number[] = [];

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  /** The next field's header; type 0 at the end of the struct (which is then left). */
  field(): FieldHeader {
    const b = this.u8();
    if (b === 0) {
      this.last = this.stack.pop() ?? 0;
      return { id: 0, type: 0 };
    }
    const delta = b >> 4;
    const id = delta === 0 ? this.zigzag() : this.last + delta;
    this.last = id;
    return { id, type: b & 0x0f };
  }

  /** Enters a struct (a struct field's value, or a list element of struct type). */
  enter(): void {
    this.stack.push(this.last);
    this.last = 0;
  }

  /** A list or set header: element type and count. */
  list(): { readonly elemType: number; readonly size: number } {
    const b = this.u8();
    const size = b >> 4 === 0x0f ? this.varint() : b >> 4;
    return { elemType: b & 0x0f, size };
  }

  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n;
      mul *= 128;
    }
    throw new ThriftError(`varint longer than 10 bytes at ${this.pos}`);
  }

  zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** Skips one value of `type` (a field's, or a list element's when `inList`). */
  skip(type: number, inList = false): void {
    switch (type) {
      case T_TRUE:
      case T_FALSE:
        // A bool field's value is its header; a bool list element is one byte.
        if (inList) this.advance(1);
        return;
      case T_BYTE:
        this.advance(1);
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.varint();
        return;
      case T_DOUBLE:
        this.advance(8);
        return;
      case T_BINARY:
        this.advance(this.varint());
        return;
      case T_LIST:
      case T_SET: {
        const { elemType, size } = this.list();
        for (let i = 0; i < size; i++) this.skip(elemType, true);
        return;
      }
      case T_MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kv = this.u8();
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4, true);
          this.skip(kv & 0x0f, true);
        }
        return;
      }
      case T_STRUCT:
        this.enter();
        for (let f = this.field(); f.type !== 0; f = this.field()) this.skip(f.type);
        return;
      default:
        throw new ThriftError(`unknown compact type ${type} at ${this.pos}`);
    }
  }

  private u8(): number {
    if (this.pos >= this.bytes.length) throw new ThriftError(`footer ends early (at ${this.pos})`);
    return this.bytes[this.pos++]!;
  }

  private advance(n: number): void {
    if (this.pos + n > this.bytes.length) throw new ThriftError(`footer ends early (at ${this.pos}, ${n} more bytes wanted)`);
    this.pos += n;
  }
}
