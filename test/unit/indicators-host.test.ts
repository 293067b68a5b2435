/**
 * The per-symbol host of custom indicators (src/indicators/host.ts): what modules see, how emitted
 * rows are checked, and how a failing module is counted, logged and switched off without touching
 * anything else.
 */
import { describe, expect, test } from "bun:test";
import type { AggTradeEvent, DepthEvent } from "../../src/core/market-events.ts";
import type { Row, SinkKind, RowSink } from "../../src/core/rows.ts";
import type { Indicator, LoadedIndicator } from "../../src/indicators/contract.ts";
import { CustomIndicators } from "../../src/indicators/custom-indicators.ts";
import { SWITCH_OFF_STREAK, SWITCH_OFF_TOTAL } from "../../src/indicators/host.ts";
import { schemaOfColumns } from "../../src/indicators/load.ts";
import type { Level, Logger } from "../../src/util/log.ts";

class Rows implements RowSink {
  readonly rows: { kind: SinkKind; row: Row }[] = [];
  append(kind: SinkKind, row: Row): void {
    this.rows.push({ kind, row });
  }
  of(kind: string): Row[] {
    return this.rows.filter((r) => r.kind === kind).map((r) => r.row);
  }
}

class Log implements Logger {
  readonly lines: { level: Level; msg: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  limitedCalls = 0;
  private readonly seen = new Set<string>();
  log(level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level, msg, fields });
  }
  limited(key: string, level: Level, msg: string, fields?: Readonly<Record<string, unknown>>): void {
    this.limitedCalls++;
    // Like the real logger within one interval: the first line per key only.
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.lines.push({ level, msg, fields });
  }
}

function loaded(mod: Indicator, params: Record<string, unknown> = {}): LoadedIndicator {
  const columns = Object.entries(mod.columns).map(([name, type]) => ({ name, type }));
  return { name: mod.name, kind: `custom_${mod.name}`, file: `/x/${mod.name}.ts`, module: mod, columns, schema: schemaOfColumns(columns), params };
}

const trade = (a: number, over: Partial<AggTradeEvent> = {}): AggTradeEvent => ({
  kind: "aggTrade",
  symbol: "BTCUSDT",
  eventTime: 1_000_000 + a * 10 + 5,
  tradeTime: 1_000_000 + a * 10,
  aggId: a,
  price: 100 + a,
  qty: 1,
  firstTradeId: null,
  lastTradeId: null,
  buyerIsMaker: a % 2 === 0,
  ...over,
});

const depth = (u: number, bids: number[], asks: number[], over: Partial<DepthEvent> = {}): DepthEvent => ({
  kind: "depth",
  symbol: "BTCUSDT",
  eventTime: 2_000_000 + u,
  transactTime: 2_000_000 + u - 1,
  firstId: u - 1,
  lastId: u,
  prevLastId: u - 2,
  bids: Float64Array.from(bids),
  asks: Float64Array.from(asks),
  ...over,
});

/** A module recording what it is handed; emits one row per trade. */
function recorder(seen: unknown[]): Indicator {
  return {
    name: "rec",
    columns: { price: "double", id: "int64", side: "string", bf: "bool" },
    create: () => ({
      onTrade(t, emit) {
        seen.push(t);
        emit({ ts_ms: t.ts_ms, price: t.price, id: t.agg_trade_id, side: t.is_buyer_maker ? "sell" : "buy", bf: t.backfilled });
      },
      onBook(b) {
        seen.push(b);
      },
      onDisconnect(d) {
        seen.push(d);
      },
      onEnd(emit) {
        seen.push("end");
        emit({ ts_ms: 1, price: null, id: null, side: null, bf: null });
      },
    }),
  };
}

describe("what a module is handed", () => {
  test("trades the engine accepts, in order, with symbol added to every row; duplicates and invalid trades are not handed", () => {
    const seen: unknown[] = [];
    const sink = new Rows();
    const h = new CustomIndicators([loaded(recorder(seen))], new Log()).host("BTCUSDT", sink);
    h.onTrade(trade(1), 1_000_100, false);
    h.onTrade(trade(1), 1_000_101, false); // duplicate
    h.onTrade(trade(0), 1_000_102, false); // stale id
    h.onTrade(trade(2, { price: Number.NaN }), 1_000_103, false); // invalid price
    h.onTrade(trade(3, { qty: 0 }), 1_000_104, false);
    h.onTrade(trade(4, { buyerIsMaker: null }), 1_000_105, false);
    h.onTrade(trade(5, { tradeTime: null }), 1_000_106, true); // event time instead
    h.onTrade(trade(6, { tradeTime: null, eventTime: null }), 1_000_107, false);
    expect(seen).toEqual([
      { ts_ms: 1_000_010, recv_ts_ms: 1_000_100, price: 101, qty: 1, is_buyer_maker: false, agg_trade_id: 1, backfilled: false },
      { ts_ms: 1_000_055, recv_ts_ms: 1_000_106, price: 105, qty: 1, is_buyer_maker: false, agg_trade_id: 5, backfilled: true },
    ]);
    expect(sink.of("custom_rec")).toEqual([
      { symbol: "BTCUSDT", ts_ms: 1_000_010, price: 101, id: 1, side: "buy", bf: false },
      { symbol: "BTCUSDT", ts_ms: 1_000_055, price: 105, id: 5, side: "buy", bf: true },
    ]);
  });

  test("books: only valid levels, best first, duplicates dropped; stale update ids skipped until a book-route disconnect", () => {
    const seen: unknown[] = [];
    const h = new CustomIndicators([loaded(recorder(seen))], new Log()).host("BTCUSDT", new Rows());
    h.onDepth(depth(10, [99, 1, Number.NaN, 2, 100, 3, 98, 0, 97, 4, 100, 9], [101, 1, -1, 1, 102, Number.POSITIVE_INFINITY]), 5);
    h.onDepth(depth(9, [1, 1], [2, 1]), 6); // stale
    h.onDepth(depth(11, [], [101, 2], { transactTime: null }), 7);
    expect(seen).toEqual([
      { ts_ms: 2_000_009, recv_ts_ms: 5, update_id: 10, bids: [[100, 3], [99, 1], [97, 4]], asks: [[101, 1]] },
      { ts_ms: 2_000_011, recv_ts_ms: 7, update_id: 11, bids: [], asks: [[101, 2]] },
    ]);
    h.onDisconnect("market");
    h.onDepth(depth(5, [1, 1], [2, 1]), 8); // still stale: only the book route resets ids
    h.onDisconnect("public");
    h.onDepth(depth(5, [1, 1], [2, 1]), 9);
    expect(seen.slice(2)).toEqual([{ stream: "trade" }, { stream: "book" }, { ts_ms: 2_000_004, recv_ts_ms: 9, update_id: 5, bids: [[1, 1]], asks: [[2, 1]] }]);
  });

  test("finish calls onEnd once; nothing is handed afterwards", () => {
    const seen: unknown[] = [];
    const sink = new Rows();
    const h = new CustomIndicators([loaded(recorder(seen))], new Log()).host("BTCUSDT", sink);
    h.finish();
    h.finish();
    h.onTrade(trade(1), 1, false);
    expect(seen).toEqual(["end"]);
    expect(sink.of("custom_rec").length).toBe(1);
  });

  test("each symbol's host gets its own create(ctx) with the symbol and the frozen params", () => {
    const ctxs: unknown[] = [];
    const mod: Indicator = { name: "ctx", columns: { x: "double" }, create: (ctx) => (ctxs.push(ctx), {}) };
    const set = new CustomIndicators([loaded(mod, Object.freeze({ w: 3 }))], new Log());
    set.host("AAAUSDT", new Rows());
    set.host("BBBUSDT", new Rows());
    expect(ctxs).toEqual([
      { symbol: "AAAUSDT", params: { w: 3 } },
      { symbol: "BBBUSDT", params: { w: 3 } },
    ]);
  });
});

describe("emitted rows are checked against the declared columns", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["missing column", { ts_ms: 1, d: 1, i: 1, s: "a" }, "column b is missing"],
    ["wrong type double", { ts_ms: 1, d: "1", i: 1, s: "a", b: true }, "column d (double)"],
    ["non-finite double", { ts_ms: 1, d: Number.NaN, i: 1, s: "a", b: true }, "column d (double) got NaN"],
    ["fractional int64", { ts_ms: 1, d: 1, i: 1.5, s: "a", b: true }, "column i (int64) got 1.5"],
    ["wrong type string", { ts_ms: 1, d: 1, i: 1, s: 5, b: true }, "column s (string)"],
    ["wrong type bool", { ts_ms: 1, d: 1, i: 1, s: "a", b: 1 }, "column b (bool)"],
    ["extra column", { ts_ms: 1, d: 1, i: 1, s: "a", b: true, e: 1 }, "column e is not declared"],
    ["symbol given", { ts_ms: 1, d: 1, i: 1, s: "a", b: true, symbol: "X" }, "symbol is added by harvestd"],
    ["bad ts_ms", { ts_ms: 1.5, d: 1, i: 1, s: "a", b: true }, "ts_ms must be an integer"],
  ];
  test.each(cases)("%s: counted as an error, row dropped, the valid row of the same call kept", (_what, bad, reason) => {
    const sink = new Rows();
    const log = new Log();
    const mod: Indicator = {
      name: "chk",
      columns: { d: "double", i: "int64", s: "string", b: "bool" },
      create: () => ({
        onTrade(t, emit) {
          emit({ ts_ms: t.ts_ms, d: 1.5, i: 2, s: "x", b: null });
          emit(bad as never);
        },
      }),
    };
    const set = new CustomIndicators([loaded(mod)], log);
    set.host("BTCUSDT", sink).onTrade(trade(1), 1, false);
    expect(sink.of("custom_chk")).toEqual([{ symbol: "BTCUSDT", ts_ms: 1_000_010, d: 1.5, i: 2, s: "x", b: null }]);
    const v = set.views()[0]!;
    expect(v.errors).toBe(1);
    expect(v.rows).toBe(1);
    expect(v.rowsDropped).toBe(1);
    expect(v.lastError).toContain(reason);
    expect(log.lines[0]!.fields!.error).toContain(reason);
  });
});

describe("a failing module", () => {
  const thrower = (name: string, failEvery: (a: number) => boolean): Indicator => ({
    name,
    columns: { x: "double" },
    create: () => ({
      onTrade(t, emit) {
        if (failEvery(t.agg_trade_id)) throw new Error(`bad trade ${t.agg_trade_id}`);
        emit({ ts_ms: t.ts_ms, x: t.price });
      },
    }),
  });

  test(`is switched off for that symbol after ${SWITCH_OFF_STREAK} failing calls in a row; other indicators and symbols go on; logging is rate-limited`, () => {
    const log = new Log();
    const set = new CustomIndicators([loaded(thrower("boom", () => true)), loaded(thrower("fine", () => false))], log);
    const sinkA = new Rows();
    const sinkB = new Rows();
    const a = set.host("AAAUSDT", sinkA);
    const b = set.host("BBBUSDT", sinkB);
    for (let i = 1; i <= 50; i++) a.onTrade(trade(i), i, false);
    b.onTrade(trade(1), 1, false);
    const [boom, fine] = set.views();
    expect(boom!.errors).toBe(SWITCH_OFF_STREAK + 1); // the B call fails as well: it is not switched off there
    expect(boom!.errorsBySymbol).toEqual({ AAAUSDT: SWITCH_OFF_STREAK, BBBUSDT: 1 });
    expect(boom!.switchedOff).toEqual(["AAAUSDT"]);
    expect(boom!.calls).toBe(SWITCH_OFF_STREAK + 1);
    expect(fine!.rows).toBe(51);
    expect(fine!.errors).toBe(0);
    expect(sinkA.of("custom_fine").length).toBe(50);
    expect(sinkA.of("custom_boom").length).toBe(0);
    // One warning per indicator and symbol got through the limiter, and one switch-off line.
    expect(log.lines.filter((l) => l.msg === "custom indicator error").length).toBe(2);
    expect(log.limitedCalls).toBe(SWITCH_OFF_STREAK + 1);
    const off = log.lines.filter((l) => l.msg === "custom indicator switched off for this symbol");
    expect(off.length).toBe(1);
    expect(off[0]!.fields).toMatchObject({ indicator: "boom", symbol: "AAAUSDT", why: `${SWITCH_OFF_STREAK} failing calls in a row` });
  });

  test(`a success resets the streak; ${SWITCH_OFF_TOTAL} failing calls in all switch it off anyway`, () => {
    const set = new CustomIndicators([loaded(thrower("flaky", (a) => a % 2 === 0))], new Log());
    const sink = new Rows();
    const h = set.host("AAAUSDT", sink);
    for (let i = 1; i <= 2 * SWITCH_OFF_TOTAL + 100; i++) h.onTrade(trade(i), i, false);
    const v = set.views()[0]!;
    expect(v.errors).toBe(SWITCH_OFF_TOTAL);
    expect(v.switchedOff).toEqual(["AAAUSDT"]);
    expect(sink.of("custom_flaky").length).toBe(SWITCH_OFF_TOTAL);
  });

  test("a handler returning a promise is an error (and its rejection is swallowed); emit outside a call is counted, row dropped", async () => {
    let later: ((r: never) => void) | null = null;
    const mod: Indicator = {
      name: "asy",
      columns: { x: "double" },
      create: () => ({
        onTrade(t, emit) {
          later = emit as never;
          return Promise.reject(new Error("async")) as never;
        },
      }),
    };
    const sink = new Rows();
    const set = new CustomIndicators([loaded(mod)], new Log());
    set.host("AAAUSDT", sink).onTrade(trade(1), 1, false);
    await Bun.sleep(1);
    later!({ ts_ms: 1, x: 1 } as never);
    const v = set.views()[0]!;
    expect(v.errors).toBe(2);
    expect(v.lastError).toContain("outside a handler call");
    expect(v.rowsDropped).toBe(1);
    expect(sink.rows.length).toBe(0);
  });

  test("create throwing switches the indicator off for that symbol only", () => {
    const mod: Indicator = {
      name: "crt",
      columns: { x: "double" },
      create: (ctx) => {
        if (ctx.symbol === "AAAUSDT") throw new Error("no AAA");
        return { onTrade: (t, emit) => emit({ ts_ms: t.ts_ms, x: 1 }) };
      },
    };
    const set = new CustomIndicators([loaded(mod)], new Log());
    const sa = new Rows();
    const sb = new Rows();
    set.host("AAAUSDT", sa).onTrade(trade(1), 1, false);
    set.host("BBBUSDT", sb).onTrade(trade(1), 1, false);
    const v = set.views()[0]!;
    expect(v.switchedOff).toEqual(["AAAUSDT"]);
    expect(v.lastError).toBe("AAAUSDT: threw: no AAA");
    expect(sa.rows.length).toBe(0);
    expect(sb.rows.length).toBe(1);
  });

  test("a misspelt handler, or none at all, fails create for every symbol, naming it (it would never be called)", () => {
    const log = new Log();
    const misspelt: Indicator = { name: "typo", columns: { x: "double" }, create: () => ({ onTrades() {}, state: 1 }) as never };
    const none: Indicator = { name: "empty", columns: { x: "double" }, create: () => ({}) };
    const fine: Indicator = { name: "fine", columns: { x: "double" }, create: () => ({ onEnd() {}, helper: 1 }) as never };
    const set = new CustomIndicators([loaded(misspelt), loaded(none), loaded(fine)], log);
    set.host("AAAUSDT", new Rows());
    const [typo, empty, ok] = set.views();
    expect(typo!.switchedOff).toEqual(["AAAUSDT"]);
    // Nothing threw: the message says what create returned, without "threw:".
    expect(typo!.lastError).toBe("AAAUSDT: create returned onTrades, not a handler harvestd calls (onTrade, onBook, onDisconnect, onEnd)");
    expect(empty!.lastError).toBe("AAAUSDT: create returned no handler (onTrade, onBook, onDisconnect, onEnd)");
    expect(ok!.switchedOff).toEqual([]);
  });

  test("create returning something else than an object of functions is worded as what it returned, a throw as a throw", async () => {
    const mods: Indicator[] = [
      { name: "nul", columns: { x: "double" }, create: () => null as never },
      { name: "num", columns: { x: "double" }, create: () => 3 as never },
      { name: "str", columns: { x: "double" }, create: () => ({ onTrade: "yes" }) as never },
      { name: "pro", columns: { x: "double" }, create: () => Promise.reject(new Error("later")) as never },
      { name: "thr", columns: { x: "double" }, create: () => { throw new Error("no state"); } },
    ];
    const log = new Log();
    const set = new CustomIndicators(mods.map((m) => loaded(m)), log);
    set.host("AAAUSDT", new Rows());
    await Bun.sleep(1); // the promise's rejection is swallowed, not an unhandled one
    expect(set.views().map((v) => v.lastError)).toEqual([
      "AAAUSDT: create returned null, not an object of handlers (onTrade, onBook, onDisconnect, onEnd)",
      "AAAUSDT: create returned number, not an object of handlers (onTrade, onBook, onDisconnect, onEnd)",
      "AAAUSDT: create returned onTrade as a string, not a function",
      "AAAUSDT: create returned a promise: create must be synchronous and return the handlers",
      "AAAUSDT: threw: no state",
    ]);
    expect(set.views().every((v) => v.switchedOff.length === 1)).toBe(true);
    expect(log.lines.filter((l) => l.msg === "custom indicator error").map((l) => l.fields?.handler)).toEqual(["create", "create", "create", "create", "create"]);
  });

  test("emit outside a call (a timer) is logged like a failing call, through the same rate limit, and is no failing call", async () => {
    let later: ((row: never) => void) | null = null;
    const mod: Indicator = {
      name: "late",
      columns: { x: "double" },
      create: () => ({
        onTrade(_t, emit) {
          later = emit as never;
        },
      }),
    };
    const log = new Log();
    const set = new CustomIndicators([loaded(mod)], log);
    const h = set.host("AAAUSDT", new Rows());
    h.onTrade(trade(1), 1, false);
    await Bun.sleep(1);
    for (let i = 0; i < 3 * SWITCH_OFF_STREAK; i++) later!({ ts_ms: 1, x: 1 } as never);
    const errs = log.lines.filter((l) => l.msg === "custom indicator error");
    expect(errs.length).toBe(1); // the rest held back by the limiter (the real one counts them)
    expect(errs[0]).toMatchObject({
      level: "warn",
      fields: { indicator: "late", file: "/x/late.ts", symbol: "AAAUSDT", handler: null, error: "emit() called outside a handler call", errors: 1 },
    });
    expect(log.limitedCalls).toBe(3 * SWITCH_OFF_STREAK);
    const v = set.views()[0]!;
    expect(v.errors).toBe(3 * SWITCH_OFF_STREAK);
    // Not failing calls: the indicator goes on.
    expect(v.switchedOff).toEqual([]);
    h.onTrade(trade(2), 2, false);
    expect(v.calls + 1).toBe(set.views()[0]!.calls);
  });

  test("a host given its own logger writes its lines there (the crash-recovery rebuild marks its lines so)", () => {
    const own = new Log();
    const proc = new Log();
    const bad: Indicator = { name: "bad", columns: { x: "double" }, create: () => ({ onTrade() { throw new Error("x"); } }) };
    const set = new CustomIndicators([loaded(bad)], proc);
    const h = set.host("AAAUSDT", new Rows(), own);
    for (let i = 1; i <= SWITCH_OFF_STREAK; i++) h.onTrade(trade(i), i, false);
    expect(proc.lines).toEqual([]);
    expect(own.lines.map((l) => l.msg)).toEqual(["custom indicator error", "custom indicator switched off for this symbol"]);
  });

  test("cost is measured per handler call", () => {
    const set = new CustomIndicators([loaded(recorder([]))], new Log());
    const h = set.host("AAAUSDT", new Rows());
    for (let i = 1; i <= 100; i++) h.onTrade(trade(i), i, false);
    const v = set.views()[0]!;
    expect(v.calls).toBe(100);
    expect(v.costMeanUs).toBeGreaterThan(0);
    expect(v.costP99Us).toBeGreaterThan(0);
    expect(v.costMaxUs).toBeGreaterThanOrEqual(v.costMeanUs!);
  });
});
