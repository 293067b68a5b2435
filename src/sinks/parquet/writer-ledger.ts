/**
 * The batches handed to the Parquet writer and not yet written: what they hold against the sink's
 * buffer bound, which of them the writer keeps after a failed write (and retries), who waits for
 * room under the bound, and whether the writer is making progress at all. Bookkeeping only: it
 * neither talks to the writer nor decides where a batch goes.
 */
import type { SinkKind } from "../../core/rows.ts";

export interface PendingBatch {
  readonly kind: SinkKind;
  readonly symbol: string;
  readonly rows: number;
  /** The batch's bytes until a failed write, then those of the encoded file the writer holds. */
  bytes: number;
  held: boolean;
}

export class WriterLedger {
  private readonly batches = new Map<number, PendingBatch>();
  /** Held batches per kind: a failing root must not hide behind a healthy one. */
  private readonly heldByKind = new Map<SinkKind, number>();
  private roomWaiters: { readonly limitBytes: number; readonly resolve: () => void }[] = [];
  private rowsPending = 0;
  private bytesPending = 0;
  private batchesHeld = 0;
  private rowsHeld = 0;
  private heldCode: string | null = null;
  /**
   * performance.now() when a batch last settled, and when batches last started to wait (stall
   * detection: durations are monotonic, docs/feed.md "When the clock steps").
   */
  private lastProgressAt = performance.now();
  private pendingSince = 0;

  get size(): number {
    return this.batches.size;
  }
  get rows(): number {
    return this.rowsPending;
  }
  get bytes(): number {
    return this.bytesPending;
  }
  get held(): number {
    return this.batchesHeld;
  }
  get heldRows(): number {
    return this.rowsHeld;
  }
  /** errno code of the latest failure of a held batch (ENOSPC, EACCES, ...); null when none is held. */
  get heldErrorCode(): string | null {
    return this.batchesHeld > 0 ? this.heldCode : null;
  }
  get failingKinds(): SinkKind[] {
    return [...this.heldByKind.keys()];
  }

  ids(): number[] {
    return [...this.batches.keys()];
  }

  /** Room under `maxBytes` for this many more (a batch alone always fits: it could never go otherwise). */
  fits(bytes: number, maxBytes: number): boolean {
    return this.batches.size === 0 || this.bytesPending + bytes <= maxBytes;
  }

  add(id: number, kind: SinkKind, symbol: string, rows: number, bytes: number): void {
    if (this.batches.size === 0) this.pendingSince = performance.now();
    this.batches.set(id, { kind, symbol, rows, bytes, held: false });
    this.rowsPending += rows;
    this.bytesPending += bytes;
  }

  /**
   * The writer failed the batch's write and keeps its encoded file (`heldBytes`, usually far smaller
   * than the batch) to try again. Returns the batch, or undefined when it is not pending.
   */
  hold(id: number, heldBytes: number, code: string): PendingBatch | undefined {
    const p = this.batches.get(id);
    if (p === undefined) return undefined;
    if (!p.held) {
      p.held = true;
      this.batchesHeld++;
      this.rowsHeld += p.rows;
      this.heldByKind.set(p.kind, (this.heldByKind.get(p.kind) ?? 0) + 1);
    }
    this.bytesPending += heldBytes - p.bytes;
    p.bytes = heldBytes;
    this.heldCode = code;
    return p;
  }

  /** Forgets a batch that was written or given up; returns what it was. */
  settle(id: number): PendingBatch | undefined {
    const p = this.batches.get(id);
    if (p === undefined) return undefined;
    this.batches.delete(id);
    this.lastProgressAt = performance.now();
    this.rowsPending -= p.rows;
    this.bytesPending -= p.bytes;
    if (p.held) {
      this.batchesHeld--;
      this.rowsHeld -= p.rows;
      const n = (this.heldByKind.get(p.kind) ?? 1) - 1;
      if (n <= 0) this.heldByKind.delete(p.kind);
      else this.heldByKind.set(p.kind, n);
    }
    return p;
  }

  /** Milliseconds since the writer last finished a batch while batches have been waiting. */
  stillForMs(): number {
    return performance.now() - Math.max(this.lastProgressAt, this.pendingSince);
  }

  /** Resolves once pending batches hold at most `limitBytes` (or at once when the writer is gone: `down`). */
  waitForRoom(limitBytes: number, down: boolean): Promise<void> {
    if (this.bytesPending <= limitBytes || down) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ limitBytes, resolve }));
  }

  wakeRoomWaiters(down: boolean): void {
    if (this.roomWaiters.length === 0) return;
    const still: typeof this.roomWaiters = [];
    for (const w of this.roomWaiters) {
      if (down || this.bytesPending <= w.limitBytes) w.resolve();
      else still.push(w);
    }
    this.roomWaiters = still;
  }
}
