/**
 * docs/indicators.md §11: the worked example, every number, through the SymbolEngine.
 * Expected values are that section's (computed by an independent float64 script); tolerance 1e-9.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import type { Row } from "../../src/core/rows.ts";
import { depth, MemorySink, trade } from "./calc-support.ts";

const TOL = 1e-9;
const close = (actual: unknown, expected: number): void => {
  expect(typeof actual).toBe("number");
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(TOL);
};

// §11.1 books: T, U, u, pu, bids, asks.
const B1000 = depth(1000, 91, 100, 90, [[100.0, 5], [99.9, 3], [99.8, 4], [99.7, 2], [99.6, 6]], [[100.1, 4], [100.2, 2], [100.3, 5], [100.4, 3], [100.5, 1]]);
const B1100 = depth(1100, 101, 110, 100, [[100.0, 7], [99.9, 3], [99.8, 4], [99.7, 2], [99.6, 6]], [[100.1, 3], [100.2, 4], [100.3, 5], [100.4, 3], [100.5, 1]]);
const B1200 = depth(1200, 111, 120, 110, [[100.1, 2], [100.0, 7], [99.9, 3], [99.8, 4], [99.7, 2]], [[100.2, 4], [100.3, 5], [100.4, 3], [100.5, 1], [100.6, 2]]);
const B1300 = depth(1300, 121, 130, 120, [[100.0, 6], [99.9, 3], [99.8, 4], [99.7, 2]], [[100.2, 5], [100.3, 5], [100.4, 3], [100.5, 1], [100.6, 2]]);
// §11.1 trades: T, a, p, q, m. E (not in the table) is T + 7 so latency_ms = recv − E is checkable.
const E_LAG = 7;
const RECV_LAG = 120;
const t = (T: number, a: number, p: number, q: number, m: boolean) => trade(T, a, p, q, m, "BTCUSDT", T + E_LAG);

interface Diag {
  readonly fast: number;
  readonly slow: number;
}

const sink = new MemorySink();
const diag: Diag[] = [];
const ofiE: number[][] = [];
let engine: SymbolEngine;

beforeAll(() => {
  const params = indicatorParams({ ofi: { z_min_samples: 2 }, cvd: { freeze_min: 1 } });
  // all four contract calculators are the real ones (regime, fusion, divergence, features)
  engine = new SymbolEngine("BTCUSDT", params, sink);
  const book = (ev: ReturnType<typeof depth>) => {
    const before = sink.rows.ofi.length;
    engine.onDepth(ev, ev.transactTime! + RECV_LAG);
    if (sink.rows.ofi.length > before) ofiE.push([...engine.diagnostics().ofiE]);
  };
  const tr = (ev: ReturnType<typeof trade>) => {
    const before = sink.rows.cvd.length;
    engine.onTrade(ev, ev.tradeTime! + RECV_LAG);
    if (sink.rows.cvd.length > before) {
      const d = engine.diagnostics();
      diag.push({ fast: d.cvdFast, slow: d.cvdSlow });
    }
  };
  // Merge order (ts, trade before book).
  book(B1000);
  tr(t(1050, 1001, 100.1, 2, false));
  book(B1100);
  tr(t(1150, 1002, 100.0, 1, true));
  tr(t(1150, 1003, 100.0, 0.5, true));
  book(B1200);
  tr(t(1280, 1004, 100.2, 3, false));
  tr(t(1281, 1004, 100.2, 3, false)); // duplicate id ⇒ dropped
  book(B1300);
  tr(t(1350, 1006, 100.0, 1, true)); // 1005 missing ⇒ trade_id_gaps = 1
  tr(t(1450, 1007, 100.3, 100, false));
  engine.finish();
});

describe("§11.2 OFI rows", () => {
  const expected = [
    { ts: 1100, u: 110, value: 0.7, z: null, scale: null, lag: 50, e: [3, -2, 0, 0, 0] },
    { ts: 1200, u: 120, value: 7.2, z: null, scale: null, lag: 50, e: [5, 11, 8, 7, 3] },
    { ts: 1300, u: 130, value: -4.05, z: -1.740570538305, scale: 4.596194077713, lag: 20, e: [-3, -7, -3, -4, -2] },
  ];
  test("one row per normal book message (none for the first)", () => {
    expect(sink.rows.ofi.map((r) => r.ts_ms)).toEqual([1100, 1200, 1300]);
  });
  expected.forEach((x, i) => {
    test(`t=${x.ts}`, () => {
      const r = sink.rows.ofi[i];
      expect(r.symbol).toBe("BTCUSDT");
      expect(r.last_id).toBe(x.u);
      close(r.ofi_value, x.value);
      if (x.z === null) expect(r.ofi_z).toBeNull();
      else close(r.ofi_z, x.z);
      if (x.scale === null) expect(r.scale).toBeNull();
      else close(r.scale, x.scale);
      expect(r.lag_ms_to_trade).toBe(x.lag);
      expect(r.std_floor_hit).toBe(false);
      expect(r.seq_gap).toBe(false);
      expect(r.scenario_2x2).toBe("Q_L");
      ofiE[i].forEach((e, m) => close(e, x.e[m]));
    });
  });
});

describe("§11.3 orderbook rows", () => {
  const books = [B1000, B1100, B1200, B1300];
  const expected = [
    { ts: 1000, bb: 100.0, ba: 100.1, mid: 100.05, spread: 9.9950024988, db: null, dbAgg: null, da: null, daAgg: null },
    { ts: 1100, bb: 100.0, ba: 100.1, mid: 100.05, spread: 9.9950024988, db: [2, 0, 0, 0, 0], dbAgg: 2, da: [-1, 2, 0, 0, 0], daAgg: 1 },
    { ts: 1200, bb: 100.1, ba: 100.2, mid: 100.15, spread: 9.9850224663, db: [-5, 4, -1, 2, -4], dbAgg: -4, da: [1, 1, -2, -2, 1], daAgg: -1 },
    { ts: 1300, bb: 100.0, ba: 100.2, mid: 100.1, spread: 19.98001998, db: [4, -4, 1, -2, -2], dbAgg: -3, da: [1, 0, 0, 0, 0], daAgg: 1 },
  ];
  test("one row per book message", () => {
    expect(sink.rows.orderbook.map((r) => r.ts_ms)).toEqual([1000, 1100, 1200, 1300]);
  });
  expected.forEach((x, i) => {
    test(`t=${x.ts}`, () => {
      const r = sink.rows.orderbook[i];
      const ev = books[i];
      expect(r.recv_ts_ms).toBe(x.ts + RECV_LAG);
      close(r.best_bid, x.bb);
      close(r.best_ask, x.ba);
      close(r.mid, x.mid);
      // §11.3 prints spread_bps to 10 decimals: half a unit of the last digit
      expect(Math.abs((r.spread_bps as number) - x.spread)).toBeLessThanOrEqual(5e-11);
      expect([r.first_id, r.last_id, r.prev_last_id]).toEqual([ev.firstId, ev.lastId, ev.prevLastId]);
      for (let m = 0; m < 5; m++) {
        if (x.db === null) expect(r[`d_b${m}`]).toBeNull();
        else close(r[`d_b${m}`], x.db[m]);
        if (x.da === null) expect(r[`d_a${m}`]).toBeNull();
        else close(r[`d_a${m}`], x.da[m]);
      }
      if (x.dbAgg === null) expect(r.d_bid_qty_agg).toBeNull();
      else close(r.d_bid_qty_agg, x.dbAgg);
      if (x.daAgg === null) expect(r.d_ask_qty_agg).toBeNull();
      else close(r.d_ask_qty_agg, x.daAgg);
      // levels as given in §11.1 (null = empty level)
      for (let m = 0; m < 5; m++) {
        const hasBid = 2 * m < ev.bids.length;
        expect(r[`bid_px_${m}`]).toBe(hasBid ? ev.bids[2 * m] : null);
        expect(r[`bid_qty_${m}`]).toBe(hasBid ? ev.bids[2 * m + 1] : null);
        expect(r[`ask_px_${m}`]).toBe(ev.asks[2 * m]);
        expect(r[`ask_qty_${m}`]).toBe(ev.asks[2 * m + 1]);
      }
      expect(r.seq_gap).toBe(false);
    });
  });
  test("no sequence gaps", () => {
    expect(engine.counters.seq_gaps).toBe(0);
  });
});

describe("§11.4 CVD", () => {
  const expected = [
    { ts: 1050, a: 1001, delta: 2, cvd: 2, fast: 2, slow: 2, scale: 2, zRaw: 1.0, zCvd: 1.0 },
    { ts: 1150, a: 1002, delta: -1, cvd: 1, fast: 1.998845421738, slow: 1.999884482143, scale: 1.999676670062, zRaw: -0.500080845554, zCvd: -0.500080845554 },
    { ts: 1150, a: 1003, delta: -0.5, cvd: 0.5, fast: 1.998828106497, slow: 1.999882749409, scale: 1.999671820827, zRaw: -0.250041029129, zCvd: -0.250041029129 },
    { ts: 1280, a: 1004, delta: 3, cvd: 3.5, fast: 2.000330556873, slow: 2.000032937629, scale: 2.000092461478, zRaw: 1.499930657097, zCvd: 1.499930657097 },
    { ts: 1350, a: 1006, delta: -1, cvd: 2.5, fast: 1.999521944845, slow: 1.999952071064, scale: 1.99986604582, zRaw: -0.500033490788, zCvd: -0.500033490788 },
    { ts: 1450, a: 1007, delta: 100, cvd: 102.5, fast: 2.112671166471, slow: 2.011272826625, scale: 2.031552494594, zRaw: 49.223438855794, zCvd: 8.0 },
  ];
  test("one row per accepted trade; the duplicate 1004 at 1281 is dropped", () => {
    expect(sink.rows.cvd.map((r) => [r.ts_ms, r.agg_trade_id])).toEqual(expected.map((x) => [x.ts, x.a]));
  });
  expected.forEach((x, i) => {
    test(`a=${x.a}`, () => {
      const r = sink.rows.cvd[i];
      close(r.delta, x.delta);
      close(r.cvd, x.cvd);
      close(diag[i].fast, x.fast);
      close(diag[i].slow, x.slow);
      close(r.scale, x.scale);
      close(r.z_raw, x.zRaw);
      close(r.z_cvd, x.zCvd);
      // MAD needs 50 deltas ⇒ floor = 0 throughout, so the EWMA mix is the scale
      expect(r.floor).toBe(0);
      expect(r.floor_used).toBe(false);
      expect(r.scenario_2x2).toBe("Q_L");
    });
  });
  test("counters: one duplicate, one id gap (1005), seven trade messages, six accepted", () => {
    expect(engine.counters.dup_trades).toBe(1);
    expect(engine.counters.trade_id_gaps).toBe(1);
    expect(engine.counters.trades).toBe(6);
    expect(engine.counters.bad_trades).toBe(0);
  });
  test("the id gap is an event with the missing range", () => {
    const gaps = sink.rows.events.filter((e) => e.type === "trade_id_gap");
    expect(gaps.length).toBe(1);
    expect(gaps[0].ts_ms).toBe(1350);
    expect(JSON.parse(gaps[0].detail as string)).toEqual({ from_id: 1005, to_id: 1005, missing: 1 });
  });
});

describe("§11.5 prices rows", () => {
  const expected = [
    { ts: 1050, a: 1001, price: 100.1, qty: 2, buy: 100.1, sell: 100.0, id: "3ecbf96508c8a9f6cdecd9cdc8670516" },
    { ts: 1150, a: 1002, price: 100.0, qty: 1, buy: 100.1, sell: 100.0, id: "a0edf376dfddaecf95b033e69e449151" },
    { ts: 1150, a: 1003, price: 100.0, qty: 0.5, buy: 100.1, sell: 100.0, id: "6dab680009f66a4526b3aba1c9639b5e" },
    { ts: 1280, a: 1004, price: 100.2, qty: 3, buy: 100.2, sell: 100.1, id: "d4f81540247eab202dc066c23e0ff405" },
    { ts: 1350, a: 1006, price: 100.0, qty: 1, buy: 100.2, sell: 100.0, id: "c609e18c5c090ade7bef63d1cbc020ba" },
    { ts: 1450, a: 1007, price: 100.3, qty: 100, buy: 100.2, sell: 100.0, id: "48209c1e7225444614032a093659628f" },
  ];
  test("one row per accepted trade", () => {
    expect(sink.rows.prices.map((r) => r.agg_trade_id)).toEqual(expected.map((x) => x.a));
  });
  expected.forEach((x, i) => {
    test(`a=${x.a}`, () => {
      const r: Row = sink.rows.prices[i];
      expect(r.ts_ms).toBe(x.ts);
      expect(r.recv_ts_ms).toBe(x.ts + RECV_LAG);
      expect(r.price).toBe(x.price);
      expect(r.qty).toBe(x.qty);
      close(r.best_buy_fill, x.buy);
      close(r.best_sell_fill, x.sell);
      expect(r.row_id).toBe(x.id);
      expect(r.latency_ms).toBe(RECV_LAG - E_LAG);
      expect(r.backfilled).toBe(false);
      expect(r.scenario_2x2).toBe("Q_L");
    });
  });
});

describe("§11.6 fusion", () => {
  const expected = [
    { ts: 1350, a: 1006, lag: 50, zo: -1.740570538305, zc: -0.500033490788, score: -1.244355719298, proba: 0.22367871987, cons: 0.287281371127, disp: 1.240537047517, signal: "sell" },
    { ts: 1450, a: 1007, lag: 150, zo: -1.740570538305, zc: 4.0, score: 0.555657677017, proba: 0.635447216436, cons: 0, disp: 5.740570538305, signal: "neutral" },
  ];
  test("no fusion rows before the first OFI z (trades 1050–1280)", () => {
    expect(sink.rows.fusion.map((r) => r.ts_ms)).toEqual([1350, 1450]);
  });
  expected.forEach((x, i) => {
    test(`t=${x.ts}`, () => {
      const r = sink.rows.fusion[i];
      expect(r.agg_trade_id).toBe(x.a);
      expect(r.lag_ms).toBe(x.lag);
      close(r.z_ofi, x.zo);
      close(r.z_cvd, x.zc);
      close(r.score, x.score);
      close(r.proba, x.proba);
      close(r.consistency, x.cons);
      close(r.dispersion, x.disp);
      expect(r.signal).toBe(x.signal);
      expect(r.degraded).toBe(false);
      expect(r.scenario_2x2).toBe("Q_L");
    });
  });
  test("one ofi_cvd_conflict event, at 1450 (none at 1350: same signs)", () => {
    const c = sink.rows.events.filter((e) => e.type === "ofi_cvd_conflict");
    expect(c.length).toBe(1);
    expect(c[0].ts_ms).toBe(1450);
    expect(c[0].channel).toBe("ofi_cvd");
    close(c[0].strength, 1.740570538305);
  });
  test("events: exactly the id gap and the conflict (no divergence with 60-bar windows)", () => {
    expect(sink.rows.events.map((e) => [e.type, e.ts_ms])).toEqual([
      ["trade_id_gap", 1350],
      ["ofi_cvd_conflict", 1450],
    ]);
  });
});

describe("§11 through the features table (the engine's wiring of FeatureBars)", () => {
  // Values derived by hand from the §11.1 inputs and the features column definitions.
  test("two seconds: τ = 1000 (the first book only) and τ = 2000 (everything else)", () => {
    expect(sink.rows.features.map((r) => r.ts_ms)).toEqual([1000, 2000]);
    const [a, b] = sink.rows.features;
    close(a.mid, 100.05);
    expect(a.ofi_sum).toBe(0);
    expect(a.ofi_z_last).toBeNull();
    expect(a.cvd).toBe(0);
    expect(a.z_cvd_last).toBeNull();
    expect(a.fusion_score).toBeNull();
    expect(a.trade_count).toBe(0);
    expect(a.vwap).toBeNull();
    close(b.mid, 100.1);
    close(b.spread_bps, 0.2 / 100.1 * 1e4);
    close(b.ofi_sum, 0.7 + 7.2 - 4.05);
    close(b.ofi_z_last, -1.740570538305);
    close(b.cvd, 102.5);
    close(b.z_cvd_last, 8);
    close(b.fusion_score, 0.555657677017);
    expect(b.fusion_signal).toBe("neutral");
    expect(b.trade_count).toBe(6);
    close(b.buy_volume, 2 + 3 + 100);
    close(b.sell_volume, 1 + 0.5 + 1);
    close(b.vwap, (100.1 * 2 + 100 * 1 + 100 * 0.5 + 100.2 * 3 + 100 * 1 + 100.3 * 100) / 107.5);
    close(b.tps, 6 / 300);
    close(b.realized_vol_bps, 1e4 * Math.abs(Math.log(100.1 / 100.05)));
    expect(b.scenario_2x2).toBe("Q_L");
  });
});
