/**
 * The pieces of the scale-out path that decide identity and order: a record's subject and
 * Nats-Msg-Id (the exchange's own ids, so two collectors' copies are one message), and the store's
 * resequencer (late lower ids put back before the gate, at most one window).
 */
import { expect, test } from "bun:test";
import type { GateFrame } from "../../src/exchange/binance/stream-gate.ts";
import { parseSubject, RecordAddresser } from "../../src/sinks/nats/record-address.ts";
import { TradeResequencer } from "../../src/exchange/binance/relay/resequencer.ts";

const addr = new RecordAddresser("harvestd", "binance", "fra-1");

test("trades and book messages are addressed by the exchange's ids; control lines by collector and content", () => {
  const trade = `{"ts_recv":1,"stream":"btcusdt@aggTrade","latency_event_ms":1,"latency_pipeline_ms":0.1,"data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":42,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}}`;
  const backfill = `{"ts_recv":9,"event":"backfill","stream":"btcusdt@aggTrade","data":{"a":42,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}}`;
  const book = `{"ts_recv":2,"stream":"btcusdt@depth5@100ms","latency_event_ms":1,"latency_pipeline_ms":0.1,"data":{"e":"depthUpdate","E":2,"T":2,"s":"BTCUSDT","U":7,"u":8,"pu":6,"b":[["1","2"]],"a":[["3","4"]]}}`;
  const gap = `{"ts_recv":3,"event":"gap","stream":"btcusdt@aggTrade","from_id":43,"to_id":44}`;
  expect(addr.address("BTCUSDT", trade)).toEqual({ kind: "aggTrade", subject: "harvestd.binance.BTCUSDT.aggTrade", msgId: "binance.BTCUSDT.aggTrade.42", id: 42 });
  // A trade recovered over REST is the same trade: the same message.
  expect(addr.address("BTCUSDT", backfill).msgId).toBe("binance.BTCUSDT.aggTrade.42");
  // The book's `a` (asks) is not an id; `u` is.
  expect(addr.address("BTCUSDT", book)).toEqual({ kind: "depth", subject: "harvestd.binance.BTCUSDT.depth", msgId: "binance.BTCUSDT.depth.8", id: 8 });
  const c1 = addr.address("BTCUSDT", gap);
  expect(c1.kind).toBe("control");
  expect(c1.subject).toBe("harvestd.binance.BTCUSDT.control");
  expect(c1.msgId.startsWith("binance.BTCUSDT.control.fra-1.")).toBe(true);
  expect(addr.address("BTCUSDT", gap).msgId).toBe(c1.msgId);
  expect(new RecordAddresser("harvestd", "binance", "sgp-1").address("BTCUSDT", gap).msgId).not.toBe(c1.msgId);
  expect(parseSubject("harvestd.binance.BTCUSDT.depth", "harvestd")).toEqual({ exchange: "binance", symbol: "BTCUSDT", kind: "depth" });
  expect(parseSubject("other.binance.BTCUSDT.depth", "harvestd")).toBeNull();
});

const frame = (id: number) => ({ stream: "btcusdt@aggTrade", id }) as unknown as GateFrame;

test("the resequencer releases in id order, holds a hole at most one window, and passes what is in order at once", () => {
  const out: number[] = [];
  const r = new TradeResequencer(1000, (f) => out.push((f as unknown as { id: number }).id));
  // Start of a stream: everything waits one window, then goes in id order.
  r.offer("btcusdt@aggTrade", 5, frame(5), 0);
  r.offer("btcusdt@aggTrade", 3, frame(3), 10);
  r.offer("btcusdt@aggTrade", 4, frame(4), 20);
  r.tick(500);
  expect(out).toEqual([]);
  r.tick(1000);
  expect(out).toEqual([3, 4, 5]);
  // In order: at once.
  r.offer("btcusdt@aggTrade", 6, frame(6), 1100);
  expect(out).toEqual([3, 4, 5, 6]);
  // A hole: 8 and 9 wait; 7 arrives late and all three go, in order, without waiting the window.
  r.offer("btcusdt@aggTrade", 9, frame(9), 1200);
  r.offer("btcusdt@aggTrade", 8, frame(8), 1210);
  expect(out).toEqual([3, 4, 5, 6]);
  r.offer("btcusdt@aggTrade", 7, frame(7), 1300);
  expect(out).toEqual([3, 4, 5, 6, 7, 8, 9]);
  expect(r.waiting).toBe(0);
  // A hole nobody fills: released after the window (the gate then backfills 10 over REST).
  r.offer("btcusdt@aggTrade", 11, frame(11), 2000);
  r.tick(2999);
  expect(out.at(-1)).toBe(9);
  r.tick(3000);
  expect(out.at(-1)).toBe(11);
  // An old id goes straight on (the gate counts it as a duplicate).
  r.offer("btcusdt@aggTrade", 4, frame(4), 3100);
  expect(out.at(-1)).toBe(4);
});

test("after a restart the next id is known: the first records do not wait", () => {
  const out: number[] = [];
  const r = new TradeResequencer(1000, (f) => out.push((f as unknown as { id: number }).id));
  r.expect("btcusdt@aggTrade", 100);
  r.offer("btcusdt@aggTrade", 100, frame(100), 0);
  r.offer("btcusdt@aggTrade", 102, frame(102), 0);
  expect(out).toEqual([100]);
  r.offer("btcusdt@aggTrade", 101, frame(101), 5);
  expect(out).toEqual([100, 101, 102]);
});
