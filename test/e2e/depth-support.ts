// Shared by the full-depth end-to-end tests: book_l2 rows grouped back into snapshots, and each
// snapshot compared with the fake exchange's own book at the same update id.
import { expect } from "bun:test";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { RunResult, Running } from "../helpers/binary.ts";
import { kindRows, type Layout } from "./storage-support.ts";

/** Ends a run the way these tests do: the exchange falls silent first, so no frame is cut mid-flight, then SIGTERM. */
export async function stopQuietly(fx: FakeExchange, proc: Running): Promise<RunResult> {
  fx.silence("public", true);
  fx.silence("market", true);
  await Bun.sleep(300);
  return proc.stop("SIGTERM");
}

export interface BookSnapshotRows {
  readonly symbol: string;
  readonly u: number;
  readonly bids: number[][];
  readonly asks: number[][];
}

/** The run's book_l2 rows as snapshots (one per symbol and period). */
export async function bookSnapshots(l: Layout): Promise<BookSnapshotRows[]> {
  const snaps = new Map<string, { symbol: string; u: number; bids: number[][]; asks: number[][] }>();
  for (const r of await kindRows(l, "book_l2")) {
    const key = `${r.symbol}|${r.ts_ms}`;
    let s = snaps.get(key);
    if (!s) snaps.set(key, (s = { symbol: String(r.symbol), u: Number(r.last_update_id), bids: [], asks: [] }));
    (r.side === "bid" ? s.bids : s.asks)[Number(r.level)] = [Number(r.price), Number(r.qty)];
  }
  return [...snaps.values()];
}

/** Every snapshot has `levels` per side, is not crossed, and equals the exchange's book at its id. */
export function expectExchangeBooks(fx: FakeExchange, snaps: readonly BookSnapshotRows[], levels: number): void {
  for (const s of snaps) {
    expect(s.bids.length).toBe(levels);
    expect(s.asks.length).toBe(levels);
    expect(s.bids[0]![0]!).toBeLessThan(s.asks[0]![0]!);
    const ex = fx.exchangeBookAt(s.symbol, s.u);
    expect(ex).toBeDefined();
    expect({ symbol: s.symbol, u: s.u, bids: s.bids, asks: s.asks }).toEqual({ symbol: s.symbol, u: s.u, bids: ex!.bids, asks: ex!.asks });
  }
}
