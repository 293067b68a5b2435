/**
 * OFI (docs/indicators.md §5): per-level CKS rule incl. empty levels, z-score against the previous window (ddof 1),
 * σ = 0 behaviour, clip, warm-up nulls, options (depth norm, rolling sum), and the mirrored-book
 * property through the engine.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { BookSide, readSide, SideScratch } from "../../src/calc/book-input.ts";
import { OfiCalculator } from "../../src/calc/ofi.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { depth, doubles, type Level, MemorySink, prng } from "./calc-support.ts";

const scratch = new SideScratch();
function side(levels: Level[], isBid: boolean): BookSide {
  const s = new BookSide(isBid);
  readSide(Float64Array.from(levels.flat()), s, scratch);
  return s;
}

/** §5.1 written out directly, as an oracle: levels padded with (∓∞, 0). */
function oracleE(pb: Level[], pa: Level[], cb: Level[], ca: Level[]): number[] {
  const pad = (l: Level[], inf: number) => Array.from({ length: 5 }, (_, m) => l[m] ?? ([inf, 0] as const));
  const [PB, PA, CB, CA] = [pad(pb, -Infinity), pad(pa, Infinity), pad(cb, -Infinity), pad(ca, Infinity)];
  return CB.map((_, m) => {
    const ofb = CB[m][0] > PB[m][0] ? CB[m][1] : CB[m][0] === PB[m][0] ? CB[m][1] - PB[m][1] : -PB[m][1];
    const ofa = CA[m][0] > PA[m][0] ? -PA[m][1] : CA[m][0] === PA[m][0] ? CA[m][1] - PA[m][1] : CA[m][1];
    return ofb - ofa;
  });
}

/** A random top-5 book on an integer tick grid (so mirroring is exact). */
function randomBook(rnd: () => number, mid: number): { bids: Level[]; asks: Level[] } {
  const n = () => (rnd() < 0.15 ? 1 + Math.floor(rnd() * 4) : 5);
  const q = () => (rnd() < 0.5 ? 1 + Math.floor(rnd() * 20) : Math.round(rnd() * 1e3) / 100 + 0.01);
  const bids: Level[] = [];
  let p = mid - 1 - Math.floor(rnd() * 2);
  for (let i = 0, k = n(); i < k; i++, p -= 1 + Math.floor(rnd() * 2)) bids.push([p, q()]);
  const asks: Level[] = [];
  p = mid + 1 + Math.floor(rnd() * 2);
  for (let i = 0, k = n(); i < k; i++, p += 1 + Math.floor(rnd() * 2)) asks.push([p, q()]);
  return { bids, asks };
}

describe("§5.1 per-level rule", () => {
  const params = indicatorParams();
  test("empty levels: a disappearing bid gives −q_prev, an appearing bid +q_now; asks opposite", () => {
    const ofi = new OfiCalculator(params.ofi);
    const asks: Level[] = [[101, 1]];
    // bid level 1 (99×3) disappears
    ofi.update(side([[100, 2], [99, 3]], true), side(asks, false), side([[100, 2]], true), side(asks, false), 0);
    expect(Array.from(ofi.e)).toEqual([0, -3, 0, 0, 0]);
    // bid level 1 appears
    ofi.update(side([[100, 2]], true), side(asks, false), side([[100, 2], [99, 4]], true), side(asks, false), 0);
    expect(Array.from(ofi.e)).toEqual([0, 4, 0, 0, 0]);
    const bids: Level[] = [[100, 1]];
    // ask level 1 (102×5) disappears: +q_prev to e
    ofi.update(side(bids, true), side([[101, 1], [102, 5]], false), side(bids, true), side([[101, 1]], false), 0);
    expect(Array.from(ofi.e)).toEqual([0, 5, 0, 0, 0]);
    // ask level 1 appears: −q_now
    ofi.update(side(bids, true), side([[101, 1]], false), side(bids, true), side([[101, 1], [102, 6]], false), 0);
    expect(Array.from(ofi.e)).toEqual([0, -6, 0, 0, 0]);
  });

  test("level 0 equals the CKS e_n with non-strict inequalities; all levels match the oracle", () => {
    const rnd = prng(7);
    const ofi = new OfiCalculator(params.ofi);
    let prev = randomBook(rnd, 10_000);
    let mid = 10_000;
    for (let i = 0; i < 2000; i++) {
      mid += Math.floor(rnd() * 5) - 2;
      const cur = randomBook(rnd, mid);
      ofi.update(side(prev.bids, true), side(prev.asks, false), side(cur.bids, true), side(cur.asks, false), i);
      const e = oracleE(prev.bids, prev.asks, cur.bids, cur.asks);
      expect(Array.from(ofi.e)).toEqual(e);
      const [pb, qb] = cur.bids[0];
      const [pb0, qb0] = prev.bids[0];
      const [pa, qa] = cur.asks[0];
      const [pa0, qa0] = prev.asks[0];
      const cks = (pb >= pb0 ? qb : 0) - (pb <= pb0 ? qb0 : 0) - (pa <= pa0 ? qa : 0) + (pa >= pa0 ? qa0 : 0);
      expect(ofi.e[0]).toBeCloseTo(cks, 9);
      const w = [0.4, 0.25, 0.2, 0.1, 0.05];
      expect(ofi.value as number).toBeCloseTo(e.reduce((s, x, m) => s + w[m] * x, 0), 9);
      prev = cur;
    }
  });
});

describe("§5.3 z-score", () => {
  /** Drives the calculator with books whose OFI is exactly `v` (best-bid queue change only). */
  function feeder(ofiParams: Record<string, unknown> = {}) {
    const ofi = new OfiCalculator(indicatorParams({ ofi: { weights: [1, 0, 0, 0, 0], ...ofiParams } }).ofi);
    const asks = side([[101, 1]], false);
    return {
      ofi,
      push(v: number, t = 0) {
        ofi.update(side([[100, 1000]], true), asks, side([[100, 1000 + v]], true), asks, t);
      },
    };
  }

  test("equals clip((v − mean)/max(std_ddof1, floor), 3) over the previous 80 values; null (not 0) in warm-up", () => {
    const rnd = prng(11);
    const { ofi, push } = feeder();
    const vs: number[] = [];
    for (let i = 0; i < 1500; i++) {
      // mixture: mostly small, sometimes large, so the clip is exercised
      const v = Math.round((rnd() < 0.05 ? (rnd() - 0.5) * 400 : (rnd() - 0.5) * 20) * 1000) / 1000;
      push(v);
      const actual = ofi.value as number;
      expect(actual).toBeCloseTo(v, 9);
      const h = vs.slice(-80);
      if (h.length < 16) {
        expect(ofi.z).toBeNull();
        expect(ofi.scale).toBeNull();
      } else {
        const mu = h.reduce((a, b) => a + b, 0) / h.length;
        const sd = Math.sqrt(h.reduce((a, b) => a + (b - mu) ** 2, 0) / (h.length - 1));
        const scale = Math.max(sd, 1e-9);
        const z = Math.max(-3, Math.min(3, (actual - mu) / scale));
        expect(Math.abs((ofi.scale as number) - scale)).toBeLessThanOrEqual(1e-9 * scale);
        expect(Math.abs((ofi.z as number) - z)).toBeLessThanOrEqual(1e-9);
        expect(Math.abs(ofi.z as number)).toBeLessThanOrEqual(3);
      }
      vs.push(actual);
    }
  });

  test("σ = 0: z = 0 when v = μ, ±clip otherwise; scale = floor and std_floor_hit", () => {
    const { ofi, push } = feeder({ z_min_samples: 2 });
    push(2);
    push(2);
    push(2);
    expect(ofi.z).toBe(0);
    expect(ofi.scale).toBe(1e-9);
    expect(ofi.stdFloorHit).toBe(true);
    push(2.5);
    expect(ofi.z).toBe(3);
    push(2); // history [2, 2, 2, 2.5]: σ > 0 now
    expect(ofi.stdFloorHit).toBe(false);
    const f2 = feeder({ z_min_samples: 2, z_clip: 5 });
    f2.push(1);
    f2.push(1);
    f2.push(0);
    expect(f2.ofi.z).toBe(-5);
  });

  test("the history holds z_window values; reset() clears it", () => {
    const { ofi, push } = feeder({ z_window: 5, z_min_samples: 2 });
    for (let i = 0; i < 12; i++) push(i);
    expect(ofi.historySize).toBe(5);
    ofi.reset();
    expect(ofi.historySize).toBe(0);
    push(1);
    expect(ofi.z).toBeNull();
  });
});

describe("§5.2 options", () => {
  test("OFI_DEPTH_NORM divides by D̄ = ½(D(n) + D(n−1)), D = (1/10)·Σ(qb + qa); D̄ = 0 ⇒ null", () => {
    const ofi = new OfiCalculator(indicatorParams({ ofi: { depth_norm: true } }).ofi);
    // prev: bids 100×5, 99×3; asks 101×4 ⇒ D = 12/10. cur: bids 100×7, 99×3; asks 101×2 ⇒ D = 12/10
    ofi.update(side([[100, 5], [99, 3]], true), side([[101, 4]], false), side([[100, 7], [99, 3]], true), side([[101, 2]], false), 0);
    // e_0 = 2 − (−2) = 4 ⇒ raw 0.4·4 = 1.6; D̄ = 1.2 ⇒ 1.333…
    expect(ofi.value as number).toBeCloseTo(1.6 / 1.2, 12);
    // with levels = 2 the average is over 2·2 slots
    const two = new OfiCalculator(indicatorParams({ ofi: { depth_norm: true, levels: 2, weights: [1, 1] } }).ofi);
    two.update(side([[100, 5], [99, 3]], true), side([[101, 4]], false), side([[100, 7], [99, 3]], true), side([[101, 2]], false), 0);
    // e = [4, 0]; w = [0.5, 0.5] ⇒ 2; D = 12/4 = 3
    expect(two.value as number).toBeCloseTo(2 / 3, 12);
    const empty = new OfiCalculator(indicatorParams({ ofi: { depth_norm: true } }).ofi);
    empty.update(new BookSide(true), new BookSide(false), new BookSide(true), new BookSide(false), 0);
    expect(empty.value).toBeNull();
    expect(empty.z).toBeNull();
  });

  test("OFI_SUM_WINDOW_MS: value = Σ raw over ts_eff ∈ (t − W, t] (brute force)", () => {
    const W = 1000;
    const ofi = new OfiCalculator(indicatorParams({ ofi: { sum_window_ms: W, weights: [1, 0, 0, 0, 0] } }).ofi);
    const rnd = prng(5);
    const asks = side([[101, 1]], false);
    const hist: Array<[number, number]> = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += Math.floor(rnd() * 300); // includes same-ms events
      const v = Math.round((rnd() - 0.5) * 1e4) / 100;
      ofi.update(side([[100, 1000]], true), asks, side([[100, 1000 + v]], true), asks, t);
      hist.push([t, ofi.e[0]]);
      const expected = hist.filter(([ti]) => ti > t - W && ti <= t).reduce((s, [, x]) => s + x, 0);
      expect(Math.abs((ofi.value as number) - expected)).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe("mirrored book ⇒ negated OFI (engine, random books)", () => {
  test("ofi_value and ofi_z are exactly negated; classification and d_* (bid↔ask) agree", () => {
    const C = 10_000;
    const mirror = (l: Level[]): Level[] => l.map(([p, q]) => [2 * C - p, q]);
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      const params = indicatorParams({ ofi: { z_min_samples: 5, z_window: 30 } });
      const a = new MemorySink();
      const b = new MemorySink();
      const ea = new SymbolEngine("X", params, a, doubles());
      const eb = new SymbolEngine("X", params, b, doubles());
      let mid = C + Math.floor(rnd() * 20) - 10;
      let t = 1000;
      for (let i = 0; i < 600; i++) {
        mid += Math.floor(rnd() * 5) - 2;
        t += rnd() < 0.01 ? 2500 : 50 + Math.floor(rnd() * 100); // occasional time-gap reset
        const bk = randomBook(rnd, mid);
        ea.onDepth(depth(t, i * 10 + 1, i * 10 + 10, i * 10, bk.bids, bk.asks, "X"), t);
        eb.onDepth(depth(t, i * 10 + 1, i * 10 + 10, i * 10, mirror(bk.asks), mirror(bk.bids), "X"), t);
      }
      expect(a.rows.ofi.length).toBeGreaterThan(500);
      expect(b.rows.ofi.length).toBe(a.rows.ofi.length);
      a.rows.ofi.forEach((r, i) => {
        const m = b.rows.ofi[i];
        expect(m.ofi_value).toBe(-(r.ofi_value as number));
        expect(m.ofi_z).toBe(r.ofi_z === null ? null : -(r.ofi_z as number));
        expect(m.scale).toBe(r.scale);
      });
      a.rows.orderbook.forEach((r, i) => {
        const m = b.rows.orderbook[i];
        expect(m.d_a0).toBe(r.d_b0);
        expect(m.d_bid_qty_agg).toBe(r.d_ask_qty_agg);
        expect(m.best_bid).toBe(2 * C - (r.best_ask as number));
        expect(m.best_ask).toBe(2 * C - (r.best_bid as number));
      });
      expect(a.rows.ofi.some((r) => r.ofi_z === 3 || r.ofi_z === -3 || r.ofi_z === null)).toBe(true);
    }
  });
});
