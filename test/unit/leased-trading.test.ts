// LeasedTrading's rules with a lease and traders under the test's control: a term begins when the
// lease is held, ends (fenced) when it is taken or when renewals hang past half the TTL, a trader
// that cannot start gives the lease up and waits a TTL, and standing by is healthy while an
// unreachable lease is not.
import { describe, expect, test } from "bun:test";
import type { LeaseAnswer } from "../../src/trading/live/lease.ts";
import { LeasedTrading } from "../../src/trading/live/lease.ts";
import { newTradeCounters, type LiveTrader } from "../../src/trading/live/trader.ts";
import { createLogger } from "../../src/util/log.ts";

const TTL = 800;

class ScriptedLease {
  readonly me = "me-1";
  /** What hold() answers next; a Promise that never settles models NATS gone silent. */
  next: () => Promise<LeaseAnswer> = async () => ({ held: true });
  releases = 0;
  /** When the last "held" answer was given, on the fence's clock (monotonic, sub-millisecond). */
  heldAnsweredAt = 0;
  async hold(): Promise<LeaseAnswer> {
    const a = await this.next();
    if (a.held) this.heldAnsweredAt = performance.now();
    return a;
  }
  async release(): Promise<void> {
    this.releases++;
  }
  async close(): Promise<void> {}
}

class FakeTrader {
  readonly counters = newTradeCounters();
  readonly skipped: Record<string, number> = {};
  fencedWith: string | null = null;
  fencedAt = 0;
  started = 0;
  stopped = 0;
  constructor(private readonly startResult: string | null) {}
  async start(): Promise<string | null> {
    this.started++;
    return this.startResult;
  }
  fence(reason: string): void {
    this.fencedWith = reason;
    this.fencedAt = performance.now();
  }
  async stop(): Promise<string[]> {
    this.stopped++;
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

function session(lease: ScriptedLease, startResult: string | null = null): { s: LeasedTrading; traders: FakeTrader[]; carries: unknown[] } {
  const traders: FakeTrader[] = [];
  const carries: unknown[] = [];
  const s = new LeasedTrading(lease, (carry) => {
    const t = new FakeTrader(startResult);
    traders.push(t);
    carries.push(carry);
    return t as unknown as LiveTrader;
  }, createLogger({ stderr: false }), { ttlMs: TTL });
  return { s, traders, carries };
}

/** Runs `body` against a started session (its first ask answered), then stops it. */
async function during(lease: ScriptedLease, body: (x: ReturnType<typeof session>) => Promise<void>, startResult: string | null = null): Promise<void> {
  const x = session(lease, startResult);
  x.s.start();
  try {
    await Bun.sleep(100);
    await body(x);
  } finally {
    await x.s.stop(false);
  }
}

describe("LeasedTrading", () => {
  test("holds → trades; the lease taken by another → the trader is fenced and it stands by, naming the holder", async () => {
    const lease = new ScriptedLease();
    await during(lease, async ({ s, traders }) => {
      expect(traders).toHaveLength(1);
      expect(traders[0]!.started).toBe(1);
      expect(s.status().lease?.held).toBe(true);
      lease.next = async () => ({ held: false, holder: "other-7", error: null });
      await Bun.sleep(TTL / 4 + 150);
      expect(traders[0]!.fencedWith).toBe("the trading lease is held by other-7");
      const st = s.status();
      expect(st.lease).toMatchObject({ held: false, holder: "other-7", me: "me-1", terms: 1 });
      expect(st.ready).toBe(false);
      expect(s.healthReasons()).toEqual([]);
    });
  });

  test("renewals that hang: the trader is fenced at half the TTL by the clock alone", async () => {
    const lease = new ScriptedLease();
    await during(lease, async ({ traders }) => {
      lease.next = () => new Promise<LeaseAnswer>(() => {});
      await Bun.sleep(TTL);
      expect(traders[0]!.fencedWith).toMatch(/^the trading lease was not renewed for \d/);
      // Not before half the TTL after the last renewal, and soon after it (the watch looks every 200 ms).
      const after = traders[0]!.fencedAt - lease.heldAnsweredAt;
      expect(after).toBeGreaterThan(TTL / 2);
      expect(after).toBeLessThan(TTL / 2 + 350);
    });
  });

  test("a trader that cannot start gives the lease up and waits a TTL before asking again", async () => {
    const lease = new ScriptedLease();
    await during(lease, async ({ traders, carries }) => {
      expect(traders).toHaveLength(1);
      expect(traders[0]!.fencedWith).toBe("cannot reach the trading venue: ECONNREFUSED");
      expect(lease.releases).toBe(1);
      await Bun.sleep(TTL / 2);
      expect(traders).toHaveLength(1);
      await Bun.sleep(TTL);
      expect(traders).toHaveLength(2);
      // The next term continues the last one's counters (LiveTrader takes them from `carry`).
      expect(carries).toEqual([null, traders[0]]);
    }, "cannot reach the trading venue: ECONNREFUSED");
  });

  test("standing by with the lease unreachable: healthy for a TTL, then /health names it", async () => {
    const lease = new ScriptedLease();
    lease.next = async () => ({ held: false, holder: null, error: "NATS: CONNECTION_REFUSED" });
    await during(lease, async ({ s, traders }) => {
      expect(s.healthReasons()).toEqual([]);
      await Bun.sleep(TTL + 200);
      expect(traders).toHaveLength(0);
      expect(s.healthReasons()).toEqual([expect.stringMatching(/^trade lease unreachable for \d+ s: NATS: CONNECTION_REFUSED$/)]);
    });
  });

  test("stop: the holder's trader stops (flattening) and the lease is released", async () => {
    const lease = new ScriptedLease();
    const { s, traders } = session(lease);
    s.start();
    await Bun.sleep(100);
    await s.stop(true);
    expect(traders[0]!.stopped).toBe(1);
    expect(lease.releases).toBe(1);
  });
});
