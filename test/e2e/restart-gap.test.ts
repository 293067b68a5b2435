/**
 * A down time longer than REST's reach: the fake exchange keeps only the last ~100 trades per symbol
 * for REST (`tradeHistoryLimit`), BTCUSDT trades ~32/s, and the binary is down 15 s. At the restart
 * exactly one gap line names the ids REST no longer serves — from the first id after the last stored
 * one to the id before the first one REST still has — then those REST has follow as backfill lines,
 * then the live trades: stored ids and the gap together are every produced id, each once.
 */
import { afterAll, expect, test } from "bun:test";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { waitFor } from "../helpers/binary.ts";
import { newStore, startRun, tradeGapLines, tradeLines, waitForTrades } from "./restart-support.ts";

const SYMBOL = "BTCUSDT";
const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);
let fx: FakeExchange | null = null;
afterAll(async () => {
  await fx?.stop().catch(() => {});
});

test("beyond REST's reach: exactly one gap line naming the ids, the rest backfilled", async () => {
  fx = await startFakeExchange({ symbols: [SYMBOL], speed: 2, recordFrames: false, tradeHistoryLimit: 100 });
  const store = newStore(fx, [SYMBOL]);
  const first = startRun(store);
  await waitForTrades(store, [SYMBOL]);
  await Bun.sleep(6000);
  expect((await first.stop("SIGTERM")).exitCode).toBe(0);
  await Bun.sleep(15_000);
  const second = startRun(store);
  await waitFor("a live trade of the second process", () => (tradeLines(store, SYMBOL).some((t) => t.session === 2 && !t.backfill) ? true : undefined), 40_000, 250);
  await Bun.sleep(1000);
  expect((await second.stop("SIGTERM")).exitCode).toBe(0);

  const lines = tradeLines(store, SYMBOL);
  const lastBefore = Math.max(...lines.filter((t) => t.session === 1).map((t) => t.id));
  const backfilled = lines.filter((t) => t.session === 2 && t.backfill).map((t) => t.id);
  const firstLive = lines.find((t) => t.session === 2 && !t.backfill)!.id;
  expect(backfilled.length).toBeGreaterThan(0);
  const gaps = tradeGapLines(store, SYMBOL);
  expect(gaps).toEqual([{ from_id: lastBefore + 1, to_id: backfilled[0]! - 1, session: 2 }]);
  // More was missed than REST keeps: the gap is real, not an artefact.
  expect(backfilled[0]! - 1 - lastBefore).toBeGreaterThan(50);
  // The exchange keeps too few trades to compare with what it produced over the whole span, but its
  // aggTrade ids are consecutive: stored ids and the gap must tile the span exactly.
  expect(backfilled).toEqual(range(backfilled[0]!, firstLive - 1));
  const ids = lines.map((t) => t.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids, ...range(gaps[0]!.from_id, gaps[0]!.to_id)].sort((a, b) => a - b)).toEqual(range(ids[0]!, ids.at(-1)!));
}, 90_000);
