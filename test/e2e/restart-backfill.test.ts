/**
 * Issue "Nothing lost across restarts": the compiled binary runs 20 s against the fake exchange, is
 * stopped — SIGKILL in one scenario, a clean SIGTERM in the other, side by side — the exchange trades
 * on for 15 s, and the binary is started again on the same data folder. Per symbol:
 *
 * - the NDJSON log holds every produced aggTrade id from its first to its last exactly once, in id
 *   order; the ids produced while the process was down are `backfill` lines of the second process,
 *   and no trade gap is recorded;
 * - the live prices Parquet holds every id of the span exactly once, the down time's ids with
 *   `backfilled = true` — after SIGKILL too, without any replay: the second process rebuilt the rows
 *   the killed one still held in its writer's buffers from its log (docs/storage.md, Crash recovery),
 *   and says so in one line;
 * - every kind, built-in and custom (examples/indicators/vwap-dev.ts), is row for row what
 *   `harvestd replay` of the log writes, so the recovered hours hold neither less nor more than replay;
 *   a third scenario (SIGKILL, `feed.depth = "full"`, diff depth) checks the same with book_l2.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { REPO, tempDir, waitFor } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { kill, newStore, pricesIds, producedBetween, replayInto, startRun, tradeGapLines, tradeLines, waitForTrades, type Store } from "./restart-support.ts";

/** How the collector keeps books: the default top-5 stream, or the full book from diffs (docs/depth.md). */
type Depth = "depth5" | "full";
const SYMBOLS: Record<Depth, readonly string[]> = { depth5: ["BTCUSDT", "SANDUSDT"], full: ["ETHUSDT", "KSMUSDT"] };
/** Given to run and to replay alike: replay must keep the books the way the run did. */
const DEPTH_ARGS: Record<Depth, readonly string[]> = { depth5: [], full: ["--set", 'feed.depth="full"', "--set", "feed.full_levels=10", "--set", "feed.book_snapshot_sec=0.5"] };
const RUN_MS = 20_000;
const DOWN_MS = 15_000;

interface Outcome {
  readonly depth: Depth;
  readonly fx: FakeExchange;
  readonly store: Store;
  readonly stoppedAt: number;
  readonly secondExit: number;
  /** What the second process printed (its run log lines). */
  readonly secondOutput: string;
}

/** The repository's config.toml with a custom indicator, so custom kinds go through restarts too. */
function configWithCustomIndicator(): string {
  const dir = tempDir("restart-config");
  mkdirSync(join(dir, "indicators"));
  copyFileSync(join(REPO, "examples", "indicators", "vwap-dev.ts"), join(dir, "indicators", "vwap-dev.ts"));
  const config = join(dir, "config.toml");
  writeFileSync(config, `${readFileSync(join(REPO, "config.toml"), "utf8")}\n[[indicators.custom]]\nmodule = "indicators/vwap-dev.ts"\nparams = { window_sec = 5 }\n`);
  return config;
}

/** `kind=` folders under a Parquet root (raw/ or preview/). */
function kindsUnder(root: string): string[] {
  const kinds = new Set<string>();
  const list = (d: string) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };
  for (const date of list(root)) for (const sym of list(join(root, date))) for (const k of list(join(root, date, sym))) if (k.startsWith("kind=")) kinds.add(k.slice(5));
  return [...kinds].sort();
}

/** Every row of `kind` under `root`, all columns, sorted. */
function kindRows(root: string, kind: string): Promise<Record<string, unknown>[]> {
  return query(`SELECT * EXCLUDE (date, kind) FROM ${hive(join(root, "*", "*", `kind=${kind}`, "*.parquet"))} ORDER BY ALL`);
}

const fakes: FakeExchange[] = [];
afterAll(async () => {
  for (const fx of fakes) await fx.stop().catch(() => {});
});

async function scenario(stop: "SIGKILL" | "SIGTERM", depth: Depth = "depth5"): Promise<Outcome> {
  const symbols = SYMBOLS[depth];
  const fx = await startFakeExchange({ symbols, speed: 2, recordFrames: false, ...(depth === "full" ? { diffDepth: true, bookHistoryLevels: 10 } : {}) });
  fakes.push(fx);
  const store = { ...newStore(fx, symbols), config: configWithCustomIndicator() };
  const t0 = Date.now();
  const first = startRun(store, DEPTH_ARGS[depth]);
  await waitForTrades(store, symbols);
  await Bun.sleep(Math.max(0, RUN_MS - (Date.now() - t0)));
  const stoppedAt = Date.now();
  if (stop === "SIGKILL") await kill(first);
  else expect((await first.stop("SIGTERM")).exitCode).toBe(0);
  await Bun.sleep(DOWN_MS);
  const second = startRun(store, DEPTH_ARGS[depth]);
  // Live trades of the second process reach the log only after the backfill before them.
  await waitFor(
    "a live trade of every symbol in the second process",
    () => (symbols.every((s) => tradeLines(store, s).some((t) => t.session === 2 && !t.backfill)) ? true : undefined),
    40_000,
    250,
  );
  await Bun.sleep(3000);
  const r = await second.stop("SIGTERM");
  if (r.exitCode !== 0) console.error(r.stderr);
  await fx.stop();
  return { depth, fx, store, stoppedAt, secondExit: r.exitCode, secondOutput: r.stdout + r.stderr };
}

async function check(o: Outcome, stop: "SIGKILL" | "SIGTERM"): Promise<void> {
  expect(o.secondExit).toBe(0);
  const replayed = await replayInto(o.store, DEPTH_ARGS[o.depth]);
  let downTotal = 0;
  for (const symbol of SYMBOLS[o.depth]) {
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

    // The live Parquet, as the second process left it: no replay has touched it.
    const live = await pricesIds(join(o.store.dir, "raw"), symbol);
    expect([...live.count.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect([...live.count.values()].every((n) => n === 1)).toBe(true);
    for (const id of down) expect(live.backfilled.has(id)).toBe(true);
    expect(ids.filter((id) => live.backfilled.has(id))).toEqual(lines.filter((t) => t.backfill).map((t) => t.id));

    const rep = await pricesIds(replayed, symbol);
    expect([...rep.count.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect([...rep.count.values()].every((n) => n === 1)).toBe(true);
    expect(down.every((id) => rep.backfilled.has(id))).toBe(true);
  }
  // 15 s of trading at speed 2 leaves ids to backfill.
  expect(downTotal).toBeGreaterThan(10);

  // Every kind of the live trees equals the replay of the log, row for row (the recovered hours are
  // the whole span here).
  const replayedRoot = dirname(replayed);
  const compared: Record<string, number> = {};
  for (const tree of ["raw", "preview"]) {
    const liveRoot = join(o.store.dir, tree);
    const kinds = kindsUnder(liveRoot);
    expect(kindsUnder(join(replayedRoot, tree))).toEqual(kinds);
    for (const kind of kinds) {
      const a = await kindRows(liveRoot, kind);
      const b = await kindRows(join(replayedRoot, tree), kind);
      expect({ kind, rows: a.length }).toEqual({ kind, rows: b.length });
      expect(a).toEqual(b);
      compared[kind] = a.length;
    }
  }
  for (const kind of ["prices", "orderbook", "ofi", "cvd", "custom_vwap_dev", ...(o.depth === "full" ? ["book_l2"] : [])]) expect(compared[kind] ?? 0).toBeGreaterThan(50);
  console.log(`${stop} (${o.depth}): rows compared per kind ${JSON.stringify(compared)}`);
  // The second process says whether it rebuilt anything: only after the kill.
  expect(o.secondOutput.includes("previous run was interrupted")).toBe(stop === "SIGKILL");
}

describe("restart backfill", () => {
  test(
    "SIGKILL and SIGTERM, 15 s down: every id of the span stored exactly once, the down time backfilled",
    async () => {
      const [killed, stopped, killedFull] = await Promise.all([scenario("SIGKILL"), scenario("SIGTERM"), scenario("SIGKILL", "full")]);
      await check(killed, "SIGKILL");
      await check(stopped, "SIGTERM");
      await check(killedFull, "SIGKILL");
    },
    150_000,
  );
});
