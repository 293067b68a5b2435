import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import type { FeatureRow, Signal } from "../../src/calc/contracts.ts";
import { FeatureBars } from "../../src/calc/features.ts";
import { RegimeTracker } from "../../src/calc/regime.ts";

/** Drives RegimeTracker + FeatureBars the way the engine does: on* calls, then advance. */
function harness() {
  const params = indicatorParams({ regime: { win_secs: 2 } });
  const regime = new RegimeTracker(params);
  const f = new FeatureBars(params, regime);
  const rows: FeatureRow[] = [];
  const emit = (r: FeatureRow) => rows.push({ ...r });
  let bookTs = Number.NEGATIVE_INFINITY;
  let tradeTs = Number.NEGATIVE_INFINITY;
  return {
    rows,
    book(ts: number, mid: number, spread: number, ofi?: [number, number | null]) {
      bookTs = ts;
      regime.onValidBook(ts, mid);
      f.onValidBook(ts, mid, spread);
      if (ofi) f.onOfi(ts, ofi[0], ofi[1]);
      f.advance(bookTs, tradeTs, emit);
    },
    /** A one-sided or crossed book: kept, advances the book clock, no mid. */
    badBook(ts: number) {
      bookTs = ts;
      regime.onEvent(ts);
      f.advance(bookTs, tradeTs, emit);
    },
    trade(ts: number, p: number, q: number, side: 1 | -1, cvd: number, z: number | null, fusion?: [number, Signal]) {
      tradeTs = ts;
      regime.onTrade(ts);
      f.onTrade(ts, p, q, side, cvd, z);
      if (fusion) f.onFusion(ts, fusion[0], fusion[1]);
      f.advance(bookTs, tradeTs, emit);
    },
    finish() {
      f.finish(emit);
    },
  };
}

const bps = (a: number, b: number) => 1e4 * Math.abs(Math.log(a / b));

describe("features: hand-made sequence", () => {
  const h = harness();
  const after: Record<string, number> = {};
  h.book(1200, 100.0, 10.0); // first book: no OFI row
  h.trade(1500, 100.1, 2, 1, 2, null);
  h.book(1700, 100.1, 9.99, [0.7, null]);
  h.trade(1900, 100.0, 1, -1, 1, -0.5, [-1.3, "sell"]);
  h.trade(2000, 100.2, 3, 1, 4, 1.5); // exactly at τ = 2000 ⇒ second 2000
  h.book(2100, 100.2, 9.98, [7.2, 1.1]);
  after.book2100 = h.rows.length; // trades have not passed 2000 yet
  h.badBook(2300);
  h.trade(2300, 100.3, 1, 1, 5, 0.2, [0.9, "neutral"]);
  after.trade2300 = h.rows.length;
  h.book(2900, 100.3, 9.97, [-4.05, -1.74]);
  h.trade(3500, 100.4, 0.5, -1, 4.5, null);
  after.trade3500 = h.rows.length; // the book stream is at 2900 < 3000
  h.badBook(3600);
  after.bad3600 = h.rows.length;
  // Outage of both streams until 70 500.
  h.trade(70_500, 101.1, 1.5, 1, 6, null);
  h.book(70_600, 101.0, 9.9); // time-gap book: valid, no OFI row
  after.book70600 = h.rows.length;
  h.finish();
  const rows = h.rows;
  const at = (ts: number) => rows.find((r) => r.tsMs === ts)!;

  test("emission waits for both streams to pass the second's end", () => {
    expect(after.book2100).toBe(0);
    expect(after.trade2300).toBe(1);
    expect(after.trade3500).toBe(1);
    expect(after.bad3600).toBe(2);
  });

  test("row 2000: events in (1000, 2000]", () => {
    expect(at(2000)).toEqual({
      tsMs: 2000,
      mid: 100.1,
      spreadBps: 9.99,
      ofiSum: 0.7,
      ofiZLast: null, // the only OFI row had a null z
      cvd: 4,
      zCvdLast: 1.5,
      fusionScore: -1.3,
      fusionSignal: "sell",
      tradeCount: 3,
      buyVolume: 5,
      sellVolume: 1,
      vwap: (100.1 * 2 + 100.0 * 1 + 100.2 * 3) / 6,
      realizedVolBps: 0, // m_1000 undefined (first book 1200) ⇒ no return
      tps: 1.5, // {1500, 1900, 2000} in (0, 2000]; trade 2300 already processed but after τ
      scenario: "Q_L",
    });
  });

  test("row 3000: book 2100, one-sided book 2300, trade 2300, book 2900", () => {
    const r = at(3000);
    expect({ ...r, ofiSum: 0, realizedVolBps: 0 }).toEqual({
      tsMs: 3000,
      mid: 100.3,
      spreadBps: 9.97,
      ofiSum: 0,
      ofiZLast: -1.74,
      cvd: 5,
      zCvdLast: 0.2,
      fusionScore: 0.9,
      fusionSignal: "neutral",
      tradeCount: 1,
      buyVolume: 1,
      sellVolume: 0,
      vwap: (100.3 * 1) / 1,
      realizedVolBps: 0,
      tps: 2.0, // {1500, 1900, 2000, 2300} in (1000, 3000]
      scenario: "A_L", // tps ≥ 2 inclusive; vol warm-up ⇒ L
    });
    expect(Math.abs(r.ofiSum - 3.15)).toBeLessThanOrEqual(1e-12);
    // Boundaries 2000 (100.1) and 3000 (100.3); m_1000 undefined.
    expect(Math.abs(r.realizedVolBps - bps(100.3, 100.1))).toBeLessThanOrEqual(1e-9);
  });

  test("row 4000: trade 3500 and a one-sided book; state forward-filled", () => {
    const r = at(4000);
    expect({ ...r, realizedVolBps: 0 }).toEqual({
      tsMs: 4000,
      mid: 100.3,
      spreadBps: 9.97,
      ofiSum: 0,
      ofiZLast: -1.74,
      cvd: 4.5,
      zCvdLast: null,
      fusionScore: 0.9,
      fusionSignal: "neutral",
      tradeCount: 1,
      buyVolume: 0,
      sellVolume: 0.5,
      vwap: (100.4 * 0.5) / 0.5,
      realizedVolBps: 0,
      tps: 1.0, // {2300, 3500} in (2000, 4000]
      scenario: "Q_L",
    });
    // r_3000 = ln(100.3/100.1) still in (2000, 4000]; r_4000 = 0.
    expect(Math.abs(r.realizedVolBps - bps(100.3, 100.1))).toBeLessThanOrEqual(1e-9);
  });

  test("empty seconds: zero counts, null vwap, forward-filled levels", () => {
    expect(at(5000)).toEqual({
      tsMs: 5000,
      mid: 100.3,
      spreadBps: 9.97,
      ofiSum: 0,
      ofiZLast: -1.74,
      cvd: 4.5,
      zCvdLast: null,
      fusionScore: 0.9,
      fusionSignal: "neutral",
      tradeCount: 0,
      buyVolume: 0,
      sellVolume: 0,
      vwap: null,
      realizedVolBps: 0, // boundaries 4000, 5000 both 100.3
      tps: 0.5, // {3500} in (3000, 5000]
      scenario: "Q_L",
    });
    expect(at(6000).tps).toBe(0);
  });

  test("grid: regular up to 60 s after the last event, then paused until the next event", () => {
    const ts = rows.map((r) => r.tsMs);
    const expected: number[] = [];
    // Last event before the outage at 3600 ⇒ seconds τ with 3600 > τ − 60 000 ⇒ τ ≤ 63 000.
    for (let t = 2000; t <= 63_000; t += 1000) expected.push(t);
    expected.push(71_000); // the second holding trade 70 500 and book 70 600, emitted by finish
    expect(ts).toEqual(expected);
    expect(after.book70600).toBe(expected.length - 1);
  });

  test("row 71000 after the outage (emitted at finish)", () => {
    const r = at(71_000);
    expect({ ...r, realizedVolBps: 0 }).toEqual({
      tsMs: 71_000,
      mid: 101.0,
      spreadBps: 9.9,
      ofiSum: 0,
      ofiZLast: -1.74, // latest OFI row as of τ is still the one at 2900
      cvd: 6,
      zCvdLast: null,
      fusionScore: 0.9,
      fusionSignal: "neutral",
      tradeCount: 1,
      buyVolume: 1.5,
      sellVolume: 0,
      vwap: (101.1 * 1.5) / 1.5, // Σ p·q / Σ q
      realizedVolBps: 0,
      tps: 0.5,
      scenario: "Q_L",
    });
    // Boundaries 70 000 (100.3, forward-filled from 2900) and 71 000 (101.0).
    expect(Math.abs(r.realizedVolBps - bps(101.0, 100.3))).toBeLessThanOrEqual(1e-9);
  });
});

describe("features: edges", () => {
  test("first row is the first whole second ≥ the first event; nulls before the first book", () => {
    const h = harness();
    h.trade(5000, 10, 1, -1, -1, null); // exactly on a second ⇒ row 5000 holds it
    h.trade(5001, 11, 1, -1, -2, null);
    h.finish();
    expect(h.rows.map((r) => r.tsMs)).toEqual([5000, 6000]);
    expect(h.rows[0]).toEqual({
      tsMs: 5000,
      mid: null,
      spreadBps: null,
      ofiSum: 0,
      ofiZLast: null,
      cvd: -1,
      zCvdLast: null,
      fusionScore: null,
      fusionSignal: null,
      tradeCount: 1,
      buyVolume: 0,
      sellVolume: 1,
      vwap: 10,
      realizedVolBps: 0,
      tps: 0.5,
      scenario: "Q_L",
    });
    expect(h.rows[1].cvd).toBe(-2);
    expect(h.rows[1].tps).toBe(1.0);
  });

  test("nothing is emitted while one stream has not started; finish emits it all", () => {
    const h = harness();
    for (let t = 1100; t <= 9100; t += 1000) h.book(t, 100, 10);
    expect(h.rows.length).toBe(0);
    h.finish();
    expect(h.rows.map((r) => r.tsMs)).toEqual([2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    expect(h.rows.every((r) => r.cvd === 0 && r.tradeCount === 0 && r.mid === 100)).toBe(true);
  });
});
