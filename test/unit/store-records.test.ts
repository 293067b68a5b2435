/**
 * The pieces of the scale-out path that decide identity and order: a record's subject and
 * Nats-Msg-Id (the exchange's own ids, so two collectors' copies are one message), and the store's
 * resequencer (late lower ids put back before the gate, at most one window).
 */
import { expect, test } from "bun:test";
import type { GateFrame } from "../../src/exchange/binance/stream-gate.ts";
import { parseSubject, RecordAddresser } from "../../src/sinks/nats/record-address.ts";
import { Resequencer } from "../../src/exchange/binance/relay/resequencer.ts";

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

const frame = (id: number, recvTsMs = 0) => ({ stream: "btcusdt@aggTrade", id, recvTsMs }) as unknown as GateFrame;
const TRADES = "btcusdt@aggTrade";
const BOOKS = "btcusdt@depth5@100ms";
const trade = (r: Resequencer, id: number, now: number, recvTsMs = now) => r.offer(TRADES, id, id - 1, frame(id, recvTsMs), now);
const idOf = (f: GateFrame) => (f as unknown as { id: number }).id;

test("a stream's first records wait one window, so an earlier record another collector delivers later is sorted in", () => {
  const out: number[] = [];
  const r = new Resequencer(1000, (f) => out.push(idOf(f)));
  // Collector B's 7 arrives first; collector A, slower to reach NATS, delivers 5 and 6 afterwards.
  trade(r, 7, 0);
  trade(r, 8, 5);
  trade(r, 5, 40);
  trade(r, 6, 45);
  trade(r, 7, 50); // A's copy of 7: released in its place, the gate drops it as a duplicate
  expect(out).toEqual([]);
  expect(r.waiting).toBe(5);
  r.tick(999);
  expect(out).toEqual([]);
  r.tick(1000);
  expect(out).toEqual([5, 6, 7, 7, 8]);
  expect(r.waiting).toBe(0);
  // Started: what continues it goes on at once, what is older goes to the gate as a duplicate.
  trade(r, 9, 1010);
  trade(r, 4, 1020);
  expect(out.slice(5)).toEqual([9, 4]);
});

test("streams that begin together are released together, merged by receipt time; a later stream gets its own window", () => {
  const out: string[] = [];
  const r = new Resequencer(1000, (f) => out.push(`${(f as unknown as { stream: string }).stream === BOOKS ? "b" : "t"}${idOf(f)}`));
  const book = (u: number, pu: number, now: number, recv: number) => r.offer(BOOKS, u, pu, { stream: BOOKS, id: u, recvTsMs: recv } as unknown as GateFrame, now);
  book(100, 90, 0, 1);
  trade(r, 7, 300, 2); // begins inside the books' start window: shares its end
  book(110, 100, 310, 3);
  trade(r, 8, 320, 4);
  r.tick(999);
  expect(out).toEqual([]);
  r.tick(1000);
  expect(out).toEqual(["b100", "t7", "b110", "t8"]);
  // A stream beginning after the window closed waits a window of its own.
  r.offer("ethusdt@aggTrade", 50, 49, { stream: "ethusdt@aggTrade", id: 50, recvTsMs: 1500 } as unknown as GateFrame, 1500);
  r.tick(2499);
  expect(out.length).toBe(4);
  r.tick(2500);
  expect(out.at(-1)).toBe("t50");
});

test("the resequencer releases trades in id order, holds a hole at most one window, and passes what is in order at once", () => {
  const out: number[] = [];
  const r = new Resequencer(1000, (f) => out.push(idOf(f)));
  r.resumeAfter(TRADES, 5);
  // In order: at once.
  trade(r, 6, 1100);
  expect(out).toEqual([6]);
  // A hole: 8 and 9 wait; 7 arrives late and all three go, in order, without waiting the window.
  trade(r, 9, 1200);
  trade(r, 8, 1210);
  expect(out).toEqual([6]);
  expect(r.waiting).toBe(2);
  trade(r, 7, 1300);
  expect(out).toEqual([6, 7, 8, 9]);
  expect(r.waiting).toBe(0);
  expect(r.reordered).toBe(3); // 7, 8 and 9 went through the waiting room
  // A hole nobody fills: released after the window (the gate then backfills 10 over REST).
  trade(r, 11, 2000);
  r.tick(2999);
  expect(out.at(-1)).toBe(9);
  r.tick(3000);
  expect(out.at(-1)).toBe(11);
  // An old id goes straight on (the gate counts it as a duplicate).
  trade(r, 4, 3100);
  expect(out.at(-1)).toBe(4);
});

test("books follow their pu → u chain: a late book is put back before the later ones instead of arriving stale", () => {
  const out: number[] = [];
  const r = new Resequencer(1000, (f) => out.push(idOf(f)));
  const book = (u: number, pu: number, now: number) => r.offer(BOOKS, u, pu, { stream: BOOKS, id: u, recvTsMs: now } as unknown as GateFrame, now);
  r.resumeAfter(BOOKS, 90);
  r.resumeAfter(TRADES, 6);
  book(100, 90, 0);
  book(130, 120, 10); // 110 and 120 are missing: waits
  expect(out).toEqual([100]);
  book(110, 100, 20);
  expect(out).toEqual([100, 110]);
  book(120, 110, 30);
  expect(out).toEqual([100, 110, 120, 130]);
  // A book whose pu is behind the last u but whose u is ahead (no chain to wait for) goes on at once.
  book(140, 125, 40);
  expect(out.at(-1)).toBe(140);
  // A book without pu follows whatever came before.
  book(150, Number.NEGATIVE_INFINITY, 50);
  expect(out.at(-1)).toBe(150);
  // Trades of the same symbol are a stream of their own.
  trade(r, 7, 60);
  expect(out.at(-1)).toBe(7);
  // A missing book nobody delivers: the later one goes after the window (the gate records the break).
  book(170, 160, 100);
  r.tick(1099);
  expect(out.at(-1)).toBe(7);
  r.tick(1100);
  expect(out.at(-1)).toBe(170);
});

test("after a restart the last id is known from the log: the next records continue it", () => {
  const out: number[] = [];
  const r = new Resequencer(1000, (f) => out.push((f as unknown as { id: number }).id));
  r.resumeAfter(TRADES, 99);
  trade(r, 100, 0);
  trade(r, 102, 0);
  expect(out).toEqual([100]);
  trade(r, 101, 5);
  expect(out).toEqual([100, 101, 102]);
});
