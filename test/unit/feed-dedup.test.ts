/** Duplicate bookkeeping (src/exchange/binance/dedup.ts), client message budget and the parser's id rule. */
import { describe, expect, test } from "bun:test";
import { RecentIds, StreamIds } from "../../src/exchange/binance/dedup.ts";
import { eventId, parseData } from "../../src/exchange/binance/frame-parser.ts";
import { MessageBudget } from "../../src/exchange/binance/message-budget.ts";

describe("RecentIds", () => {
  test("grows on demand, then remembers exactly the last `capacity` ids", () => {
    const r = new RecentIds(100);
    for (let id = 1000; id < 1250; id += 1) r.push(id, 0);
    expect(r.length).toBe(100);
    expect(r.has(1149)).toBe(false);
    expect(r.has(1150)).toBe(true);
    expect(r.has(1249)).toBe(true);
    expect(r.has(1250)).toBe(false);
  });

  test("ids with holes and values above 2^32 (update ids are ~5e12)", () => {
    const r = new RecentIds(8);
    const ids = [5123107832006, 5123107832349, 5123107832411, 5123107833000];
    for (const id of ids) r.push(id, 0);
    for (const id of ids) expect(r.has(id)).toBe(true);
    expect(r.has(5123107832007)).toBe(false);
  });

  test("forgets ids older than its age limit, and only those", () => {
    const r = new RecentIds(8192, 60_000);
    // 100 ids a second for 200 s: the count limit is never reached, the age limit is.
    for (let i = 0; i < 20_000; i++) r.push(1000 + i, i * 10);
    const now = 19_999 * 10;
    // Every id of the last 60 s is still known; one from more than 61 s ago (a mark's span) is not.
    for (let i = 0; i < 20_000; i++) {
      const at = i * 10;
      if (now - at <= 60_000) expect(r.has(1000 + i)).toBe(true);
      if (now - at >= 61_000) expect(r.has(1000 + i)).toBe(false);
    }
    expect(r.length).toBeLessThanOrEqual(6_100);
    expect(r.length).toBeGreaterThanOrEqual(6_000);
  });

  test("a quiet stream keeps what its last minute holds; a gap longer than the limit forgets all before it", () => {
    const r = new RecentIds(64, 60_000);
    r.push(1, 0);
    r.push(2, 30_000);
    expect(r.has(1)).toBe(true);
    r.push(3, 200_000);
    expect(r.has(1)).toBe(false);
    expect(r.has(2)).toBe(false);
    expect(r.has(3)).toBe(true);
  });

  test("capacity must be positive", () => {
    expect(() => new RecentIds(0)).toThrow("capacity");
  });
});

describe("StreamIds: the monotone last id decides, the recent ids say why", () => {
  test("a resend on the same socket is a duplicate, a copy from another socket is overlap", () => {
    const s = new StreamIds(16);
    for (const a of [10, 11, 12]) {
      expect(s.isOld(a)).toBe(false);
      s.accept(a, 1, 0);
    }
    expect(s.isOld(12)).toBe(true);
    expect(s.dropReason(12, 1)).toBe("duplicate");
    // Socket 2 (a rotation replacement) delivers 11 and 12 after socket 1 did.
    expect(s.dropReason(11, 2)).toBe("overlap");
    expect(s.dropReason(12, 2)).toBe("overlap");
    // ...and then a resend of its own.
    expect(s.dropReason(12, 2)).toBe("duplicate");
  });

  test("an id below the last that was never accepted is stale", () => {
    const s = new StreamIds(16);
    s.accept(10, 1, 0);
    s.accept(13, 1, 0);
    expect(s.dropReason(12, 1)).toBe("stale");
  });

  test("beyond the remembered window a re-delivered id is still dropped (as stale)", () => {
    const s = new StreamIds(4);
    for (let a = 1; a <= 10; a++) s.accept(a, 1, 0);
    expect(s.isOld(2)).toBe(true);
    expect(s.dropReason(2, 1)).toBe("stale");
    expect(s.dropReason(9, 1)).toBe("duplicate");
  });

  test("ids recovered over REST (no socket) count as accepted", () => {
    const s = new StreamIds(16);
    s.accept(1, 1, 0);
    s.accept(2, -1, 0);
    s.accept(3, -1, 0);
    expect(s.last).toBe(3);
    expect(s.dropReason(2, 1)).toBe("overlap");
  });
});

describe("eventId accepts exactly what parseData accepts", () => {
  const cases: [kind: "aggTrade" | "depth", data: unknown][] = [
    ["aggTrade", { a: 5, T: 1, p: "1", q: "1", m: true }],
    ["aggTrade", { a: 5, E: 1 }],
    ["aggTrade", { a: "5", T: 1 }],
    ["aggTrade", { a: 5.5, T: 1 }],
    ["aggTrade", { a: 5 }],
    ["aggTrade", null],
    ["aggTrade", [1]],
    ["aggTrade", "x"],
    ["depth", { u: 7, T: 1, b: [], a: [] }],
    ["depth", { u: 7, E: 1, b: [], a: [] }],
    ["depth", { u: 7, T: 1, b: [] }],
    ["depth", { u: 7, b: [], a: [] }],
    ["depth", { u: "7", T: 1, b: [], a: [] }],
    ["depth", { T: 1, b: [], a: [] }],
  ];
  for (const [kind, data] of cases) {
    test(`${kind} ${JSON.stringify(data)}`, () => {
      const parsed = parseData(kind, "BTCUSDT", data);
      const id = eventId(kind, data);
      expect(id !== null).toBe(parsed.ok);
      if (parsed.ok) expect(id).toBe(parsed.event.kind === "depth" ? parsed.event.lastId : parsed.event.aggId);
    });
  }
});

describe("MessageBudget (10 client messages per second, pongs included)", () => {
  test("own messages stop one short of the limit within the window, leaving room for a pong", () => {
    const b = new MessageBudget(10, 1, 1100);
    let sent = 0;
    for (let t = 0; t < 1000; t += 10) if (b.tryTake(t)) sent++;
    expect(sent).toBe(9);
    b.force(1000);
    expect(b.used(1000)).toBe(10);
  });

  test("slots free up as the window slides", () => {
    const b = new MessageBudget(10, 1, 1100);
    for (let i = 0; i < 9; i++) expect(b.tryTake(i)).toBe(true);
    expect(b.tryTake(500)).toBe(false);
    expect(b.tryTake(1099)).toBe(false);
    expect(b.tryTake(1100)).toBe(true);
  });

  test("over any 1 s of a long run, never more than the limit", () => {
    const b = new MessageBudget(10, 1, 1100);
    const times: number[] = [];
    for (let t = 0; t < 20_000; t += 7) {
      if (t % 3000 === 0) {
        b.force(t);
        times.push(t);
      } else if (b.tryTake(t)) times.push(t);
    }
    for (let i = 0; i < times.length; i++) {
      let n = 0;
      for (let j = i; j < times.length && times[j]! < times[i]! + 1000; j++) n++;
      expect(n).toBeLessThanOrEqual(10);
    }
    expect(times.length).toBeGreaterThan(150);
  });
});
