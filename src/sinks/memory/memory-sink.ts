/**
 * In-memory row sink with the Parquet sink's batching rules (per kind, symbol and UTC day; sealed on
 * rotation, at the row cap, on flush and on close), minus the files. For tests and tools that want
 * the rows a run produces without a disk: the sink contract test holds it to the same behaviour as
 * the file sinks.
 */
import { schemaOf, withComputedCells, type Row, type SinkKind, type RowSink } from "../../core/rows.ts";
import { DAY_MS } from "../parquet/columns.ts";
import { RotationClock, type RotationPeriods } from "../rotation.ts";
import { healthy, type ComponentHealth, type RowSinkComponent } from "../component.ts";

export interface MemorySegment {
  readonly kind: SinkKind;
  readonly symbol: string;
  /** UTC day of every row's `ts_ms`, as days since the epoch. */
  readonly day: number;
  readonly rows: readonly Row[];
}

export interface MemorySinkOptions extends RotationPeriods {
  readonly maxRowsPerSegment?: number;
}

export class MemoryRowSink implements RowSinkComponent {
  readonly name = "memory";

  health(): ComponentHealth {
    return healthy;
  }

  private readonly clock: RotationClock;
  private readonly maxRows: number;
  /** Open segments by kind, then `symbol|day`. */
  private readonly open = new Map<SinkKind, Map<string, { symbol: string; day: number; rows: Row[] }>>();
  private readonly sealed: MemorySegment[] = [];
  private closed = false;
  rowsRejected = 0;

  constructor(opts: MemorySinkOptions) {
    this.clock = new RotationClock(opts);
    this.maxRows = Math.max(1, opts.maxRowsPerSegment ?? 500_000);
  }

  append(kind: SinkKind, row: Row): void {
    const ts = row.ts_ms;
    if (this.closed || schemaOf(kind) === undefined || typeof row.symbol !== "string" || !Number.isSafeInteger(ts)) {
      this.rowsRejected++;
      return;
    }
    const day = Math.floor((ts as number) / DAY_MS);
    let byKey = this.open.get(kind);
    if (byKey === undefined) this.open.set(kind, (byKey = new Map()));
    const key = `${row.symbol}|${day}`;
    let seg = byKey.get(key);
    if (seg === undefined) byKey.set(key, (seg = { symbol: row.symbol, day, rows: [] }));
    // A copy (the RowSink contract lets the caller reuse its row object), with row_id filled in.
    seg.rows.push(withComputedCells(kind, row));
    if (seg.rows.length >= this.maxRows) this.seal(kind, key);
  }

  tick(nowMs: number): void {
    for (const r of this.clock.due(nowMs)) this.sealKind(r.kind, r.includes);
  }

  flush(): void {
    for (const kind of this.open.keys()) this.sealKind(kind);
  }

  close(): Promise<void> {
    this.flush();
    this.closed = true;
    return Promise.resolve();
  }

  /** Sealed segments in the order they were sealed. */
  segments(): readonly MemorySegment[] {
    return this.sealed;
  }

  private sealKind(kind: SinkKind, includes: (symbol: string) => boolean = () => true): void {
    const byKey = this.open.get(kind);
    if (byKey !== undefined) for (const [key, seg] of [...byKey]) if (includes(seg.symbol)) this.seal(kind, key);
  }

  private seal(kind: SinkKind, key: string): void {
    const byKey = this.open.get(kind)!;
    const seg = byKey.get(key)!;
    byKey.delete(key);
    this.sealed.push({ kind, symbol: seg.symbol, day: seg.day, rows: seg.rows });
  }
}
