/**
 * Every feed the Binance adapter opens uses one REST client (src/exchange/binance/adapter.ts): the
 * exchange counts weight and bans per IP, and keeps banning an IP whose requests go on after a 429.
 * Two feeds of one process — the first and a new listing's — against the fake exchange's REST, full
 * depth: once the first feed's snapshot request is answered 429 with Retry-After, the second feed's
 * request waits out the pause instead of going at once, and the REST totals of the two feeds add up
 * to what the exchange received.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { FeedOutput } from "../../src/core/feed.ts";
import { binanceAdapter } from "../../src/exchange/binance/adapter.ts";
import { BinanceEndpointsSchema, BinanceFeedParamsSchema } from "../../src/exchange/binance/params.ts";
import { createLogger } from "../../src/util/log.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";

const RETRY_AFTER_SEC = 2;

let fx: FakeExchange;
beforeAll(async () => {
  fx = await startFakeExchange({ symbols: ["BTCUSDT", "ETHUSDT"], diffDepth: true, recordFrames: false });
});
afterAll(async () => {
  await fx.stop();
});

function output(answers: { symbol: string; ok: boolean; at: number }[]): FeedOutput {
  return {
    frame: () => {},
    backfill: () => {},
    gap: () => {},
    connection: () => {},
    depthSnapshot: (symbol, _stream, _limit, body) => answers.push({ symbol, ok: body !== null, at: Date.now() }),
  };
}

test("a 429 answered to one feed pauses the other feed's requests for its Retry-After", async () => {
  const endpoints = BinanceEndpointsSchema.parse({ rest: fx.restBase, public_ws: `ws://127.0.0.1:1/public`, market_ws: `ws://127.0.0.1:1/market` });
  const params = BinanceFeedParamsSchema.parse({ depth: "full", listing_check_min: 0 });
  const adapter = binanceAdapter(endpoints, params, createLogger({ stderr: false }));
  const answers: { symbol: string; ok: boolean; at: number }[] = [];
  // Not started: no connections; snapshots are asked for directly, as the pipeline's books do.
  const first = adapter.openFeed(["BTCUSDT"], output(answers));
  const listed = adapter.openFeed(["ETHUSDT"], output(answers), { watchVenue: false });
  const depth = () => fx.restRequests().filter((r) => r.path === "/fapi/v1/depth");
  try {
    fx.rejectRest(1, 429, RETRY_AFTER_SEC);
    first.requestDepthSnapshot!("BTCUSDT");
    for (let i = 0; i < 100 && answers.length === 0; i++) await Bun.sleep(20);
    expect(answers).toMatchObject([{ symbol: "BTCUSDT", ok: false }]);
    const throttledAt = answers[0]!.at;

    listed.requestDepthSnapshot!("ETHUSDT");
    for (let i = 0; i < 250 && answers.length < 2; i++) await Bun.sleep(20);
    expect(answers.map((a) => [a.symbol, a.ok])).toEqual([
      ["BTCUSDT", false],
      ["ETHUSDT", true],
    ]);
    const sent = depth();
    expect(sent.map((r) => [r.query.includes("ETHUSDT") ? "ETHUSDT" : "BTCUSDT", r.status])).toEqual([
      ["BTCUSDT", 429],
      ["ETHUSDT", 200],
    ]);
    // Sent only once the pause had passed (a client of its own would have sent it at once).
    expect(answers[1]!.at - throttledAt).toBeGreaterThanOrEqual(RETRY_AFTER_SEC * 1000 - 100);
    // Each feed counts what it sent; together, what the exchange received.
    const a = first.totals();
    const b = listed.totals();
    expect([a.rest_requests, b.rest_requests, a.rest_throttled, b.rest_throttled]).toEqual([1, 1, 1, 0]);
  } finally {
    first.stop();
    listed.stop();
  }
}, 15_000);
