/**
 * Listings change under a long run (docs/feed.md, "Listings"): two collectors (the compiled binary)
 * on one fake exchange, one with `symbols = "ALL"`, one naming its symbols. NEOUSDT is served but
 * PENDING_TRADING at the start, so neither collects it. Midway the exchange delists SANDUSDT
 * (exchangeInfo says SETTLING, its streams fall silent) and lists NEOUSDT; later SANDUSDT trades
 * again. Both collectors ask exchangeInfo every 3 s. Then:
 * - both show SANDUSDT as not trading in /api/status and /metrics, and log it once;
 * - the "ALL" collector stays healthy while SANDUSDT is silent beyond every timeout, and collects
 *   NEOUSDT from its listing on, on connections of its own: a session line, then every trade the
 *   exchange produced from its first one, in the log and in Parquet;
 * - the collector that names SANDUSDT fails /health with one reason saying to remove it, not with
 *   silent streams;
 * - once SANDUSDT trades again, both clear it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange, type Frame } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";
import { ALL_KINDS, apiStatus, health, layout, replayRun, treeDifference } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SANDUSDT"];
/** Served from the start, listed midway. */
const LISTED = "NEOUSDT";
const SETTINGS = ["feed.listing_check_min=0.05", "health.depth_timeout_sec=2", "health.trade_timeout_sec=4"];

interface Collector {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly run: Running;
  result?: RunResult;
  /** While SANDUSDT was delisted and silent beyond every timeout. */
  delisted?: { status: Record<string, any>; health: { status: number; body: { reasons: string[] } }; metrics: string };
  /** After SANDUSDT traded again. */
  relisted?: Record<string, any>;
}

let fx: FakeExchange;
let all: Collector;
let named: Collector;
let delisted = false;
/** The exchange sends nothing of the new listing until the test has looked at /health right after it was added. */
let holdListed = true;
/** The ALL collector's /health just after it added the new listing, before any of its frames. */
let justAdded: { status: number; body: { reasons: string[] } } | null = null;
/** Then, the new listing's trade stream still held back past its timeout: the reason naming it, and how long the test had seen it added. */
let stillSilent: { reason: string; seenAddedS: number } | null = null;

function start(name: string, symbols: readonly string[]): Collector {
  const port = freePort();
  const dir = tempDir(`listings-${name}`);
  const run = startBinary(["run", "--config", join(REPO, "config.toml"), ...SETTINGS.flatMap((s) => ["--set", s])], collectorEnv(fx, symbols, dir, port));
  return { name, port, dir, run };
}

const notTrading = async (c: Collector): Promise<Record<string, string> | undefined> => {
  try {
    return ((await apiStatus(c.port)).listing?.not_trading ?? undefined) as Record<string, string> | undefined;
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  fx = await startFakeExchange({ symbols: [...SYMBOLS, LISTED], speed: 2, recordFrames: false, exchangeInfoServedOnly: true });
  fx.setListing(LISTED, "PENDING_TRADING");
  fx.faults.hooks = { beforePublish: (frame: Frame) => ((delisted && frame.symbol === "SANDUSDT") || (holdListed && frame.symbol === LISTED) ? null : undefined) };
  all = start("all", ["ALL"]);
  named = start("named", SYMBOLS);
  try {
    for (const c of [all, named]) {
      await waitFor(`${c.name}: healthy`, async () => ((await health(c.port).catch(() => null))?.status === 200 ? true : undefined), 20_000, 200);
    }
    delisted = true;
    fx.setListing("SANDUSDT", "SETTLING");
    fx.setListing(LISTED, "TRADING");
    for (const c of [all, named]) await waitFor(`${c.name}: SANDUSDT seen as not trading`, async () => ((await notTrading(c))?.SANDUSDT === "SETTLING" ? true : undefined), 20_000, 200);
    await waitFor(`all: ${LISTED} added`, async () => (((await apiStatus(all.port)).symbols as { symbol: string }[]).some((x) => x.symbol === LISTED) ? true : undefined), 20_000, 100);
    const addedSeenAt = Date.now();
    justAdded = await health(all.port);
    const trades = `${LISTED.toLowerCase()}@aggTrade (`;
    const reason = await waitFor(`all: ${LISTED}'s trades silent beyond timeout`, async () => (await health(all.port)).body.reasons.find((r) => r.includes(trades)), 20_000, 200);
    stillSilent = { reason, seenAddedS: (Date.now() - addedSeenAt) / 1000 };
    holdListed = false;
    await waitFor(`all: ${LISTED} collected`, async () => (((await apiStatus(all.port)).symbols as { symbol: string; trades: number }[]).find((x) => x.symbol === LISTED)?.trades ?? 0) > 0 ? true : undefined, 20_000, 200);
    // Past both stream timeouts (2 s book, 4 s trades) with SANDUSDT silent.
    await Bun.sleep(6000);
    for (const c of [all, named]) {
      c.delisted = { status: await apiStatus(c.port), health: await health(c.port), metrics: await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text() };
    }
    delisted = false;
    fx.setListing("SANDUSDT", "TRADING");
    for (const c of [all, named]) {
      await waitFor(`${c.name}: SANDUSDT trading again`, async () => {
        const now = await notTrading(c);
        return now !== undefined && now.SANDUSDT === undefined ? true : undefined;
      }, 20_000, 200);
      c.relisted = await apiStatus(c.port);
    }
  } finally {
    for (const c of [all, named]) c.result = await c.run.stop("SIGTERM");
  }
}, 90_000);

afterAll(async () => {
  await fx?.stop();
});

describe("listings: a delisting and a new listing during the run", () => {
  test("both collectors exit 0 and log the delisting once, and its end", () => {
    for (const c of [all, named]) {
      if (c.result!.exitCode !== 0) console.error(c.result!.stderr.slice(-2000));
      expect(c.result!.exitCode).toBe(0);
      const lines = c.result!.stderr.split("\n");
      expect(lines.filter((l) => l.includes("symbol no longer trading on the exchange") && l.includes('"symbol":"SANDUSDT"') && l.includes('"status":"SETTLING"')).length).toBe(1);
      expect(lines.filter((l) => l.includes("symbol trading again on the exchange") && l.includes("SANDUSDT")).length).toBe(1);
    }
  });

  test("status and /metrics name the delisted symbol", () => {
    for (const c of [all, named]) {
      expect(c.delisted!.status.listing.not_trading).toEqual({ SANDUSDT: "SETTLING" });
      expect(c.delisted!.metrics).toContain("harvestd_symbols_not_trading 1");
      expect(c.delisted!.status.listing.not_collected).toEqual([]);
    }
  });

  test(`ALL: ${LISTED} is collected from its listing on, on connections of its own; a named run does not take it`, async () => {
    const lines = all.result!.stderr.split("\n");
    expect(lines.filter((l) => l.includes("listed on the exchange, not collected yet") && l.includes(LISTED)).length).toBe(1);
    expect(lines.filter((l) => l.includes('"msg":"collecting new listings"') && l.includes(LISTED)).length).toBe(1);
    expect((all.delisted!.status.symbols as { symbol: string }[]).map((x) => x.symbol)).toContain(LISTED);
    expect(all.delisted!.status.connections.length).toBe(4);
    expect(all.delisted!.metrics).toContain("harvestd_listed_not_collected 0");
    expect(all.delisted!.metrics).toContain(`harvestd_trades_total{symbol="${LISTED}"}`);
    expect((named.delisted!.status.symbols as { symbol: string }[]).map((x) => x.symbol)).not.toContain(LISTED);
    expect(named.result!.stderr).not.toContain("collecting new listings");
    // Its log starts with a session line; its Parquet holds every trade produced from its first one.
    const log = readSymbolLines(join(all.dir, "ndjson"), LISTED);
    expect(log[0]!.event).toBe("session");
    const stored = (await query(`SELECT agg_trade_id FROM ${hive(join(all.dir, "raw", "**", "kind=prices", "*.parquet"))} WHERE symbol = '${LISTED}' ORDER BY agg_trade_id`)).map((r) => Number(r.agg_trade_id));
    expect(stored.length).toBeGreaterThan(0);
    // Between its first and last stored trade, none missing and none twice (the end is cut by the stop).
    const produced = fx.producedTrades(LISTED).map((t) => t.a).filter((a) => a >= stored[0]! && a <= stored[stored.length - 1]!);
    expect(stored).toEqual(produced);
  });

  test(`ALL: ${LISTED}'s streams, silent at first, count from when it was added, not from the start of the run`, () => {
    expect({ status: justAdded!.status, reasons: justAdded!.body.reasons }).toEqual({ status: 200, reasons: [] });
    // Held back past the 4 s trade timeout, it is named as silent since it was added, for no longer than that.
    const m = new RegExp(`${LISTED.toLowerCase()}@aggTrade \\(nothing since it was added, (\\d+) s\\)`).exec(stillSilent!.reason);
    expect(m, stillSilent!.reason).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(4);
    expect(Number(m![1])).toBeLessThanOrEqual(Math.ceil(stillSilent!.seenAddedS) + 1);
  });

  test("ALL: the delisted symbol's silence does not fail /health", () => {
    const h = all.delisted!.health;
    expect({ status: h.status, reasons: h.body.reasons }).toEqual({ status: 200, reasons: [] });
  });

  test("named symbols: /health says to remove the delisted one, and does not count its streams as silent", () => {
    const h = named.delisted!.health;
    expect(h.status).toBe(503);
    expect(h.body.reasons).toEqual(["1 configured symbol not trading on the exchange: SANDUSDT (SETTLING); remove it from symbols"]);
  });

  test("ALL: replay of the log, the new listing's included, gives the run's Parquet, kind by kind", async () => {
    const live = layout(all.dir);
    const { replayed, replay } = await replayRun(live, all.dir);
    expect(replay.exitCode).toBe(0);
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(live, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
  });

  test("once it trades again, both clear it", () => {
    for (const c of [all, named]) expect(c.relisted!.listing.not_trading).toEqual({});
  });
});
