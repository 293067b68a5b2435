/**
 * Issue "Nothing lost across restarts": the compiled binary runs 20 s against the fake exchange, is
 * stopped — SIGKILL in one scenario, a clean SIGTERM in the other, side by side — the exchange trades
 * on for 15 s, and the binary is started again on the same data folder. Per symbol:
 *
 * - the NDJSON log holds every produced aggTrade id from its first to its last exactly once, in id
 *   order; the ids produced while the process was down are `backfill` lines of the second process,
 *   and no trade gap is recorded;
 * - the prices Parquet holds no id twice and the down time's ids with `backfilled = true`; after a
 *   clean stop it holds every id of the span; after SIGKILL it lacks only rows of the last seconds
 *   before the kill, which the log has (docs/storage.md, Crashes) and `harvestd replay` restores:
 *   the replayed prices hold every id of the span exactly once.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { waitFor } from "../helpers/binary.ts";
import { kill, newStore, pricesIds, producedBetween, replayInto, startRun, tradeGapLines, tradeLines, waitForTrades, type Store } from "./restart-support.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT"];
const RUN_MS = 20_000;
const DOWN_MS = 15_000;

interface Outcome {
  readonly fx: FakeExchange;
  readonly store: Store;
  readonly stoppedAt: number;
  readonly secondExit: number;
}

const fakes: FakeExchange[] = [];
afterAll(async () => {
  for (const fx of fakes) await fx.stop().catch(() => {});
});

async function scenario(stop: "SIGKILL" | "SIGTERM"): Promise<Outcome> {
  const fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false });
  fakes.push(fx);
  const store = newStore(fx, SYMBOLS);
  const t0 = Date.now();
  const first = startRun(store);
  await waitForTrades(store, SYMBOLS);
  await Bun.sleep(Math.max(0, RUN_MS - (Date.now() - t0)));
  const stoppedAt = Date.now();
  if (stop === "SIGKILL") await kill(first);
  else expect((await first.stop("SIGTERM")).exitCode).toBe(0);
  await Bun.sleep(DOWN_MS);
  const second = startRun(store);
  // Live trades of the second process reach the log only after the backfill before them.
  await waitFor(
    "a live trade of every symbol in the second process",
    () => (SYMBOLS.every((s) => tradeLines(store, s).some((t) => t.session === 2 && !t.backfill)) ? true : undefined),
    40_000,
    250,
  );
  await Bun.sleep(3000);
  const r = await second.stop("SIGTERM");
  if (r.exitCode !== 0) console.error(r.stderr);
  await fx.stop();
  return { fx, store, stoppedAt, secondExit: r.exitCode };
}

async function check(o: Outcome, stop: "SIGKILL" | "SIGTERM"): Promise<void> {
  expect(o.secondExit).toBe(0);
  const replayed = await replayInto(o.store);
  let downTotal = 0;
  for (const symbol of SYMBOLS) {
    const lines = tradeLines(o.store, symbol);
    const ids = lines.map((t) => t.id);
    // In id order, each once, and exactly what the exchange produced over the span.
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(producedBetween(o.fx, symbol, ids[0]!, ids.at(-1)!));
    expect(tradeGapLines(o.store, symbol)).toEqual([]);

    // The down time: after the first process's last trade, before the second's first live one.
    const lastBefore = Math.max(...lines.filter((t) => t.session === 1).map((t) => t.id));
    const firstLive = lines.find((t) => t.session === 2 && !t.backfill)!.id;
    const down = producedBetween(o.fx, symbol, lastBefore + 1, firstLive - 1);
    expect(lines.filter((t) => t.session === 2 && t.backfill).map((t) => t.id)).toEqual(down);
    downTotal += down.length;

    const live = await pricesIds(join(o.store.dir, "raw"), symbol);
    expect([...live.count.values()].every((n) => n === 1)).toBe(true);
    for (const id of down) expect(live.backfilled.has(id)).toBe(true);
    const missing = ids.filter((id) => !live.count.has(id));
    if (stop === "SIGTERM") expect(missing).toEqual([]);
    else {
      // Only rows of the last rotations before the kill (2 s each), which the log holds.
      const cut = o.stoppedAt - 6000;
      for (const id of missing) expect(lines.find((t) => t.id === id)!.tsRecv).toBeGreaterThanOrEqual(cut);
    }

    const rep = await pricesIds(replayed, symbol);
    expect([...rep.count.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect([...rep.count.values()].every((n) => n === 1)).toBe(true);
    expect(down.every((id) => rep.backfilled.has(id))).toBe(true);
  }
  // 15 s of trading at speed 2 leaves ids to backfill.
  expect(downTotal).toBeGreaterThan(10);
}

describe("restart backfill", () => {
  test(
    "SIGKILL and SIGTERM, 15 s down: every id of the span stored exactly once, the down time backfilled",
    async () => {
      const [killed, stopped] = await Promise.all([scenario("SIGKILL"), scenario("SIGTERM")]);
      await check(killed, "SIGKILL");
      await check(stopped, "SIGTERM");
    },
    150_000,
  );
});
