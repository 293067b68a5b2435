/**
 * The store's acknowledgements (src/pipeline/store/stream-feed.ts): a record is acknowledged once its
 * line is on disk. Every record but a held one (behind a backfill, waiting for order) has its line
 * appended already: records taken before it and after it are acknowledged while it is held, so a
 * trickle of held frames does not hold every acknowledgement back.
 */
import { expect, test } from "bun:test";
import type { JsMsg } from "@nats-io/jetstream";
import type { ExchangeAdapter, Relay, RelayOutcome } from "../../src/core/feed.ts";
import type { NatsParams } from "../../src/sinks/nats/params.ts";
import type { StreamConsumer } from "../../src/pipeline/store/consumer.ts";
import { StreamFeed } from "../../src/pipeline/store/stream-feed.ts";
import { silentLogger } from "../../src/util/log.ts";

test("records taken before and after a held frame are acknowledged while it is held", async () => {
  const held = new Set<number>();
  const relay: Relay = {
    offer(line, _symbol, _source, _t0, tag): RelayOutcome {
      if (line === "hold") held.add(tag);
      return { type: "frame", event: null, recvTsMs: Date.now() };
    },
    holding: () => new Set(held),
    tick() {},
    get pending() {
      return held.size;
    },
    reordered: 0,
    drain() {
      held.clear();
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
  expect({ acked, unacked: feed.unackedCount }).toEqual({ acked: ["one", "two", "after"], unacked: 1 });
  await feed.drain();
  expect(acked).toEqual(["one", "two", "after", "hold"]);
});
