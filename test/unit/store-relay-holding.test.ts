/**
 * What the store may acknowledge (src/pipeline/store/stream-feed.ts) rests on the Binance relay's
 * `holding`: the tags of exactly the records it has taken and not handed forward yet — waiting in the
 * resequencer (a stream's start window, a hole) or in the stream gate behind a backfill. A record
 * missing from it would be acknowledged before its line exists, and lost at a crash.
 */
import { afterAll, expect, test } from "bun:test";
import type { FeedOutput } from "../../src/core/feed.ts";
import { binanceAdapter } from "../../src/exchange/binance/adapter.ts";
import { BinanceEndpointsSchema, BinanceFeedParamsSchema } from "../../src/exchange/binance/params.ts";
import { createLogger } from "../../src/util/log.ts";

// REST that never answers: a backfill the gate starts stays running, its stream held behind it.
const silentRest = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
afterAll(() => silentRest.stop(true));

const WINDOW_MS = 50;
const tradeLine = (a: number) =>
  `{"ts_recv":${1_700_000_000_000 + a},"stream":"btcusdt@aggTrade","latency_event_ms":1,"latency_pipeline_ms":0.1,"data":{"e":"aggTrade","E":${1_700_000_000_000 + a},"s":"BTCUSDT","a":${a},"p":"100.0","q":"1.0","f":${a},"l":${a},"T":${1_700_000_000_000 + a},"m":true}}`;

test("holding names the records waiting for order and behind a backfill, and only those", async () => {
  const endpoints = BinanceEndpointsSchema.parse({ rest: `http://127.0.0.1:${silentRest.port}`, public_ws: "ws://127.0.0.1:1/public", market_ws: "ws://127.0.0.1:1/market" });
  const adapter = binanceAdapter(endpoints, BinanceFeedParamsSchema.parse({ listing_check_min: 0 }), createLogger({ stderr: false }));
  const out: number[] = [];
  const output: FeedOutput = {
    frame: (_s, f) => out.push((f.event as { aggId: number }).aggId),
    backfill: () => {},
    gap: () => {},
    connection: () => {},
    depthSnapshot: () => {},
  };
  const relay = adapter.openRelay(["BTCUSDT"], output, { resume: new Map(), reorderWindowMs: WINDOW_MS, beginSession: () => {} });
  const offer = (a: number, tag: number) => expect(relay.offer(tradeLine(a), "BTCUSDT", 1, performance.now(), tag).type).toBe("frame");
  const held = () => [...relay.holding()].sort((x, y) => x - y);
  const afterWindow = async () => {
    await Bun.sleep(WINDOW_MS + 5);
    relay.tick(performance.now());
  };

  // The stream's start window.
  offer(10, 1);
  offer(11, 2);
  expect(held()).toEqual([1, 2]);
  await afterWindow();
  expect({ out, held: held() }).toEqual({ out: [10, 11], held: [] });

  // A hole, filled late.
  offer(13, 3);
  offer(14, 4);
  expect(held()).toEqual([3, 4]);
  offer(12, 5);
  expect({ out: out.slice(2), held: held() }).toEqual({ out: [12, 13, 14], held: [] });

  // A hole nobody fills: after the window the gate backfills 15 and holds the stream behind it.
  offer(16, 6);
  await afterWindow();
  offer(17, 7);
  expect({ out: out.slice(5), held: held(), pending: relay.pending }).toEqual({ out: [], held: [6, 7], pending: 2 });
  // While the stream is held, every record of it waits in arrival order, an old one too.
  offer(11, 8);
  expect(held()).toEqual([6, 7, 8]);

  // End of input: the backfill is given up and everything goes forward (11 as a duplicate: dropped).
  relay.drain();
  expect({ out: out.slice(5), held: held(), pending: relay.pending }).toEqual({ out: [16, 17], held: [], pending: 0 });
});
