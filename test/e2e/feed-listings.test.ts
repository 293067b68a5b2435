/**
 * Listings change under a long run (docs/feed.md, "Listings"): two collectors (the compiled binary)
 * on one fake exchange, one with `symbols = "ALL"`, one naming its symbols. Midway the exchange
 * delists SANDUSDT (exchangeInfo says SETTLING, its streams fall silent) and lists NEWUSDT; later
 * SANDUSDT trades again. Both collectors ask exchangeInfo every 3 s. Then:
 * - both show SANDUSDT as not trading in /api/status and /metrics, and log it once;
 * - the "ALL" collector stays healthy while SANDUSDT is silent beyond every timeout, and names
 *   NEWUSDT as listed but not collected;
 * - the collector that names SANDUSDT fails /health with one reason saying to remove it, not with
 *   silent streams;
 * - once SANDUSDT trades again, both clear it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange, type Frame } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { apiStatus, health } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SANDUSDT"];
const SETTINGS = ["feed.listing_check_min=0.05", "health.depth_timeout_sec=2", "health.trade_timeout_sec=4"];

interface Collector {
  readonly name: string;
  readonly port: number;
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

function start(name: string, symbols: readonly string[]): Collector {
  const port = freePort();
  const run = startBinary(["run", "--config", join(REPO, "config.toml"), ...SETTINGS.flatMap((s) => ["--set", s])], collectorEnv(fx, symbols, tempDir(`listings-${name}`), port));
  return { name, port, run };
}

const notTrading = async (c: Collector): Promise<Record<string, string> | undefined> => {
  try {
    return ((await apiStatus(c.port)).listing?.not_trading ?? undefined) as Record<string, string> | undefined;
  } catch {
    return undefined;
  }
};

beforeAll(async () => {
  fx = await startFakeExchange({ symbols: SYMBOLS, speed: 2, recordFrames: false, exchangeInfoServedOnly: true });
  fx.faults.hooks = { beforePublish: (frame: Frame) => (delisted && frame.symbol === "SANDUSDT" ? null : undefined) };
  all = start("all", ["ALL"]);
  named = start("named", SYMBOLS);
  try {
    for (const c of [all, named]) {
      await waitFor(`${c.name}: healthy`, async () => ((await health(c.port).catch(() => null))?.status === 200 ? true : undefined), 20_000, 200);
    }
    delisted = true;
    fx.setListing("SANDUSDT", "SETTLING");
    fx.setListing("NEWUSDT", "TRADING");
    for (const c of [all, named]) await waitFor(`${c.name}: SANDUSDT seen as not trading`, async () => ((await notTrading(c))?.SANDUSDT === "SETTLING" ? true : undefined), 20_000, 200);
    // Past both stream timeouts (2 s book, 4 s trades) with SANDUSDT silent.
    await Bun.sleep(6000);
    for (const c of [all, named]) {
      c.delisted = { status: await apiStatus(c.port), health: await health(c.port), metrics: await (await fetch(`http://127.0.0.1:${c.port}/metrics`)).text() };
    }
    delisted = false;
    fx.setListing("SANDUSDT", "TRADING");
    for (const c of [all, named]) {
      await waitFor(`${c.name}: SANDUSDT trading again`, async () => ((await notTrading(c)) !== undefined && (await notTrading(c))!.SANDUSDT === undefined ? true : undefined), 20_000, 200);
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

  test("status and /metrics name the delisted symbol; with ALL, the new listing as not collected", () => {
    for (const c of [all, named]) {
      expect(c.delisted!.status.listing.not_trading).toEqual({ SANDUSDT: "SETTLING" });
      expect(c.delisted!.metrics).toContain("harvestd_symbols_not_trading 1");
    }
    expect(all.delisted!.status.listing.not_collected).toEqual(["NEWUSDT"]);
    expect(all.delisted!.metrics).toContain("harvestd_listed_not_collected 1");
    expect(all.result!.stderr).toContain("listed on the exchange but not collected");
    // A run that names its symbols is not told about listings it did not ask for.
    expect(named.delisted!.status.listing.not_collected).toEqual([]);
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

  test("once it trades again, both clear it", () => {
    for (const c of [all, named]) expect(c.relisted!.listing.not_trading).toEqual({});
  });
});
