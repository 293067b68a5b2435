// A trader whose venue does not answer at start (src/trading/live/start-retry.ts, start.ts): the
// start is retried with growing pauses while /health names why, a refusal ends the retries, and a
// stop during an attempt waits for it only within its budget. What the venue answered decides
// between an outage and a refusal; startLiveTrading hands the collector a retrying session for an
// outage and refuses for a symbol the venue does not list.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { VenueAudit } from "../../src/core/execution.ts";
import type { Row, RowKind, RowSink } from "../../src/core/rows.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { executionVenue } from "../../src/pipeline/venue.ts";
import type { TradingSession } from "../../src/trading/live/session.ts";
import { startLiveTrading } from "../../src/trading/live/start.ts";
import { RetryingStart, StartAnswers, type StartAttempt } from "../../src/trading/live/start-retry.ts";
import { newTradeCounters } from "../../src/trading/live/trader.ts";
import { createLogger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { freePort, tempDir } from "../helpers/binary.ts";
import { startVenue } from "./trade-unit-support.ts";

const log = createLogger({ stderr: false });
const FAST = { firstMs: 40, maxMs: 160 };

/** A session that records what reaches it. */
class SessionSpy implements TradingSession {
  readonly rows: RowKind[] = [];
  readonly stops: { flatten: boolean; budgetMs: number | undefined }[] = [];
  onRow(kind: RowKind, _row: Row): void {
    this.rows.push(kind);
  }
  status() {
    return { ready: true, user_stream: true, in_sync: true, symbols: [], counters: newTradeCounters(), skipped: {}, limits: { used_weight_1m: 0, order_count_10s: 0, order_count_1m: 0 } };
  }
  healthReasons(): string[] {
    return ["from the session"];
  }
  async stop(flatten: boolean, budgetMs?: number): Promise<string[]> {
    this.stops.push({ flatten, budgetMs });
    return ["BTCUSDT"];
  }
}

/** Attempts that answer in turn from `script`, each after `takesMs`; the times they were made. */
function scripted(script: StartAttempt[], takesMs = 0): { attempt: () => Promise<StartAttempt>; at: number[] } {
  const at: number[] = [];
  return {
    at,
    attempt: async () => {
      at.push(performance.now());
      await Bun.sleep(takesMs);
      return script.shift() ?? { ok: false, refused: false, error: "script ran out" };
    },
  };
}

const outage = (error: string): StartAttempt => ({ ok: false, refused: false, error });

async function until(what: string, f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(5);
  }
}

describe("retrying the trader's start", () => {
  test("an outage is retried with growing pauses; /health names it until the start succeeds, then the session answers", async () => {
    const spy = new SessionSpy();
    const { attempt, at } = scripted([outage("second: ECONNREFUSED"), outage("third: HTTP 503"), { ok: true, session: spy }]);
    const r = new RetryingStart(attempt, "exchangeInfo failed: ECONNREFUSED", log, FAST);
    expect(r.healthReasons()).toEqual(["trade: not started: exchangeInfo failed: ECONNREFUSED; retrying (1 attempt so far)"]);
    expect(r.status().ready).toBe(false);
    expect(r.status().start).toMatchObject({ error: "exchangeInfo failed: ECONNREFUSED", attempts: 1, retrying: true });
    r.onRow("fusion", { symbol: "BTCUSDT" });
    await until("two retries", () => at.length === 2);
    await until("the second retry's answer", () => r.status().start?.attempts === 3);
    expect(r.healthReasons()).toEqual(["trade: not started: third: HTTP 503; retrying (3 attempts so far)"]);
    await until("started", () => r.status().ready);
    expect(at).toHaveLength(3);
    // The pauses double: 40 ms before the first retry, 80 before the second, 160 before the third.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(75);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(155);
    expect(r.healthReasons()).toEqual(["from the session"]);
    expect(r.status().start).toBeUndefined();
    r.onRow("fusion", { symbol: "BTCUSDT" });
    expect(spy.rows).toEqual(["fusion"]);
    expect(await r.stop(true, 500)).toEqual(["BTCUSDT"]);
    expect(spy.stops[0]!.flatten).toBe(true);
    expect(spy.stops[0]!.budgetMs).toBeLessThanOrEqual(500);
  });

  test("a refusal ends the retries, and /health says so", async () => {
    const { attempt, at } = scripted([{ ok: false, refused: true, error: "setting leverage 5 on BTCUSDT failed: Invalid API-key" }]);
    const r = new RetryingStart(attempt, "exchangeInfo failed: ECONNREFUSED", log, FAST);
    await until("refused", () => r.status().start?.retrying === false);
    await Bun.sleep(200);
    expect(at).toHaveLength(1);
    expect(r.healthReasons()).toEqual(["trade: not started: setting leverage 5 on BTCUSDT failed: Invalid API-key; not retrying: the venue refused it (fix it, then restart)"]);
    expect(await r.stop(true)).toEqual([]);
  });

  test("a stop waits for an attempt on the wire within its budget, and stops what it starts", async () => {
    const spy = new SessionSpy();
    const { attempt, at } = scripted([{ ok: true, session: spy }], 100);
    const r = new RetryingStart(attempt, "down", log, FAST);
    await until("an attempt on the wire", () => at.length === 1);
    expect(await r.stop(true, 1000)).toEqual(["BTCUSDT"]);
    expect(spy.stops).toHaveLength(1);
  });

  test("an attempt later than the stop's budget is not waited for; what it starts is stopped at once, sending nothing", async () => {
    const spy = new SessionSpy();
    const { attempt, at } = scripted([{ ok: true, session: spy }], 300);
    const r = new RetryingStart(attempt, "down", log, FAST);
    await until("an attempt on the wire", () => at.length === 1);
    const t0 = performance.now();
    expect(await r.stop(true, 50)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(250);
    await until("the late session stopped", () => spy.stops.length === 1);
    expect(spy.stops[0]).toEqual({ flatten: false, budgetMs: 0 });
    expect(r.status().ready).toBe(false);
  });

  test("no retry after a stop", async () => {
    const { attempt, at } = scripted([]);
    const r = new RetryingStart(attempt, "down", log, FAST);
    await r.stop(true);
    await Bun.sleep(150);
    expect(at).toEqual([]);
  });
});

describe("an outage or a refusal", () => {
  const audit = (status: number): VenueAudit => ({ ts_ms: 0, method: "GET", path: "/x", params: {}, status, latency_ms: 1, response: null });
  const after = (...statuses: number[]): StartAnswers => {
    const a = new StartAnswers();
    for (const s of statuses) a.note(audit(s));
    return a;
  };

  test("no answer, a server error or a 'later' is an outage; any other 4xx a refusal; only the last failure counts", () => {
    for (const s of [0, 500, 502, 503, 504, 408, 418, 429]) expect({ s, unanswered: after(s).unanswered, refused: after(s).refused }).toEqual({ s, unanswered: true, refused: false });
    for (const s of [400, 401, 403, 404]) expect({ s, unanswered: after(s).unanswered, refused: after(s).refused }).toEqual({ s, unanswered: false, refused: true });
    // A refusal mended by a later request (a -1021 re-synced and sent again), then a network error: an outage.
    expect(after(400, 200, 0).unanswered).toBe(true);
    // The last request answered: neither (the step failed without the venue's word).
    expect(after(401, 200).unanswered || after(401, 200).refused).toBe(false);
    const cleared = after(0);
    cleared.clear();
    expect(cleared.unanswered).toBe(false);
  });
});

describe("startLiveTrading", () => {
  const SYMBOL = "BTCUSDT";
  const KEY = "unitStartKey-0123456789";
  const SECRET = "unitStartSecret-0123456789";
  let fx: FakeExchange;
  let tn: FakeTestnet;
  const rows: RowSink = { append() {} };

  beforeAll(async () => {
    ({ fx, tn } = await startVenue(SYMBOL, KEY, SECRET));
  });
  afterAll(async () => {
    await tn.stop();
    await fx.stop();
  });

  const start = (rest: string, symbols: Record<string, object>) => {
    const cfg = ConfigSchema.parse({ symbols: [SYMBOL, "NOTLISTED"], trade: { enable: true, rest, user_stream: rest.replace("http", "ws"), symbols, order_timeout_ms: 1000 } });
    return startLiveTrading(
      { trade: cfg.trade, strategy: cfg.strategy, risk: cfg.risk, takerBps: 5, collected: [SYMBOL, "NOTLISTED"], ndjsonDir: tempDir("trade-start"), venue: (t) => executionVenue(t, { BINANCE_API_KEY: KEY, BINANCE_API_SECRET: SECRET }) },
      rows,
      log,
    );
  };

  test("a venue not listening: a session that retries, its health naming exchangeInfo", async () => {
    const r = await start(`http://127.0.0.1:${freePort()}`, { [SYMBOL]: {} });
    if (!r.ok) throw new Error(r.error);
    const [reason] = r.trader.healthReasons();
    expect(reason).toMatch(/^trade: not started: exchangeInfo from http:\/\/127\.0\.0\.1:\d+ failed: network error: .*ECONNREFUSED.*; retrying \(1 attempt so far\)$/);
    expect(await r.trader.stop(true, 1000)).toEqual([]);
  });

  test("a symbol the venue does not list is refused (exit 1), not retried", async () => {
    const r = await start(tn.restBase, { NOTLISTED: {} });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe("venue");
    expect(r.error).toContain("does not list NOTLISTED");
  });
});
