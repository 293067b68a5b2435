/**
 * A restarted collector's trade streams (StreamGate.resumeAfterRestart): the first live trade after
 * the last stored one passes; one further on leaves the ids between to recover (here recorded as a
 * gap: no backfiller); one at or below the stored id means another id sequence (a testnet reset,
 * another venue on the same data folder) and the stream starts afresh from it instead of dropping
 * every trade until the ids pass the stored one.
 */
import { describe, expect, test } from "bun:test";
import type { FeedOutput } from "../../src/core/feed.ts";
import { StreamGate, type GateFrame } from "../../src/exchange/binance/stream-gate.ts";

const TRADE = "btcusdt@aggTrade";

function trade(a: number): GateFrame {
  const data = { e: "aggTrade", E: 2000 + a, a, s: "BTCUSDT", p: "1", q: "1", f: a, l: a, T: 1000 + a, m: false };
  return { stream: TRADE, socket: 1, recvTsMs: 3000 + a, t0: 0, event: null, bad: null, data, dataText: JSON.stringify(data) };
}

function gate(lastStored: number) {
  const out: string[] = [];
  const notices: string[] = [];
  const sink: FeedOutput = {
    frame: (_s, f) => out.push(`T${((f as GateFrame).data as { a: number }).a}`),
    backfill: () => out.push("R"),
    gap: (_s, _stream, from, to) => out.push(`gap${from}-${to}`),
    connection: () => {},
  };
  const g = new StreamGate(["BTCUSDT"], sink, { dedupLru: 64, backfiller: null, maxHoldMs: 1000, maxHeldPerStream: 100, maxHeldTotal: 1000, onNotice: (_k, msg) => notices.push(msg) });
  g.resumeAfterRestart(TRADE, lastStored);
  return { g, out, notices };
}

describe("resumeAfterRestart", () => {
  test("the next id passes; later ones leave the down time to recover", () => {
    const a = gate(100);
    for (const id of [101, 102]) a.g.offer(trade(id));
    expect(a.out).toEqual(["T101", "T102"]);
    const b = gate(100);
    for (const id of [150, 151, 150]) b.g.offer(trade(id));
    expect(b.out).toEqual(["gap101-149", "T150", "T151"]);
    expect(b.notices.some((n) => n.includes("another id sequence"))).toBe(false);
  });

  test("a first id at or below the stored one: another sequence, taken from there with a notice", () => {
    for (const first of [100, 7]) {
      const c = gate(100);
      for (const id of [first, first + 1, first + 3]) c.g.offer(trade(id));
      expect(c.out).toEqual([`T${first}`, `T${first + 1}`, `gap${first + 2}-${first + 2}`, `T${first + 3}`]);
      expect(c.notices.filter((n) => n.includes("another id sequence")).length).toBe(1);
    }
  });
});
