/**
 * The store's acknowledgements (src/pipeline/store/stream-feed.ts): a record is acknowledged once its
 * line is on disk. Records taken before a frame was held (behind a backfill, waiting for order) have
 * their lines appended already: they are acknowledged while that frame is held, so a trickle of
 * held frames does not hold every acknowledgement back.
 */
import { expect, test } from "bun:test";
import type { JsMsg } from "@nats-io/jetstream";
import type { ExchangeAdapter, Relay, RelayOutcome } from "../../src/core/feed.ts";
import type { NatsParams } from "../../src/sinks/nats/params.ts";
import type { StreamConsumer } from "../../src/pipeline/store/consumer.ts";
import { StreamFeed } from "../../src/pipeline/store/stream-feed.ts";
import { silentLogger } from "../../src/util/log.ts";

test("records taken before a held frame are acknowledged while it is held", async () => {
  let pending = 0;
  const relay: Relay = {
    offer(line): RelayOutcome {
      if (line === "hold") pending++;
      return { type: "frame", event: null, recvTsMs: Date.now() };
    },
    tick() {},
    get pending() {
      return pending;
    },
    reordered: 0,
    drain() {
      pending = 0;
    },
    totals: () => ({}),
    counters: () => undefined,
  };
  const acked: string[] = [];
  const msg = (text: string): JsMsg =>
    ({ subject: "harvestd.binance.BTCUSDT.aggTrade", redelivered: false, headers: undefined, string: () => text, ack: () => acked.push(text) }) as unknown as JsMsg;
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const consumer = {
    async *messages() {
      yield msg("one");
      yield msg("two");
      yield msg("hold");
      yield msg("after");
      await done;
    },
    stop: () => release(),
    refresh: async () => {},
  } as unknown as StreamConsumer;
  const feed = new StreamFeed({
    symbols: ["BTCUSDT"],
    params: { subject_prefix: "harvestd", fetch_batch: 1000, ack_timeout_sec: 3 } as NatsParams,
    adapter: { openRelay: () => relay } as unknown as ExchangeAdapter,
    consumer,
    out: {} as never,
    flushLog: async () => {},
    resume: new Map(),
    beginSession: () => {},
    log: silentLogger,
  });
  feed.start();
  // Settled every 100 ms; the held frame stays held.
  await Bun.sleep(350);
  expect({ acked, unacked: feed.unackedCount }).toEqual({ acked: ["one", "two"], unacked: 2 });
  await feed.drain();
  expect(acked).toEqual(["one", "two", "hold", "after"]);
});
