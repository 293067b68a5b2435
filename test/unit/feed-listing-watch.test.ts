/**
 * ListingWatch (src/exchange/binance/listing-watch.ts) against a local REST server whose exchangeInfo
 * the test changes between checks: statuses and absences of collected symbols, new listings only
 * when collecting ALL, one log line per change, a failed check keeping the last answer.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { ListingWatch } from "../../src/exchange/binance/listing-watch.ts";
import { RestClient } from "../../src/exchange/binance/rest-client.ts";
import type { Logger } from "../../src/util/log.ts";
import { waitFor } from "../helpers/binary.ts";

type Entry = { symbol: string; status: string; contractType?: string; quoteAsset?: string };
let listing: Entry[] = [];
let failing = false;
let served = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    if (new URL(req.url).pathname !== "/fapi/v1/exchangeInfo") return new Response("no", { status: 404 });
    served++;
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
