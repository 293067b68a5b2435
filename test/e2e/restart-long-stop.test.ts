/**
 * How far back a start looks for the last stored trades (docs/feed.md, "Restarts"): today and the two
 * days before, UTC. The first run's raw-log folder is moved back in time, as if the collector had
 * been stopped that long: five days back, the next start begins afresh (no resume line, no backfill,
 * no gap line for the ids in between); two days back, it resumes and backfills the seconds it was
 * down. A run of 2027-03-01 used to resume from a trade id of 2027-01-01.
 */
import { afterAll, expect, test } from "bun:test";
import { readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { waitFor } from "../helpers/binary.ts";
import { newStore, startRun, tradeGapLines, tradeLines, waitForTrades, type Store } from "./restart-support.ts";

const SYMBOL = "BTCUSDT";
const DAY_MS = 86_400_000;
const fakes: FakeExchange[] = [];
afterAll(async () => {
  for (const fx of fakes) await fx.stop().catch(() => {});
});

/** Runs once, stops, moves the run's raw-log day folders `days` back, waits, runs again; returns the second run's stderr. */
async function stopFor(days: number): Promise<{ store: Store; stderr: string }> {
  const fx = await startFakeExchange({ symbols: [SYMBOL], speed: 2, recordFrames: false });
  fakes.push(fx);
  const store = newStore(fx, [SYMBOL]);
  const first = startRun(store);
  await waitForTrades(store, [SYMBOL]);
  await Bun.sleep(2000);
  expect((await first.stop("SIGTERM")).exitCode).toBe(0);
  const nd = join(store.dir, "ndjson");
  // Oldest first, so a later folder is never renamed onto an earlier one's new name.
  for (const d of readdirSync(nd).filter((n) => n.startsWith("date=")).sort()) {
    const back = new Date(Date.parse(`${d.slice(5)}T00:00:00Z`) - days * DAY_MS).toISOString().slice(0, 10);
    renameSync(join(nd, d), join(nd, `date=${back}`));
  }
  // Trades go on while it is down.
  await Bun.sleep(3000);
  const second = startRun(store);
  await waitFor("a live trade of the second process", () => (tradeLines(store, SYMBOL).some((t) => t.session === 2 && !t.backfill) ? true : undefined), 40_000, 250);
  await Bun.sleep(1000);
  const r = await second.stop("SIGTERM");
  expect(r.exitCode).toBe(0);
  return { store, stderr: r.stderr };
}

test("stopped five days: the next start begins afresh, without resuming from the old ids", async () => {
  const { store, stderr } = await stopFor(5);
  expect(stderr).not.toContain("resuming after the last stored trades");
  const second = tradeLines(store, SYMBOL).filter((t) => t.session === 2);
  expect(second.length).toBeGreaterThan(0);
  expect(second.filter((t) => t.backfill)).toEqual([]);
  expect(tradeGapLines(store, SYMBOL).filter((g) => g.session === 2)).toEqual([]);
}, 90_000);

test("stopped two days: the next start resumes after the stored ids and backfills the seconds it was down", async () => {
  const { store, stderr } = await stopFor(2);
  expect(stderr).toContain("resuming after the last stored trades");
  const lines = tradeLines(store, SYMBOL);
  const lastBefore = Math.max(...lines.filter((t) => t.session === 1).map((t) => t.id));
  const backfilled = lines.filter((t) => t.session === 2 && t.backfill).map((t) => t.id);
  expect(backfilled.length).toBeGreaterThan(0);
  expect(backfilled[0]).toBe(lastBefore + 1);
}, 90_000);
