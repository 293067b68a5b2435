/**
 * SymbolEngine wiring: rows match the explicit schemas, the contract calculators get the right
 * inputs (docs/indicators.md §15.7 last non-null OFI z; fusion only on non-null z_cvd), unbuilt options are rejected,
 * the status snapshot, and warm-up nulls (never zeros) in random streams.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { assertSupported, notBuilt, NotBuiltError } from "../../src/calc/supported.ts";
import { OfiParamsSchema } from "../../src/calc/params.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { SCHEMAS, type RowKind } from "../../src/core/rows.ts";
import { depth, doubles, type Level, MemorySink, prng, trade } from "./calc-support.ts";

const BIDS: Level[] = [[100, 5], [99.9, 3], [99.8, 4], [99.7, 2], [99.6, 6]];
const ASKS: Level[] = [[100.1, 4], [100.2, 2], [100.3, 5], [100.4, 3], [100.5, 1]];

/** A random mixed stream (books every ~100 ms, trades in bursts), all classes of book included. */
function randomStream(engine: SymbolEngine, seed: number, n: number): void {
  const rnd = prng(seed);
  let t = 1_700_000_000_000;
  let u = 1000;
  let a = 1;
  let mid = 10_000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 60);
    if (rnd() < 0.003) t += 6000; // outages: OFI reset and CVD freeze
    if (rnd() < 0.4) {
      mid += Math.floor(rnd() * 3) - 1;
      const q = () => Math.round(rnd() * 500) / 100 + 0.01;
      const bids: Level[] = [0, 1, 2, 3, 4].map((k) => [(mid - 1 - k) / 10, q()]);
      const asks: Level[] = [0, 1, 2, 3, 4].map((k) => [(mid + 1 + k) / 10, q()]);
      const r = rnd();
      if (r < 0.01) bids.length = 0; // one-sided
      else if (r < 0.02) bids.unshift([(mid + 3) / 10, 1]); // crossed
      const pu = rnd() < 0.01 ? u - 3 : u;
      u += 1 + Math.floor(rnd() * 5);
      engine.onDepth(depth(t, u - 1, u, pu, bids, asks, "X"), t + 20);
      if (rnd() < 0.002) engine.onDisconnect("public");
    } else {
      if (rnd() < 0.01) a += 2; // id gap
      const dup = rnd() < 0.01;
      engine.onTrade(trade(t - Math.floor(rnd() * 3), dup ? a - 1 : a, mid / 10, Math.round(rnd() * 300) / 100 + 0.001, rnd() < 0.5, "X", t + 1), t + 120);
      if (!dup) a++;
    }
  }
  engine.finish();
}

describe("rows match core/rows.ts", () => {
  test("every kind: exactly the schema's columns, non-null where required, finite numbers, right types", () => {
    const sink = new MemorySink();
    const engine = new SymbolEngine("X", indicatorParams({ divergence: { window_bars: 5 }, regime: { win_secs: 5 } }), sink);
    randomStream(engine, 99, 20_000);
    const kinds: RowKind[] = ["prices", "orderbook", "ofi", "cvd", "fusion", "events", "features"];
    for (const kind of kinds) {
      const rows = sink.rows[kind];
      expect(rows.length).toBeGreaterThan(0);
      const cols = SCHEMAS[kind];
      for (const r of rows) {
        // Stored rows: the engine's columns in schema order, then the computed ones the sink filled in.
        expect(Object.keys(r)).toEqual([...cols.filter((c) => c.computed !== true), ...cols.filter((c) => c.computed === true)].map((c) => c.name));
        for (const c of cols) {
          const v = r[c.name];
          if (v === null) {
            expect(c.nullable ? null : `${kind}.${c.name} is null`).toBeNull();
            continue;
          }
          switch (c.type) {
            case "ts":
            case "i64":
              expect(Number.isInteger(v) ? true : `${kind}.${c.name} = ${v}`).toBe(true);
              break;
            case "f64":
              expect(Number.isFinite(v) ? true : `${kind}.${c.name} = ${v}`).toBe(true);
              break;
            case "str":
              expect(typeof v).toBe("string");
              break;
            case "bool":
              expect(typeof v).toBe("boolean");
              break;
          }
        }
      }
    }
    const types = new Set(sink.rows.events.map((e) => e.type));
    for (const t of ["seq_gap", "trade_id_gap", "crossed_book", "ofi_reset", "reconnect"]) expect(types.has(t)).toBe(true);
    for (const e of sink.rows.events) if (typeof e.detail === "string") JSON.parse(e.detail);
  });
});

describe("contract inputs", () => {
  test("fusion sees every non-null ofi_z (also after a reset) and is evaluated only on non-null z_cvd", () => {
    const sink = new MemorySink();
    const deps = doubles();
    const engine = new SymbolEngine("X", indicatorParams({ ofi: { z_min_samples: 2 }, cvd: { freeze_min: 3 } }), sink, deps);
    let u = 10;
    const book = (T: number, q: number) => {
      u += 10;
      engine.onDepth(depth(T, u - 9, u, u - 10, [[100, q]], ASKS), T);
    };
    [1000, 1100, 1200, 1300].forEach((t, i) => book(t, 5 + i * i));
    for (let i = 0; i < 5; i++) engine.onTrade(trade(1300 + i, i + 1, 100, 1, i % 2 === 0), 1400);
    book(9000, 3); // time gap reset: no OFI row
    const zs = sink.rows.ofi.map((r) => r.ofi_z).filter((z) => z !== null);
    expect(deps.fusion.ofiZ.map((x) => x[0])).toEqual(zs as number[]);
    expect(deps.fusion.ofiZ.map((x) => x[1])).toEqual([1300]);
    // trades 1 and 2 are warm-up (freeze_min 3): no evaluation
    expect(deps.fusion.trades.map((x) => x[2])).toEqual([1302, 1303, 1304]);
    expect(deps.fusion.trades.map((x) => x[0])).toEqual(sink.rows.cvd.slice(2).map((r) => r.z_cvd as number));
    expect(engine.snapshot().ofiZ).toBe(zs.at(-1) as number);
  });

  test("divergence gets OFI values and resets (time gap at its ts_eff, reconnect at the book clock)", () => {
    const sink = new MemorySink();
    const deps = doubles();
    const engine = new SymbolEngine("X", indicatorParams(), sink, deps);
    engine.onDepth(depth(1000, 1, 10, null, BIDS, ASKS, "X"), 0);
    engine.onDepth(depth(1100, 11, 20, 10, [[100, 6], ...BIDS.slice(1)], ASKS, "X"), 0);
    engine.onTrade(trade(5000, 1, 100, 1, false, "X"), 0);
    engine.onDisconnect("public");
    engine.onDepth(depth(5000, 101, 110, 100, BIDS, ASKS, "X"), 0);
    engine.onDepth(depth(9000, 111, 120, 110, BIDS, ASKS, "X"), 0);
    expect(deps.divergence.ofi).toEqual(sink.rows.ofi.map((r) => r.ofi_value as number));
    expect(deps.divergence.resets).toEqual([1100, 9000]);
  });
});

describe("warm-up and nulls (random streams)", () => {
  test("OFI: the first z_min_samples rows after each reset have null z and scale; CVD: first 19 trades null", () => {
    const sink = new MemorySink();
    const engine = new SymbolEngine("X", indicatorParams(), sink, doubles());
    randomStream(engine, 5, 30_000);
    // OFI rows since the last reset: a row follows a reset when its orderbook predecessor had null d_*
    let sinceReset = 0;
    let ofiIdx = 0;
    for (const ob of sink.rows.orderbook) {
      if (ob.d_b0 === null) {
        const isValidNonNormal = ob.mid !== null && (ob.spread_bps as number) > 0;
        if (isValidNonNormal) sinceReset = 0; // first / reset: history cleared
        continue;
      }
      const r = sink.rows.ofi[ofiIdx++];
      expect(r.last_id).toBe(ob.last_id);
      if (sinceReset < 16) {
        expect(r.ofi_z).toBeNull();
        expect(r.scale).toBeNull();
      } else {
        expect(typeof r.ofi_z).toBe("number");
        expect(Math.abs(r.ofi_z as number)).toBeLessThanOrEqual(3);
      }
      sinceReset++;
    }
    expect(ofiIdx).toBe(sink.rows.ofi.length);
    sink.rows.cvd.slice(0, 19).forEach((r) => expect(r.z_cvd).toBeNull());
    for (const r of sink.rows.cvd) if (r.z_cvd !== null) expect(Math.abs(r.z_cvd as number)).toBeLessThanOrEqual(8);
  });
});

describe("unbuilt options (assertSupported)", () => {
  test("defaults and the §11 set are supported", () => {
    expect(() => assertSupported(indicatorParams())).not.toThrow();
    expect(notBuilt(indicatorParams({ cvd: { units: "quote", anchor: "utc_day", ewma_form: "event", z_mode: "level" }, ofi: { depth_norm: true, sum_window_ms: 500, reset_on_utc_day: true } }))).toEqual([]);
  });

  test("cvd.activity_adapt, fusion.trigger=both and divergence.method=pivot are each reported with their path", () => {
    const p = indicatorParams({ cvd: { activity_adapt: true }, fusion: { trigger: "both" }, divergence: { method: "pivot" } });
    expect(notBuilt(p).map((x) => x.path)).toEqual(["cvd.activity_adapt", "fusion.trigger", "divergence.method"]);
    expect(() => assertSupported(p)).toThrow(NotBuiltError);
    expect(() => assertSupported(p)).toThrow(/cvd\.activity_adapt: .*not built/);
    expect(() => new SymbolEngine("X", p, new MemorySink())).toThrow(NotBuiltError);
  });

  test("ofi.weights = 'pca' is rejected by the schema as not built", () => {
    const pca = OfiParamsSchema.safeParse({ weights: "pca" });
    expect(pca.success).toBe(false);
    expect(pca.error!.issues[0]!.path).toEqual(["weights"]);
    expect(pca.error!.issues[0]!.message).toContain("not built");
    expect(OfiParamsSchema.safeParse({ weights: [1, 1] }).success).toBe(true);
  });
});

describe("snapshot", () => {
  test("status view: prices, book levels, indicators, counters (a copy)", () => {
    const sink = new MemorySink();
    const engine = new SymbolEngine("X", indicatorParams({ cvd: { freeze_min: 1 } }), sink);
    const empty = engine.snapshot();
    expect([empty.lastPrice, empty.mid, empty.ofiZ, empty.zCvd, empty.regime]).toEqual([null, null, null, null, null]);
    expect(empty.bids).toEqual([]);
    engine.onDepth(depth(1000, 1, 10, null, BIDS, ASKS, "X"), 1010);
    engine.onTrade(trade(1005, 7, 100.1, 2, false, "X"), 1100);
    engine.onDepth(depth(1100, 11, 20, 10, BIDS.slice(0, 2), [], "X"), 1110); // one-sided: levels shown, mid kept
    const s = engine.snapshot();
    expect(s.lastPrice).toBe(100.1);
    expect(s.lastTradeTsMs).toBe(1005);
    expect(s.mid).toBeCloseTo(100.05, 12);
    expect(s.spreadBps).toBeCloseTo((0.1 / 100.05) * 1e4, 9);
    expect([s.bestBid, s.bestAsk]).toEqual([100, 100.1]);
    expect(s.bids).toEqual([{ px: 100, qty: 5 }, { px: 99.9, qty: 3 }]);
    expect(s.asks).toEqual([]);
    expect(s.bookTsMs).toBe(1100);
    expect(s.cvd).toBe(2);
    expect(s.zCvd).toBe(1);
    expect(s.regime).toBe("Q_L");
    expect(s.counters.trades).toBe(1);
    expect(s.counters.books).toBe(2);
    expect(s.counters.one_sided_books).toBe(1);
    engine.onTrade(trade(1200, 8, 100, 1, true, "X"), 1300);
    expect(s.counters.trades).toBe(1);
    expect(engine.counters.trades).toBe(2);
  });
});
