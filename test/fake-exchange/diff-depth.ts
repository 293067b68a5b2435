// The diff-depth stream `<sym>@depth@100ms` and the REST book behind it (option `diffDepth`).
//
// Diffs are the recorded ones folded onto the 100 ms grid of their `E`, as the exchange's @100ms
// stream aggregates them: all diffs of a cell become one event with the first `U`, the last `u`, the
// first `pu` and, per price, the last quantity given (recorded texts). The cryptofeed recordings are
// @100ms already (one diff per cell); the hftbacktest ones are @0ms (~52 ms apart) and get folded.
//
// At the end of each loop one more diff turns the book at the end of the recording back into the
// book at its start (levels the start lacks go to 0, the start's levels are set), so the `pu` chain
// never breaks at the wrap and a client's book stays equal to the exchange's.
//
// `LiveDiffBook` is the exchange's own book: it applies every diff as it is produced, and answers
// `GET /fapi/v1/depth` from it (lastUpdateId = the last produced `u`), or from a copy lagging a number
// of diffs behind for the stale-snapshot fault.
import { OrderBook, levelsJson, syncIndex } from "./book.ts";
import type { DiffEvent, PriceLevel, SymbolSeries } from "./fixtures.ts";

const GRID_MS = 100;

/** A folded diff: the recorded diff's ids and levels, its script time, and its levels as text. */
export interface DiffItem extends Pick<DiffEvent, "U" | "u" | "pu" | "b" | "a"> {
  readonly kind: "diff";
  readonly t: number;
  readonly lag: number;
  /** `"b":[…],"a":[…]` */
  readonly book: string;
}

function merge(into: Map<string, PriceLevel>, levels: readonly PriceLevel[]): void {
  for (const l of levels) {
    // Keyed by numeric price: the same level printed two ways is one level.
    const k = String(Number(l[0]));
    into.delete(k); // the latest update goes last, as the exchange would list it
    into.set(k, l);
  }
}

function item(t: number, lag: number, U: number, u: number, pu: number, b: readonly PriceLevel[], a: readonly PriceLevel[]): DiffItem {
  return { kind: "diff", t, lag, U, u, pu, b, a, book: `"b":${levelsJson(b)},"a":${levelsJson(a)}` };
}

/** The recorded diffs from the snapshot's bracketing one on, folded per 100 ms cell of `E`. */
export function foldDiffs(series: SymbolSeries): DiffItem[] {
  const diffs = series.diffs;
  const out: DiffItem[] = [];
  let i = syncIndex(series.snapshot, diffs);
  while (i < diffs.length) {
    const cell = Math.floor(diffs[i]!.E / GRID_MS);
    const first: DiffEvent = diffs[i]!;
    const b = new Map<string, PriceLevel>();
    const a = new Map<string, PriceLevel>();
    let last = first;
    for (; i < diffs.length && Math.floor(diffs[i]!.E / GRID_MS) === cell; i++) {
      last = diffs[i]!;
      merge(b, last.b);
      merge(a, last.a);
    }
    const at = (cell + 1) * GRID_MS;
    out.push(item(at, at - last.T, first.U, last.u, first.pu, [...b.values()], [...a.values()]));
  }
  return out;
}

/** The diff that turns the book after `items` back into the snapshot's book (see the header). */
export function wrapDiff(series: SymbolSeries, items: readonly DiffItem[], t: number): DiffItem {
  const end = OrderBook.fromSnapshot(series.snapshot);
  for (const it of items) end.apply(it as unknown as DiffEvent);
  const start = OrderBook.fromSnapshot(series.snapshot);
  const side = (endSide: readonly PriceLevel[], startSide: readonly PriceLevel[]): PriceLevel[] => {
    const keep = new Set(startSide.map((l) => Number(l[0])));
    return [...endSide.filter((l) => !keep.has(Number(l[0]))).map((l): PriceLevel => [l[0], "0"]), ...startSide];
  };
  const last = items[items.length - 1]!;
  return item(t, 0, last.u + 1, last.u + 1, last.u, side(end.bids(1e9), start.bids(1e9)), side(end.asks(1e9), start.asks(1e9)));
}

/** The exchange's book for REST, moved by every produced diff (ids already shifted for the loop). */
export class LiveDiffBook {
  private readonly book: OrderBook;
  private readonly lagged: OrderBook;
  private readonly queue: { readonly d: DiffEvent; readonly u: number }[] = [];
  lastUpdateId: number;
  private laggedU: number;

  constructor(
    series: SymbolSeries,
    /** How many diffs the lagged copy (stale-snapshot fault) trails by. */
    private readonly lagDiffs = 50,
  ) {
    this.book = OrderBook.fromSnapshot(series.snapshot);
    this.lagged = OrderBook.fromSnapshot(series.snapshot);
    this.lastUpdateId = series.snapshot.lastUpdateId;
    this.laggedU = this.lastUpdateId;
  }

  apply(it: DiffItem, u: number): void {
    const d = it as unknown as DiffEvent;
    this.book.apply(d);
    this.lastUpdateId = u;
    this.queue.push({ d, u });
    if (this.queue.length > this.lagDiffs) {
      const old = this.queue.shift()!;
      this.lagged.apply(old.d);
      this.laggedU = old.u;
    }
  }

  /** The REST body; `stale` answers from the lagging copy (older than diffs already sent). */
  body(limit: number, stale: boolean, now: number): string {
    const b = stale ? this.lagged : this.book;
    const id = stale ? this.laggedU : this.lastUpdateId;
    return `{"lastUpdateId":${id},"E":${now},"T":${now},"bids":${levelsJson(b.bids(limit))},"asks":${levelsJson(b.asks(limit))}}`;
  }

  /** Top `n` levels per side as numbers, for tests comparing a client's book with the exchange's. */
  top(n: number): { readonly lastUpdateId: number; readonly bids: number[][]; readonly asks: number[][] } {
    const num = (ls: readonly PriceLevel[]) => ls.map((l) => [Number(l[0]), Number(l[1])]);
    return { lastUpdateId: this.lastUpdateId, bids: num(this.book.bids(n)), asks: num(this.book.asks(n)) };
  }
}
