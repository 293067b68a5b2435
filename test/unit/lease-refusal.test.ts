// Under the trading lease (trade.lease = "nats"), a term whose start the venue refuses (a key, a
// signature, a setting it rejects) ends asking for the lease for good in this process: the lease is
// given up for another collector, one error line names the refusal, and the status and /health say
// "not retrying" as a refused start outside the lease does (start-retry.ts). A start that got no
// answer is still retried a TTL later. What the venue answered decides, through start.ts's
// StartAnswers: first with scripted answers, then through startLiveTrading against the fake testnet
// with a wrong API key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { VenueAudit } from "../../src/core/execution.ts";
import type { RowSink } from "../../src/core/rows.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { executionVenue } from "../../src/pipeline/venue.ts";
import { LeasedTrading, type LeaseAnswer } from "../../src/trading/live/lease.ts";
import { startLiveTrading } from "../../src/trading/live/start.ts";
import { StartAnswers } from "../../src/trading/live/start-retry.ts";
import { newTradeCounters, type LiveTrader } from "../../src/trading/live/trader.ts";
import { createLogger, type Logger } from "../../src/util/log.ts";
import type { FakeExchange } from "../fake-exchange/index.ts";
import type { FakeTestnet } from "../fake-testnet/index.ts";
import { tempDir } from "../helpers/binary.ts";
import { startVenue } from "./trade-unit-support.ts";

/** A lease nobody else holds: every ask is answered "held"; asks and releases counted. */
class CountingLease {
  readonly me = "me-1";
  holds = 0;
  releases = 0;
  closed = false;
  async hold(): Promise<LeaseAnswer> {
    this.holds++;
    return { held: true };
  }
  async release(): Promise<void> {
    this.releases++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A logger that keeps its error lines (message and fields). */
function errorKeeping(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const log = createLogger({ stderr: false });
  const logged = log.log.bind(log);
  log.log = (level, msg, fields) => {
    if (level === "error") errors.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    logged(level, msg, fields);
  };
  return { log, errors };
}

const audit = (status: number): VenueAudit => ({ ts_ms: 0, method: "POST", path: "/fapi/v1/leverage", params: {}, status, latency_ms: 1, response: null });

/** A trader whose start makes the venue answer `statuses` in turn (noted as start.ts notes every request), then fails with `error`. */
class AnsweredTrader {
  readonly counters = newTradeCounters();
  readonly skipped: Record<string, number> = {};
  fencedWith: string | null = null;
  constructor(
    private readonly answers: StartAnswers,
    private readonly statuses: readonly number[],
    private readonly error: string,
  ) {}
  async start(): Promise<string | null> {
    for (const s of this.statuses) this.answers.note(audit(s));
    return this.error;
  }
  fence(reason: string): void {
    this.fencedWith = reason;
  }
  async stop(): Promise<string[]> {
    return [];
  }
  onRow(): void {}
  healthReasons(): string[] {
    return [];
  }
  status() {
    return { ready: true, user_stream: true, in_sync: true, symbols: [], counters: this.counters, skipped: this.skipped, limits: { used_weight_1m: 0, order_count_10s: 0, order_count_1m: 0 } };
  }
}

const TTL = 600;
const REFUSAL = "setting leverage 5 on BTCUSDT failed: -2015 Invalid API-key, IP, or permissions for action.";

function leased(statuses: readonly number[], error: string): { s: LeasedTrading; lease: CountingLease; traders: AnsweredTrader[]; errors: string[] } {
  const lease = new CountingLease();
  const answers = new StartAnswers();
  const traders: AnsweredTrader[] = [];
  const { log, errors } = errorKeeping();
  const s = new LeasedTrading(lease, () => {
    const t = new AnsweredTrader(answers, statuses, error);
    traders.push(t);
    return t as unknown as LiveTrader;
  }, log, { ttlMs: TTL, answers });
  return { s, lease, traders, errors };
}

describe("a refused start under the trading lease", () => {
  test("refused: the lease is given up and never asked for again; status and /health say not retrying", async () => {
    // ping answered, then the leverage refused (401).
    const { s, lease, traders, errors } = leased([200, 401], REFUSAL);
    s.start();
    try {
      await Bun.sleep(100);
      expect(traders).toHaveLength(1);
      expect(traders[0]!.fencedWith).toBe(REFUSAL);
      expect(lease.releases).toBe(1);
      const asked = lease.holds;
      // Three TTLs: an outage would have been retried three times by now.
      await Bun.sleep(3 * TTL);
      expect(lease.holds).toBe(asked);
      expect(traders).toHaveLength(1);
      const st = s.status();
      expect(st.ready).toBe(false);
      expect(st.start).toEqual({ error: REFUSAL, attempts: 1, retrying: false, next_attempt_in_ms: null });
      expect(st.lease).toMatchObject({ held: false, terms: 1 });
      expect(s.healthReasons()).toEqual([`trade: not started: ${REFUSAL}; not retrying: the venue refused it (fix it, then restart)`]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("the venue refused the trader's start; not retrying");
      expect(errors[0]).toContain("Invalid API-key");
    } finally {
      await s.stop(false);
    }
    expect(lease.closed).toBe(true);
  });

  test("no answer (a network error, a 5xx, a 429): the lease is asked for again after a TTL, as before", async () => {
    for (const status of [0, 503, 429]) {
      const { s, lease, traders } = leased([200, status], "cannot reach the trading venue: ECONNREFUSED");
      s.start();
      try {
        await Bun.sleep(100);
        expect(traders).toHaveLength(1);
        expect(lease.releases).toBe(1);
        // Standing by until the next ask: the failed start shows, retried; /health stays as it was.
        expect(s.status().start).toMatchObject({ error: "cannot reach the trading venue: ECONNREFUSED", attempts: 1, retrying: true });
        expect(s.healthReasons()).toEqual([]);
        // A TTL (plus up to a quarter's wait for the next ask) between terms.
        const end = performance.now() + 4 * TTL;
        while (traders.length < 3 && performance.now() < end) await Bun.sleep(20);
        expect({ status, terms: traders.length }).toEqual({ status, terms: 3 });
        expect(s.status().start).toMatchObject({ attempts: 3, retrying: true });
      } finally {
        await s.stop(false);
      }
    }
  });
});

describe("startLiveTrading under the lease, the venue refusing the key", () => {
  const SYMBOL = "BTCUSDT";
  const KEY = "leaseRefusalKey-0123456789";
  const SECRET = "leaseRefusalSecret-0123456789";
  const TTL_SEC = 4;
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

  test("the first term's refusal ends the asking: no more lease asks, no more requests to the venue", async () => {
    const lease = new CountingLease();
    const { log, errors } = errorKeeping();
    const cfg = ConfigSchema.parse({
      symbols: [SYMBOL],
      trade: { enable: true, rest: tn.restBase, user_stream: tn.wsBase, symbols: { [SYMBOL]: {} }, order_timeout_ms: 1000, resolve_deadline_ms: 1000, lease: "nats", lease_ttl_sec: TTL_SEC },
    });
    const before = tn.server.requests.length;
    const r = await startLiveTrading(
      {
        trade: cfg.trade, strategy: cfg.strategy, risk: cfg.risk, takerBps: 5, collected: [SYMBOL], ndjsonDir: tempDir("lease-refusal"),
        // A key the venue does not know: exchangeInfo (unsigned) answers, the first signed request is refused.
        venue: (t) => executionVenue(t, { BINANCE_API_KEY: "notTheKey-0123456789abcdef", BINANCE_API_SECRET: SECRET }),
        lease: () => lease,
      },
      rows,
      log,
    );
    if (!r.ok) throw new Error(r.error);
    try {
      const end = Date.now() + 10_000;
      while (r.trader.status().start === undefined) {
        if (Date.now() > end) throw new Error("timed out: the first term's start");
        await Bun.sleep(20);
      }
      const asked = lease.holds;
      const sent = tn.server.requests.length;
      const refused = tn.server.requests.slice(before).filter((q) => q.status === 401);
      expect(refused.length).toBeGreaterThan(0);
      // Past two more TTLs: an outage would have had two more terms.
      await Bun.sleep(2 * TTL_SEC * 1000 + 500);
      expect(lease.holds).toBe(asked);
      expect(tn.server.requests.length).toBe(sent);
      expect(lease.releases).toBe(1);
      const st = r.trader.status();
      expect(st.start).toMatchObject({ attempts: 1, retrying: false, next_attempt_in_ms: null });
      expect(st.start?.error).toContain("Invalid API-key");
      expect(st.lease).toMatchObject({ held: false, terms: 1 });
      const [reason, ...more] = r.trader.healthReasons();
      expect(more).toEqual([]);
      expect(reason).toMatch(/^trade: not started: .*Invalid API-key.*; not retrying: the venue refused it \(fix it, then restart\)$/);
      expect(errors.filter((e) => e.includes("the venue refused the trader's start"))).toHaveLength(1);
    } finally {
      await r.trader.stop(false, 1000);
    }
  }, 30_000);
});
