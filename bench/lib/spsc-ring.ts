/**
 * A single-producer/single-consumer byte ring over a SharedArrayBuffer, with rows of one kind
 * serialised into it field by field: the alternative to transferred column batches that
 * bench/sink-transport.ts measures (docs/storage.md, "Ring over SharedArrayBuffer vs transferred column batches": one or the other, "measured").
 *
 * Layout: control Int32Array [head, tail, consumerSleeping, producerWaiting] in its own SharedArrayBuffer; data is
 * `capacity` bytes. head/tail are byte counts since the start (they wrap at 2^31, far beyond what a
 * benchmark moves). A record is 8-byte aligned: u32 length, one flag byte per column (0 value,
 * 1 null), numbers as f64 at the next 8-byte boundary, strings as u16 length + bytes (ASCII fast
 * path, as the real builder). A record that does not fit before the end is preceded by a wrap
 * marker (length 0xFFFFFFFF) and starts again at offset 0.
 */
import type { Cell, ColumnDef, Row } from "../../src/core/rows.ts";

export const HEAD = 0;
export const TAIL = 1;
export const SLEEPING = 2;
/** 1 while the producer waits for room (the consumer then notifies on HEAD). */
export const PRODUCER_WAITING = 3;
const WRAP = 0xffffffff;

export interface RingBuffers {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
}

export function createRing(capacity: number): RingBuffers {
  return { control: new SharedArrayBuffer(16), data: new SharedArrayBuffer(capacity) };
}

const align8 = (n: number) => (n + 7) & ~7;

/** The views of the shared buffers that both ends of the ring read and write. */
abstract class RingEnd {
  protected readonly ctl: Int32Array;
  protected readonly u8: Uint8Array;
  protected readonly f64: Float64Array;
  protected readonly u32: Uint32Array;
  protected readonly cap: number;
  /** The columns a row carries: computed ones (row_id) are left to the writer, as ColumnBatchBuilder does. */
  protected readonly defs: readonly ColumnDef[];

  constructor(ring: RingBuffers, defs: readonly ColumnDef[]) {
    this.defs = defs.filter((d) => d.computed !== true);
    this.ctl = new Int32Array(ring.control);
    this.u8 = new Uint8Array(ring.data);
    this.f64 = new Float64Array(ring.data);
    this.u32 = new Uint32Array(ring.data);
    this.cap = ring.data.byteLength;
  }
}

export class RingProducer extends RingEnd {
  private tail = 0;
  /** Times the producer found the ring full and had to wait for the consumer. */
  stalls = 0;
  stallNs = 0;


  /** Worst-case size of a row, to know whether it fits. */
  private sizeOf(row: Row): number {
    let n = align8(4 + this.defs.length);
    for (const d of this.defs) {
      if (d.type === "str") {
        const v = row[d.name];
        n += 2 + (typeof v === "string" ? v.length * 3 : 0);
      } else n += 8;
    }
    return align8(n) + 8;
  }

  push(row: Row): void {
    const need = this.sizeOf(row);
    let pos = this.tail % this.cap;
    const wrapNeeded = pos + need > this.cap;
    const total = need + (wrapNeeded ? this.cap - pos : 0);
    // Wait for room: this is the ingest thread waiting on the consumer (and so on the disk).
    if (this.tail + total - Atomics.load(this.ctl, HEAD) > this.cap) {
      const t0 = Bun.nanoseconds();
      this.stalls++;
      // Blocking wait, not a spin: on a small machine a spinning producer would take the CPU the
      // consumer needs to make room.
      Atomics.store(this.ctl, PRODUCER_WAITING, 1);
      for (;;) {
        const head = Atomics.load(this.ctl, HEAD);
        if (this.tail + total - head <= this.cap) break;
        if (Atomics.load(this.ctl, SLEEPING) === 1) Atomics.notify(this.ctl, TAIL);
        Atomics.wait(this.ctl, HEAD, head, 5);
      }
      Atomics.store(this.ctl, PRODUCER_WAITING, 0);
      this.stallNs += Bun.nanoseconds() - t0;
    }
    if (wrapNeeded) {
      this.u32[pos >> 2] = WRAP;
      this.tail += this.cap - pos;
      pos = 0;
    }
    const start = pos;
    const flags = start + 4;
    let p = align8(flags + this.defs.length);
    for (let c = 0; c < this.defs.length; c++) {
      const d = this.defs[c]!;
      const v: Cell | undefined = row[d.name];
      if (v === null || v === undefined) {
        this.u8[flags + c] = 1;
        if (d.type !== "str") p += 8;
        else {
          this.u8[p] = 0;
          this.u8[p + 1] = 0;
          p += 2;
        }
        continue;
      }
      this.u8[flags + c] = 0;
      if (d.type === "str") {
        const s = v as string;
        const lenAt = p;
        p += 2;
        let k = 0;
        for (; k < s.length; k++) {
          const ch = s.charCodeAt(k);
          if (ch >= 0x80) break;
          this.u8[p + k] = ch;
        }
        let len = k;
        if (k < s.length) len = k + new TextEncoder().encodeInto(s.slice(k), this.u8.subarray(p + k, p + s.length * 3)).written;
        this.u8[lenAt] = len & 0xff;
        this.u8[lenAt + 1] = len >> 8;
        p += len;
      } else {
        p = align8(p);
        this.f64[p >> 3] = d.type === "bool" ? ((v as boolean) ? 1 : 0) : (v as number);
        p += 8;
      }
    }
    const len = align8(p - start);
    this.u32[start >> 2] = len;
    this.tail += len;
    Atomics.store(this.ctl, TAIL, this.tail);
    if (Atomics.load(this.ctl, SLEEPING) === 1) Atomics.notify(this.ctl, TAIL);
  }
}

/** Consumer side: decodes records back into a reused row object. */
export class RingConsumer extends RingEnd {
  private head = 0;
  private readonly row: Record<string, Cell> = {};
  private readonly decoder = new TextDecoder();


  /** ASCII fast path, as the writer's own string handling; TextDecoder for the rest. */
  private str(p: number, l: number): string {
    let ascii = true;
    for (let k = 0; k < l; k++) if (this.u8[p + k]! >= 0x80) ascii = false;
    if (!ascii) return this.decoder.decode(this.u8.slice(p, p + l));
    let s = "";
    for (let k = 0; k < l; k++) s += String.fromCharCode(this.u8[p + k]!);
    return s;
  }

  /** Hands every available record to `onRow`; returns how many. Blocks up to `waitMs` when empty. */
  drain(onRow: (row: Row) => void, waitMs: number): number {
    let tail = Atomics.load(this.ctl, TAIL);
    if (tail === this.head) {
      Atomics.store(this.ctl, SLEEPING, 1);
      Atomics.wait(this.ctl, TAIL, this.head, waitMs);
      Atomics.store(this.ctl, SLEEPING, 0);
      tail = Atomics.load(this.ctl, TAIL);
    }
    let n = 0;
    while (this.head !== tail) {
      let pos = this.head % this.cap;
      if (this.u32[pos >> 2] === WRAP) {
        this.head += this.cap - pos;
        pos = 0;
      }
      const len = this.u32[pos >> 2]!;
      const flags = pos + 4;
      let p = align8(flags + this.defs.length);
      for (let c = 0; c < this.defs.length; c++) {
        const d = this.defs[c]!;
        const isNull = this.u8[flags + c] === 1;
        if (d.type === "str") {
          const l = this.u8[p]! | (this.u8[p + 1]! << 8);
          p += 2;
          this.row[d.name] = isNull ? null : this.str(p, l);
          p += l;
        } else {
          p = align8(p);
          const v = this.f64[p >> 3]!;
          this.row[d.name] = isNull ? null : d.type === "bool" ? v === 1 : v;
          p += 8;
        }
      }
      this.head += len;
      onRow(this.row);
      n++;
      // Free the space as soon as the row is copied out, so the producer can go on.
      Atomics.store(this.ctl, HEAD, this.head);
      if (Atomics.load(this.ctl, PRODUCER_WAITING) === 1) Atomics.notify(this.ctl, HEAD);
    }
    return n;
  }
}
