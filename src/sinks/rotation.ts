/**
 * Rotation clock shared by the row sinks (Parquet, in-memory): a (kind, symbol)'s rows are sealed
 * into a batch each time the owner's clock (wall or replay) crosses one of its boundaries, so each
 * batch covers one rotation period.
 *
 * Symbols do not all rotate at once. A kind's period is split into phases (one per second, at most
 * MAX_PHASES) and each symbol rotates at its own phase, fixed by a hash of its name: symbol S's
 * boundaries are `n·period + offset(S)`. Sealing every symbol at the same instant made the Parquet
 * writer finish ≈ 350 files at once at 50 symbols, a spike of 10–30 MiB for a few hundred ms
 * (+70 at 400 symbols)
 * (docs/storage.md "Memory"), and made the encoded pages of all open files peak together. The hash,
 * not the order of arrival, decides the phase, so a replay cuts the same batches as the live run.
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

/** Phases are at least this far apart; periods shorter than two of them rotate every symbol at once. */
export const PHASE_MIN_MS = 1000;
/** A 60 s period has a phase per second; longer periods keep 60 phases. */
export const MAX_PHASES = 60;

export function phaseCount(periodMs: number): number {
  return Math.max(1, Math.min(MAX_PHASES, Math.floor(periodMs / PHASE_MIN_MS)));
}

/** FNV-1a over the name's UTF-16 units: stable across runs, platforms and versions. */
function symbolHash(symbol: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) h = Math.imul(h ^ symbol.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const phaseOffsetMs = (phase: number, periodMs: number, phases: number): number => Math.floor((phase * periodMs) / phases);

/** Offset of `symbol`'s boundaries within each period, in ms (0 for a period with one phase). */
export function symbolOffsetMs(symbol: string, periodMs: number): number {
  const phases = phaseCount(periodMs);
  return phaseOffsetMs(symbolHash(symbol) % phases, periodMs, phases);
}

/** The symbols of one kind whose boundary was crossed. */
export interface Rotation {
  readonly kind: SinkKind;
  includes(symbol: string): boolean;
}

interface KindClock {
  readonly period: number;
  readonly phases: number;
  /** Time of the previous call; null before the first. */
  last: number | null;
  /** Earliest boundary after `last`, of any phase. */
  nextAt: number;
}

export class RotationClock {
  private readonly kinds = new Map<SinkKind, KindClock>();
  private readonly hashes = new Map<string, number>();

  constructor(p: RotationPeriods) {
    // Custom kinds are registered before the sinks are built (src/indicators), so they are included.
    for (const kind of sinkKinds()) {
      const period = rotationPeriodMs(kind, p);
      this.kinds.set(kind, { period, phases: phaseCount(period), last: null, nextAt: 0 });
    }
  }

  /** The longest period: how long a row can sit in a builder before it is sealed. */
  get maxPeriodMs(): number {
    return Math.max(...[...this.kinds.values()].map((k) => k.period));
  }

  /**
   * For each kind with a boundary crossed since the last call, which symbols rotate. The first call
   * only starts the clock. A clock that jumped back by more than two periods (wall clock reset, a
   * replay restarting) restarts too, instead of holding every batch until it caught up again.
   */
  due(nowMs: number): Rotation[] {
    const out: Rotation[] = [];
    for (const [kind, k] of this.kinds) {
      const last = k.last;
      if (last === null || nowMs < last - 2 * k.period) {
        k.last = nowMs;
        k.nextAt = this.nextBoundary(k, nowMs);
        continue;
      }
      if (nowMs < k.nextAt) continue;
      k.last = nowMs;
      k.nextAt = this.nextBoundary(k, nowMs);
      // A symbol rotates when a boundary of its phase lies in (last, now].
      const crossed = (symbol: string): boolean => {
        const off = this.offsetOf(symbol, k);
        return Math.floor((nowMs - off) / k.period) > Math.floor((last - off) / k.period);
      };
      out.push({ kind, includes: nowMs - last >= k.period ? () => true : crossed });
    }
    return out;
  }

  private offsetOf(symbol: string, k: KindClock): number {
    let h = this.hashes.get(symbol);
    if (h === undefined) this.hashes.set(symbol, (h = symbolHash(symbol)));
    return phaseOffsetMs(h % k.phases, k.period, k.phases);
  }

  /** The first boundary of any phase after `t`. */
  private nextBoundary(k: KindClock, t: number): number {
    let best = Infinity;
    for (let p = 0; p < k.phases; p++) {
      const off = phaseOffsetMs(p, k.period, k.phases);
      best = Math.min(best, (Math.floor((t - off) / k.period) + 1) * k.period + off);
    }
    return best;
  }
}
