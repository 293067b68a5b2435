/**
 * Rotation clock shared by the row sinks (Parquet, in-memory): each kind's rows are sealed into a
 * batch when the owner's clock crosses a multiple of the kind's period, so batches cover aligned
 * wall-clock (or replay-clock) intervals.
 */
import { sinkKinds, type SinkKind } from "../core/rows.ts";

export interface RotationPeriods {
  /** PARQUET_ROTATE_SEC: prices and every preview kind (custom indicator kinds included). */
  readonly rotateSec: number;
  /** ORDERBOOK_ROTATE_SEC: orderbook. */
  readonly orderbookRotateSec: number;
}

export function rotationPeriodMs(kind: SinkKind, p: RotationPeriods): number {
  const sec = kind === "orderbook" ? p.orderbookRotateSec : p.rotateSec;
  return Math.max(1, Math.round(sec * 1000));
}

export class RotationClock {
  private readonly periods = new Map<SinkKind, number>();
  private readonly next = new Map<SinkKind, number>();

  constructor(p: RotationPeriods) {
    // Custom kinds are registered before the sinks are built (src/indicators), so they are included.
    for (const kind of sinkKinds()) this.periods.set(kind, rotationPeriodMs(kind, p));
  }

  /** The longest period: how long a row can sit in a builder before it is sealed. */
  get maxPeriodMs(): number {
    return Math.max(...this.periods.values());
  }

  /**
   * Kinds whose boundary `nowMs` has crossed since the last call. The first call only starts the
   * clock. A clock that jumped back by more than two periods (wall clock reset, a replay
   * restarting) restarts too, instead of holding every batch until it caught up again.
   */
  due(nowMs: number): SinkKind[] {
    const out: SinkKind[] = [];
    for (const [kind, period] of this.periods) {
      const at = this.next.get(kind);
      const restart = at === undefined || nowMs < at - 2 * period;
      if (!restart && nowMs < at) continue;
      if (!restart) out.push(kind);
      this.next.set(kind, (Math.floor(nowMs / period) + 1) * period);
    }
    return out;
  }
}
