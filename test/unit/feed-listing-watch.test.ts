/**
 * ListingWatch (src/exchange/binance/listing-watch.ts) against a local REST server whose exchangeInfo
 * the test changes between checks: statuses and absences of collected symbols, new listings only
 * when collecting ALL, one log line per change, a failed check keeping the last answer and tried
 * again after a backoff (not an interval later).
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { ListingWatch, nextCheckMs, RETRY_FIRST_MS } from "../../src/exchange/binance/listing-watch.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import type { Logger } from "../../src/util/log.ts";
import { waitFor } from "../helpers/binary.ts";

type Entry = { symbol: string; status: string; contractType?: string; quoteAsset?: string };
let listing: Entry[] = [];
let failing = false;
/** Requests answered 503 before `failing` decides again (a first check while the exchange is not up). */
let failNext = 0;
let served = 0;
/** When each request arrived (performance.now()). */
const arrivals: number[] = [];
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    if (new URL(req.url).pathname !== "/fapi/v1/exchangeInfo") return new Response("no", { status: 404 });
    served++;
    arrivals.push(performance.now());
    if (failNext > 0) {
      failNext--;
      return new Response("not up yet", { status: 503 });
    }
    if (failing) return new Response("down", { status: 503 });
    return Response.json({ symbols: listing.map((e) => ({ contractType: "PERPETUAL", quoteAsset: "USDT", ...e })) });
  },
});
/** Watches started by a test, stopped after it whatever happened (a running one would skew the next). */
const started: ListingWatch[] = [];
afterEach(() => {
  for (const w of started.splice(0)) w.stop();
});
afterAll(() => server.stop(true));

function logger(): Logger & { lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[] } {
  const lines: { level: string; msg: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  return { lines, log: (level, msg, fields) => lines.push({ level, msg, fields }), limited: (_k, level, msg, fields) => lines.push({ level, msg, fields }) };
}

/** Waits for `n` more answers of the server, and for the watch to have taken the last of them. */
async function checks(n: number): Promise<void> {
  const until = served + n;
  await waitFor(`${n} more listing checks`, () => (served >= until ? true : undefined), 5000, 5);
  await Bun.sleep(30);
}

test("named symbols: a status other than TRADING and an absent name are not trading; new listings are not their business", async () => {
  listing = [
    { symbol: "BTCUSDT", status: "TRADING" },
    { symbol: "ETHUSDT", status: "TRADING" },
    { symbol: "NEWUSDT", status: "TRADING" },
  ];
  const log = logger();
  const w = new ListingWatch(["BTCUSDT", "ETHUSDT", "TYPOUSDT"], false, new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }), 100, log);
  expect(w.view().checkedAtMs).toBe(0);
  started.push(w);
  w.start();
  await checks(1);
  expect(w.view().notTrading).toEqual(new Map([["TYPOUSDT", "absent"]]));
  expect(w.view().notCollected).toEqual([]);
  listing[1]!.status = "SETTLING";
  await checks(2);
  expect(w.view().notTrading).toEqual(new Map([["ETHUSDT", "SETTLING"], ["TYPOUSDT", "absent"]]));
  // Each change logged once, however many checks see it.
  const gone = log.lines.filter((l) => l.msg.startsWith("symbol no longer trading") || l.msg.startsWith("symbol not listed"));
  expect(gone.map((l) => [l.fields!.symbol, l.fields!.status])).toEqual([["TYPOUSDT", "absent"], ["ETHUSDT", "SETTLING"]]);
  // A name the exchange does not list is most likely a typo: the line says to check it, not that it was delisted.
  expect(gone.map((l) => l.msg)).toEqual([
    "symbol not listed on the exchange: check its name; its silence is not counted against health",
    "symbol no longer trading on the exchange; its silence is not counted against health",
  ]);
  listing[1]!.status = "TRADING";
  await checks(1);
  expect(w.view().notTrading).toEqual(new Map([["TYPOUSDT", "absent"]]));
  expect(log.lines.filter((l) => l.msg.startsWith("symbol trading again")).map((l) => l.fields!.symbol)).toEqual(["ETHUSDT"]);
  w.stop();
});

test("ALL: new TRADING USDT perpetuals are named once; other contracts and statuses are not; a failed check keeps the last answer", async () => {
  listing = [
    { symbol: "BTCUSDT", status: "TRADING" },
    { symbol: "NEWUSDT", status: "TRADING" },
    { symbol: "SOONUSDT", status: "PENDING_TRADING" },
    { symbol: "BTCUSDT_261225", status: "TRADING", contractType: "CURRENT_QUARTER" },
    { symbol: "BTCBUSD", status: "TRADING", quoteAsset: "BUSD" },
  ];
  const log = logger();
  const w = new ListingWatch(["BTCUSDT"], true, new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }), 100, log);
  started.push(w);
  w.start();
  await checks(2);
  const first = w.view();
  expect(first.notCollected).toEqual(["NEWUSDT"]);
  expect(first.notTrading.size).toBe(0);
  expect(log.lines.filter((l) => l.msg.startsWith("listed on the exchange, not collected yet")).map((l) => l.fields!.symbols)).toEqual([["NEWUSDT"]]);
  failing = true;
  await checks(2);
  expect(w.view()).toBe(first);
  expect(log.lines.some((l) => l.level === "warn" && l.msg.startsWith("listing check failed") && String(l.fields!.error).includes("503"))).toBe(true);
  failing = false;
  w.stop();
  const after = served;
  await Bun.sleep(300);
  expect(served).toBe(after);
});

test("backoff after failed checks: 30 s, then twice as late each time, never later than the interval; an answer resets it", () => {
  const hour = 60 * 60_000;
  expect(RETRY_FIRST_MS).toBe(30_000);
  expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((f) => nextCheckMs(f, hour) / 1000)).toEqual([3600, 30, 60, 120, 240, 480, 960, 1920, 3600]);
  expect(nextCheckMs(1000, hour)).toBe(hour);
  // An interval shorter than the first retry: the interval.
  expect(nextCheckMs(1, 10_000)).toBe(10_000);
});

test("a failed first check (the exchange not up yet) is tried again after the backoff, not an interval later, and its answer is taken", async () => {
  listing = [
    { symbol: "BTCUSDT", status: "TRADING" },
    { symbol: "GONEUSDT", status: "SETTLING" },
  ];
  failNext = 3;
  const log = logger();
  // The interval stands for the hour, the first retry for the 30 s, the first check for the 10 s.
  const everyMs = 1500;
  const w = new ListingWatch(["BTCUSDT", "GONEUSDT"], false, new RestClient({ baseUrl: `http://127.0.0.1:${server.port}`, weightBudget1m: 2400 }), everyMs, log, { firstCheckMs: 50, retryFirstMs: 150 });
  started.push(w);
  const from = arrivals.length;
  w.start();
  await waitFor("the first check", () => (arrivals.length > from ? true : undefined), 5000, 5);
  await Bun.sleep(30);
  expect(w.view().checkedAtMs).toBe(0);
  await waitFor("three retries", () => (arrivals.length >= from + 4 ? true : undefined), 3 * everyMs + 2000, 5);
  await Bun.sleep(30);
  const at = arrivals.slice(from, from + 4);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // 150, 300, 600 ms after the failures (plus the round trip); an interval (1500 ms) without the backoff.
  expect(gaps[0]).toBeGreaterThanOrEqual(140);
  expect(gaps[0]).toBeLessThan(everyMs * 0.6);
  expect(gaps[1]).toBeGreaterThanOrEqual(290);
  expect(gaps[2]).toBeGreaterThanOrEqual(590);
  expect(gaps[2]).toBeLessThan(everyMs);
  // The fourth check got an answer: the view is the exchange's, and the configured symbol that no longer trades is named.
  expect(w.view().checkedAtMs).toBeGreaterThan(0);
  expect(w.view().notTrading).toEqual(new Map([["GONEUSDT", "SETTLING"]]));
  const failed = log.lines.filter((l) => l.msg.startsWith("listing check failed"));
  expect(failed.map((l) => l.fields!.failures)).toEqual([1, 2, 3]);
  expect(String(failed[0]!.fields!.error)).toContain("503");
  // After an answer the normal interval again: no check within the next second.
  const answered = arrivals.length;
  await Bun.sleep(1000);
  expect(arrivals.length).toBe(answered);
  w.stop();
}, 15_000);
