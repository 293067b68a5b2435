/**
 * Full-depth mode end to end (docs/depth.md): the compiled binary keeps ETHUSDT's and KSMUSDT's whole
 * books from the fake exchange's diff stream while the exchange misbehaves on purpose — the first
 * snapshot request is rate-limited (429), the next answer is older than the buffered diffs, diffs are
 * skipped, a snapshot request fails (500), and the public connection is cut while a snapshot answer
 * is held back. Then:
 * - every book_l2 snapshot equals the exchange's own book at the same update id, level for level
 *   (so the book was never applied across a break, and equals the exchange's after each resync), and
 *   is never crossed; /orderbook agrees with the exchange too;
 * - the counters name what happened (resyncs, stale and failed snapshots);
 * - `harvestd replay` of the NDJSON log (every diff plus the snapshot lines) gives identical book_l2,
 *   orderbook and ofi rows; it tells the mode from the log (the replay is not told feed.depth).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Frame } from "../fake-exchange/index.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";
import { apiStatus, kindRows, layout, replayRun, treeDifference, type Layout } from "./storage-support.ts";
import { bookSnapshots, expectExchangeBooks, stopQuietly } from "./depth-support.ts";

const SYMBOLS = ["ETHUSDT", "KSMUSDT"];
const LEVELS = 20;
/** book_l2 settings, given to the run and the replay alike. */
const BOOK_L2 = ["--set", `feed.full_levels=${LEVELS}`, "--set", "feed.book_snapshot_sec=0.5"];
const FULL = ["--set", 'feed.depth="full"', ...BOOK_L2];

let fx: FakeExchange;
let port = 0;
let live: Layout;
let run: RunResult;
let replay: RunResult;
let replayed: Layout;
const skipped: { symbol: string; u: number }[] = [];
let finalStatus: Record<string, any> = {};
let metrics = "";
let badLevels: { status: number; body: string } | null = null;
/** levels=1001: past the full book's range (its message names only that range: no depth5 advice). */
let tooManyLevels: { status: number; body: string } | null = null;
/** /health while KSMUSDT's snapshots are refused for good. */
let unsyncedHealth: { reasons: string[] } | null = null;
/** /orderbook for KSMUSDT meanwhile (its book dropped). */
let unsyncedOrderbook: Record<string, any> | null = null;
/** Breaks the book recovered from (the last skip is left unrecovered on purpose). */
const RECOVERED = 3;
/** /orderbook answers taken while running, with the exchange's book at the same update id. */
const orderbooks: { got: Record<string, any>; want: { bids: number[][]; asks: number[][] } | undefined }[] = [];

const book = async (symbol: string) => ((await apiStatus(port)).symbols as Record<string, any>[]).find((s) => s.symbol === symbol)!.book as Record<string, any>;

async function synced(symbol: string, applied: number): Promise<void> {
  await waitFor(`${symbol} in sync after ${applied} snapshots`, async () => {
    const b = await book(symbol);
    return b.state === "synced" && b.snapshots_applied >= applied ? true : undefined;
  }, 20_000, 100);
}

async function sampleOrderbook(symbol: string): Promise<void> {
  const got = (await (await fetch(`http://127.0.0.1:${port}/orderbook?symbol=${symbol}&levels=${LEVELS}`)).json()) as Record<string, any>;
  orderbooks.push({ got, want: got.last_update_id === null ? undefined : fx.exchangeBookAt(symbol, got.last_update_id) });
}

beforeAll(async () => {
  fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, diffDepth: true, bookHistoryLevels: LEVELS, recordFrames: false });
  let skipNext: string | null = null;
  fx.faults.hooks = {
    beforePublish(frame: Frame) {
      if (frame.kind !== "depthDiff" || frame.symbol !== skipNext) return undefined;
      skipNext = null;
      skipped.push({ symbol: frame.symbol, u: (JSON.parse(frame.data) as { u: number }).u });
      return null;
    },
  };
  const skip = async (symbol: string) => {
    skipNext = symbol;
    await waitFor("a diff skipped", () => (skipNext === null ? true : undefined), 10_000, 20);
  };
  // First answer 429 (Retry-After 1 s), the next one older than the diffs already buffered.
  fx.rejectDepth(1, 429, 1);
  fx.staleDepth(1);
  const dir = tempDir("depth-full");
  live = layout(dir);
  port = freePort();
  const proc = startBinary(
    ["run", "--config", join(REPO, "config.toml"), ...FULL, "--set", "health.depth_timeout_sec=3"],
    collectorEnv(fx, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "1" }),
  );
  try {
    await synced("ETHUSDT", 1);
    await synced("KSMUSDT", 1);
    await Bun.sleep(2500);
    await sampleOrderbook("ETHUSDT");
    // A skipped diff: pu breaks, resync.
    await skip("ETHUSDT");
    await synced("ETHUSDT", 2);
    await Bun.sleep(1500);
    await sampleOrderbook("ETHUSDT");
    // A skipped diff whose snapshot request fails (HTTP 500) first.
    fx.rejectDepth(1, 500);
    await skip("KSMUSDT");
    await synced("KSMUSDT", 2);
    await Bun.sleep(1500);
    // A skipped diff whose snapshot answer is held while the public connection is cut.
    fx.delayDepth(1, 1500);
    await skip("ETHUSDT");
    await Bun.sleep(300);
    fx.dropConnections("public");
    await synced("ETHUSDT", 3);
    await Bun.sleep(2500);
    await sampleOrderbook("ETHUSDT");
    await sampleOrderbook("KSMUSDT");
    // Snapshots refused for good: KSMUSDT cannot resync, and /health names it once the timeout passes.
    fx.rejectDepth(1_000_000, 500);
    await skip("KSMUSDT");
    unsyncedHealth = await waitFor("/health names the book out of sync", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      const b = (await r.json()) as { reasons: string[] };
      return r.status === 503 && b.reasons.some((x) => x.includes("order book") && x.includes("KSMUSDT")) ? b : undefined;
    }, 15_000, 200);
    unsyncedOrderbook = (await (await fetch(`http://127.0.0.1:${port}/orderbook?symbol=KSMUSDT&levels=${LEVELS}`)).json()) as Record<string, any>;
    // (Still refused while the final status is read: KSMUSDT stays out of sync.)
    finalStatus = await apiStatus(port);
    metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const bad = await fetch(`http://127.0.0.1:${port}/orderbook?symbol=ETHUSDT&levels=0`);
    badLevels = { status: bad.status, body: await bad.text() };
    const tooMany = await fetch(`http://127.0.0.1:${port}/orderbook?symbol=ETHUSDT&levels=1001`);
    tooManyLevels = { status: tooMany.status, body: await tooMany.text() };
  } finally {
    run = await stopQuietly(fx, proc);
  }
  ({ replayed, replay } = await replayRun(live, dir, BOOK_L2));
}, 90_000);

afterAll(async () => {
  await fx?.stop();
});

describe("full-depth book under exchange faults (compiled binary, fake exchange)", () => {
  test("the run and the replay exit 0", () => {
    if (run.exitCode !== 0) console.error(run.stderr);
    expect(run.exitCode).toBe(0);
    if (replay.exitCode !== 0) console.error(replay.stderr);
    expect(replay.exitCode).toBe(0);
    expect(replay.stderr).toContain('recorded with feed.depth = "full": replayed that way');
    expect(skipped.length).toBe(RECOVERED + 1);
  });

  test("every book_l2 snapshot equals the exchange's book at its update id, never crossed", async () => {
    const snaps = await bookSnapshots(live);
    expectExchangeBooks(fx, snaps, LEVELS);
    // Snapshots from after every break were compared (each resync rebuilt the exchange's book).
    const recovered = skipped.slice(0, RECOVERED);
    const afterSkip = new Set(recovered.filter((k) => snaps.some((s) => s.symbol === k.symbol && s.u > k.u)).map((k) => k.u));
    expect(afterSkip.size).toBe(RECOVERED);
    expect(snaps.length).toBeGreaterThan(30);
  });

  test("/orderbook gives the kept book, equal to the exchange's at its update id", () => {
    expect(badLevels?.status).toBe(400);
    expect(badLevels?.body).toBe('{"error":"query parameter levels must be an integer from 1 to 1000"}');
    expect(tooManyLevels).toEqual({ status: 400, body: '{"error":"query parameter levels must be an integer from 1 to 1000"}' });
    expect(orderbooks.length).toBe(4);
    // Out of sync: no levels, and no touch from the dropped book either.
    expect(unsyncedOrderbook).toMatchObject({ mode: "full", state: "resyncing", last_update_id: null, bids: [], asks: [], best_bid: null, best_ask: null, mid: null, spread_bps: null });
    for (const { got, want } of orderbooks) {
      expect(got.mode).toBe("full");
      expect(want).toBeDefined();
      expect(got.bids.map((l: { px: number; qty: number }) => [l.px, l.qty])).toEqual(want!.bids);
      expect(got.asks.map((l: { px: number; qty: number }) => [l.px, l.qty])).toEqual(want!.asks);
    }
  });

  test("status counts every break, stale and failed snapshot; the raw log holds the snapshots and errors", () => {
    const bySymbol = Object.fromEntries((finalStatus.symbols as Record<string, any>[]).map((s) => [s.symbol, s]));
    const eth = bySymbol.ETHUSDT.book;
    const ksm = bySymbol.KSMUSDT.book;
    expect(eth.state).toBe("synced");
    expect(eth.counters.resyncsPuBreak).toBeGreaterThanOrEqual(2);
    expect(ksm.counters.resyncsPuBreak).toBeGreaterThanOrEqual(1);
    expect(eth.counters.resyncsCrossed + ksm.counters.resyncsCrossed).toBe(0);
    expect(eth.counters.snapshotsStale + ksm.counters.snapshotsStale).toBeGreaterThanOrEqual(1);
    expect(eth.last_snapshot_age_s).toBeGreaterThan(0);
    expect(eth.bid_levels).toBeGreaterThan(100);
    expect(bySymbol.ETHUSDT.resyncs).toBe(eth.resyncs);
    expect(finalStatus.totals.depth_snapshot_failures).toBeGreaterThanOrEqual(2);
    expect(metrics).toContain('harvestd_book_synced{symbol="ETHUSDT"} 1');
    expect(metrics).toContain(`harvestd_book_resyncs_total{symbol="ETHUSDT"} ${eth.resyncs}`);
    expect(metrics).toMatch(/harvestd_book_levels\{symbol="ETHUSDT",side="bid"\} [1-9]/);
    expect(metrics).toContain('harvestd_book_synced{symbol="KSMUSDT"} 0');
    // The book that could not resync is named by /health, with its state and for how long.
    expect(unsyncedHealth!.reasons.find((x) => x.includes("KSMUSDT"))).toMatch(/1 order book out of sync beyond 3 s: KSMUSDT \(resyncing \d+ s\)/);
    expect(ksm.state).toBe("resyncing");
    expect(ksm.out_of_sync_s).toBeGreaterThan(3);
    expect(metrics).toContain('harvestd_book_refresh_mismatches_total{symbol="ETHUSDT"} 0');
    const lines = SYMBOLS.flatMap((s) => readSymbolLines(live.ndjson, s));
    const events = (e: string) => lines.filter((l) => l.event === e);
    expect(events("depth_snapshot").length).toBeGreaterThanOrEqual(5);
    const errors = events("depth_snapshot_error").map((l) => String(l.error));
    expect(errors.some((e) => e.includes("429"))).toBe(true);
    expect(errors.some((e) => e.includes("500"))).toBe(true);
    // Every diff received is in the log, the skipped ones are not.
    const us = new Set(lines.filter((l) => typeof l.stream === "string" && String(l.stream).endsWith("@depth@100ms") && l.event === undefined).map((l) => (l.data as { u: number }).u));
    for (const k of skipped) expect(us.has(k.u)).toBe(false);
  });

  test("replay of the NDJSON log gives identical book_l2, orderbook and ofi rows", async () => {
    for (const kind of ["book_l2", "orderbook", "ofi"] as const) {
      const a = await kindRows(live, kind);
      const b = await kindRows(replayed, kind);
      expect(a.length).toBeGreaterThan(50);
      expect(b).toEqual(a);
      expect(await treeDifference(live, replayed, kind)).toEqual({ onlyA: 0, onlyB: 0 });
    }
  }, 60_000);
});
