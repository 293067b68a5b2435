/**
 * REST backfill (src/exchange/binance/backfill.ts, rest-client.ts) against a real local HTTP server playing
 * Binance's /fapi/v1/aggTrades: pages, holes, throttling with Retry-After, weight budget. Each client
 * gets limits of its own (`new IpLimits()`): the process keeps them per host, and a 60 s pause or a
 * minute's weight left by one test would hold a later test whose server the OS gave the same port.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Backfiller, streamShapeText, type RecoveredTrade } from "../../src/exchange/binance/backfill.ts";
import { IpLimits } from "../../src/exchange/binance/ip-limits.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";

interface Served {
  readonly a: number;
}

/** A REST stub: `trades` is the exchange's history; `answer` may override any request. */
function restStub(opts: { trades: readonly Served[]; answer?: (n: number, url: URL) => Response | undefined; weightPerRequest?: number }) {
  const requests: { at: number; fromId: number; limit: number }[] = [];
  let used = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const n = requests.length + 1;
      requests.push({ at: Date.now(), fromId: Number(url.searchParams.get("fromId")), limit: Number(url.searchParams.get("limit")) });
      const over = opts.answer?.(n, url);
      if (over) return over;
      used += opts.weightPerRequest ?? 20;
      const fromId = Number(url.searchParams.get("fromId"));
      const limit = Number(url.searchParams.get("limit"));
      const page = opts.trades.filter((t) => t.a >= fromId).slice(0, limit);
      const body = `[${page.map((t) => `{"a":${t.a},"p":"1.5","q":"0.010","f":${t.a * 2},"l":${t.a * 2 + 1},"T":${1000 + t.a},"m":${t.a % 2 === 0}}`).join(",")}]`;
      return new Response(body, { headers: { "x-mbx-used-weight-1m": String(used) } });
    },
  });
  return { server, requests, base: `http://127.0.0.1:${server.port}` };
}

function collect() {
  const events: string[] = [];
  const trades: RecoveredTrade[] = [];
  let resolveDone: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    events,
    trades,
    done,
    listener: {
      trades(list: readonly RecoveredTrade[]) {
        trades.push(...list);
        events.push(`trades ${list[0]!.a}-${list[list.length - 1]!.a}`);
      },
      missing(from: number, to: number) {
        events.push(`missing ${from}-${to}`);
      },
      done() {
        events.push("done");
        resolveDone();
      },
    },
  };
}

const ids = (from: number, to: number): Served[] => Array.from({ length: to - from + 1 }, (_, i) => ({ a: from + i }));

let stub: ReturnType<typeof restStub> | null = null;
afterEach(() => {
  stub?.server.stop(true);
  stub = null;
});

describe("streamShapeText: REST aggTrade → the stream's aggTrade shape", () => {
  test("e first, s after a, REST fields in REST order with their values as received, no E", () => {
    const rest = `{"a":26129,"p":"0.01633102","q":"4.70443515","nq":"4.7","f":27781,"l":27781,"T":1498793709153,"m":true}`;
    expect(streamShapeText("BTCUSDT", JSON.parse(rest))).toBe(
      `{"e":"aggTrade","a":26129,"s":"BTCUSDT","p":"0.01633102","q":"4.70443515","nq":"4.7","f":27781,"l":27781,"T":1498793709153,"m":true}`,
    );
  });

  test("a REST object lacking what the engine needs is not used", () => {
    expect(streamShapeText("X", { a: 1, p: "1", q: "1", T: 1 })).toBeNull();
    expect(streamShapeText("X", { a: "1", p: "1", q: "1", T: 1, m: true })).toBeNull();
    expect(streamShapeText("X", { a: 1, p: 1, q: "1", T: 1, m: true })).toBeNull();
    expect(streamShapeText("X", null)).toBeNull();
  });
});

describe("Backfiller against a local REST server", () => {
  test("fetches a range larger than one page in pages of at most 1000, in id order", async () => {
    stub = restStub({ trades: ids(100, 3000) });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()));
    const c = collect();
    bf.start("BTCUSDT", 200, 2399, c.listener);
    await c.done;
    expect(c.trades.map((t) => t.a)).toEqual(ids(200, 2399).map((t) => t.a));
    expect(stub.requests.map((r) => [r.fromId, r.limit])).toEqual([
      [200, 1000],
      [1200, 1000],
      [2200, 200],
    ]);
    expect(c.trades[0]!.text).toBe(`{"e":"aggTrade","a":200,"s":"BTCUSDT","p":"1.5","q":"0.010","f":400,"l":401,"T":1200,"m":true}`);
    expect(c.events.at(-1)).toBe("done");
    expect(bf.counters).toMatchObject({ jobs: 1, recovered: 2200, missingIds: 0 });
  });

  test("ids the exchange does not serve are reported missing, in order with the trades around them", async () => {
    stub = restStub({ trades: [...ids(10, 12), ...ids(15, 20)] });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()));
    const c = collect();
    bf.start("BTCUSDT", 8, 16, c.listener);
    await c.done;
    expect(c.events).toEqual(["missing 8-9", "trades 10-12", "missing 13-14", "trades 15-16", "done"]);
  });

  test("a range REST cannot reach yet is retried a few times, then reported missing", async () => {
    stub = restStub({ trades: ids(1, 5) });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()), { maxRetries: 2, retryDelayMs: 20 });
    const c = collect();
    bf.start("BTCUSDT", 3, 8, c.listener);
    await c.done;
    expect(c.events).toEqual(["trades 3-5", "missing 6-8", "done"]);
    // First page, then two short-page retries.
    expect(stub.requests.map((r) => r.fromId)).toEqual([3, 6, 6]);
  });

  test("HTTP 429 with Retry-After pauses every request that long, then the job completes", async () => {
    stub = restStub({
      trades: ids(1, 50),
      answer: (n) => (n === 1 ? new Response('{"code":-1003}', { status: 429, headers: { "retry-after": "1" } }) : undefined),
    });
    const rest = new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits());
    const bf = new Backfiller(rest);
    const c = collect();
    bf.start("BTCUSDT", 10, 20, c.listener);
    await c.done;
    expect(c.trades.map((t) => t.a)).toEqual(ids(10, 20).map((t) => t.a));
    expect(stub.requests.length).toBe(2);
    expect(stub.requests[1]!.at - stub.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(rest.counters.throttled).toBe(1);
  });

  test("after a pause one request probes alone; the others wait for its answer (no burst after a 429)", async () => {
    stub = restStub({
      trades: ids(1, 50),
      answer: (n) => (n <= 2 ? new Response('{"code":-1003}', { status: 429, headers: { "retry-after": "1" } }) : undefined),
    });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()), { concurrency: 2 });
    const jobs = ["A", "B", "C"].map((s) => {
      const c = collect();
      bf.start(s, 5, 5, c.listener);
      return c.done;
    });
    await Promise.all(jobs);
    const t = stub.requests.map((r) => r.at);
    expect(t.length).toBe(5);
    // Two sent together and throttled; then the probe, alone, a second later; then the rest after it.
    expect(t[1]! - t[0]!).toBeLessThan(100);
    expect(t[2]! - t[1]!).toBeGreaterThanOrEqual(950);
    expect(t[3]!).toBeGreaterThanOrEqual(t[2]!);
  });

  test("close() ends every wait at once", async () => {
    stub = restStub({ trades: ids(1, 5), answer: (n) => (n === 1 ? new Response("{}", { status: 429, headers: { "retry-after": "60" } }) : undefined) });
    const rest = new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits());
    expect((await rest.get("/fapi/v1/aggTrades", { symbol: "X" }, 20)).status).toBe(429);
    const waiting = rest.get("/fapi/v1/aggTrades", { symbol: "X" }, 20);
    await Bun.sleep(50);
    rest.close();
    const r = await waiting;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe("REST client closed");
    expect(stub.requests.length).toBe(1);
  });

  test("HTTP 418 without Retry-After pauses every request for the default ban time", async () => {
    stub = restStub({ trades: [], answer: () => new Response('{"code":-1003}', { status: 418 }) });
    const rest = new RestClient({ baseUrl: stub.base, weightBudget1m: 2400, defaultRetryAfterMs: 5000 }, new IpLimits());
    expect(rest.waitMs(20)).toBe(0);
    const r = await rest.get("/fapi/v1/aggTrades", { symbol: "X" }, 20);
    expect(r.ok).toBe(false);
    expect(r.status).toBe(418);
    const wait = rest.waitMs(20);
    expect(wait).toBeGreaterThan(4000);
    expect(wait).toBeLessThanOrEqual(5000);
  });

  test("a 4xx other than 429/418 is final: the range is reported missing at once", async () => {
    stub = restStub({ trades: [], answer: () => new Response('{"code":-1121,"msg":"Invalid symbol."}', { status: 400 }) });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()));
    const c = collect();
    bf.start("NOPEUSDT", 1, 5, c.listener);
    await c.done;
    expect(c.events).toEqual(["missing 1-5", "done"]);
    expect(stub.requests.length).toBe(1);
  });

  test("a cancelled job reports nothing more", async () => {
    stub = restStub({ trades: ids(1, 5000) });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()));
    const c = collect();
    const job = bf.start("BTCUSDT", 1, 4000, c.listener);
    job.cancel();
    await Bun.sleep(100);
    expect(c.events).toEqual([]);
    expect(bf.pending).toBe(0);
  });

  test("jobs take turns page by page: a short gap is not stuck behind a long one", async () => {
    stub = restStub({ trades: ids(1, 10_000) });
    const bf = new Backfiller(new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits()), { concurrency: 1 });
    const long = collect();
    const short = collect();
    const order: string[] = [];
    bf.start("LONG", 1, 5000, { ...long.listener, done: () => (order.push("long"), long.listener.done()) });
    bf.start("SHORT", 1, 10, { ...short.listener, done: () => (order.push("short"), short.listener.done()) });
    await Promise.all([long.done, short.done]);
    expect(order).toEqual(["short", "long"]);
  });
});

describe("RestClient request weight", () => {
  test("a request that would exceed the minute's budget waits for the next minute", async () => {
    stub = restStub({ trades: ids(1, 10), weightPerRequest: 50 });
    const rest = new RestClient({ baseUrl: stub.base, weightBudget1m: 100 }, new IpLimits());
    const r1 = await rest.get("/fapi/v1/aggTrades", { symbol: "X", fromId: 1, limit: 1 }, 50);
    expect(r1.ok).toBe(true);
    expect(rest.counters.usedWeight1m).toBe(50);
    const now = Date.now();
    // 50 used + 50 more = 100: still within the budget; 50 + 60 is not.
    expect(rest.waitMs(50, now)).toBe(0);
    const wait = rest.waitMs(60, now);
    const toNextMinute = (Math.floor(now / 60_000) + 1) * 60_000 - now;
    expect(wait).toBeGreaterThanOrEqual(toNextMinute);
    expect(wait).toBeLessThanOrEqual(toNextMinute + 100);
  });

  test("weight used in an earlier minute does not count", () => {
    const rest = new RestClient({ baseUrl: "http://127.0.0.1:1", weightBudget1m: 100 }, new IpLimits());
    const ip = (rest as unknown as { ip: { minute: number; used: number } }).ip;
    ip.minute = Math.floor(Date.now() / 60_000) - 1;
    ip.used = 100;
    expect(rest.waitMs(60)).toBe(0);
  });

  test("a network failure is a result, not an exception", async () => {
    const rest = new RestClient({ baseUrl: "http://127.0.0.1:9", weightBudget1m: 100, timeoutMs: 2000 }, new IpLimits());
    const r = await rest.get("/fapi/v1/aggTrades", { symbol: "X" }, 20);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain("/fapi/v1/aggTrades");
    expect(rest.counters.failures).toBe(1);
  });
});

/**
 * Binance counts weight and bans per IP: every feed of a process (the first, each new listing's, the
 * relay) takes a user() of one client (src/exchange/binance/adapter.ts).
 */
describe("users of one RestClient", () => {
  test("a 429 answered to one user pauses the others for its Retry-After; then one probe goes alone", async () => {
    stub = restStub({ trades: ids(1, 50), answer: (n) => (n === 1 ? new Response('{"code":-1003}', { status: 429, headers: { "retry-after": "1" } }) : undefined) });
    const root = new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits());
    const [a, b, c] = [root.user(), root.user(), root.user()];
    expect((await a.get("/fapi/v1/aggTrades", { symbol: "A", fromId: 1, limit: 1 }, 20)).status).toBe(429);
    const [rb, rc] = await Promise.all([b.get("/fapi/v1/aggTrades", { symbol: "B", fromId: 1, limit: 1 }, 20), c.get("/fapi/v1/aggTrades", { symbol: "C", fromId: 1, limit: 1 }, 20)]);
    expect(rb.ok && rc.ok).toBe(true);
    const t = stub.requests.map((r) => r.at);
    expect(t.length).toBe(3);
    expect(t[1]! - t[0]!).toBeGreaterThanOrEqual(950);
    // The second waited for the probe's answer: never two requests at once right after a pause.
    expect(t[2]!).toBeGreaterThanOrEqual(t[1]!);
    expect([a.counters.throttled, b.counters.throttled, c.counters.throttled]).toEqual([1, 0, 0]);
    expect([a.counters.requests, b.counters.requests, c.counters.requests]).toEqual([1, 1, 1]);
  });

  test("the minute's weight is the IP's: what one user was told makes another wait", async () => {
    stub = restStub({ trades: ids(1, 10), weightPerRequest: 50 });
    const root = new RestClient({ baseUrl: stub.base, weightBudget1m: 100 }, new IpLimits());
    const [a, b] = [root.user(), root.user()];
    expect((await a.get("/fapi/v1/aggTrades", { symbol: "X", fromId: 1, limit: 1 }, 50)).ok).toBe(true);
    // The exchange said 50 used this minute: b sees it, and 50 + 60 is past the budget.
    expect(b.counters.usedWeight1m).toBe(50);
    expect(b.waitMs(50)).toBe(0);
    expect(b.waitMs(60)).toBeGreaterThan(0);
  });

  test("a request in flight for one user counts against the others before its answer", async () => {
    let answer: () => void = () => {};
    const gate = new Promise<void>((r) => (answer = r));
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, async fetch() { await gate; return new Response("[]", { headers: { "x-mbx-used-weight-1m": "30" } }); } });
    try {
      const root = new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 100 });
      const [a, b] = [root.user(), root.user()];
      const pending = a.get("/fapi/v1/depth", { symbol: "X" }, 30);
      await Bun.sleep(50);
      expect(b.waitMs(60)).toBe(0);
      expect(b.waitMs(80)).toBeGreaterThan(0);
      answer();
      expect((await pending).ok).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  test("close() ends one user's waits and requests; the others go on", async () => {
    stub = restStub({ trades: ids(1, 5), answer: (n) => (n === 1 ? new Response("{}", { status: 429, headers: { "retry-after": "1" } }) : undefined) });
    const root = new RestClient({ baseUrl: stub.base, weightBudget1m: 2400 }, new IpLimits());
    const [a, b] = [root.user(), root.user()];
    expect((await a.get("/fapi/v1/aggTrades", { symbol: "X", fromId: 1, limit: 1 }, 20)).status).toBe(429);
    const waitingA = a.get("/fapi/v1/aggTrades", { symbol: "X", fromId: 1, limit: 1 }, 20);
    const waitingB = b.get("/fapi/v1/aggTrades", { symbol: "X", fromId: 1, limit: 1 }, 20);
    await Bun.sleep(50);
    a.close();
    const ra = await waitingA;
    expect(ra.ok).toBe(false);
    if (!ra.ok) expect(ra.error).toBe("REST client closed");
    expect((await waitingB).ok).toBe(true);
    expect(stub.requests.length).toBe(2);
  });
});
