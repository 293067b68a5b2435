/**
 * The out-of-sample AUC's 95 % interval (metrics.ts, Newcombe's score interval) stays honest where
 * Hanley–McNeil's Wald interval collapses: a perfect ranking of few wins has an interval of real
 * width, and over many simulated data sets with a known true AUC near 1 it contains the truth about
 * 95 % of the time (the Wald interval: far less). Away from the boundary it agrees with the Wald
 * interval, and on data without edge it calls "edge" no more often than a 95 % interval should.
 */
import { describe, expect, test } from "bun:test";
import { auc, verdictOf } from "../../src/models/metrics.ts";
import { Z95 } from "../../src/util/wilson.ts";
import { prng } from "../helpers/prng.ts";

/** Hanley & McNeil (1982): the textbook Wald interval, as an independent reference. */
function hanleyMcNeilWald(a: number, nPos: number, nNeg: number, effect: number): { lo: number; hi: number } {
  const q1 = a / (2 - a);
  const q2 = (2 * a * a) / (1 + a);
  const se = Math.sqrt((effect * (a * (1 - a) + (nPos - 1) * (q1 - a * a) + (nNeg - 1) * (q2 - a * a))) / (nPos * nNeg));
  return { lo: a - Z95 * se, hi: a + Z95 * se };
}

/**
 * Scores where wins are U(δ, 1 + δ) and losses U(0, 1): the true AUC is exactly 1 − (1 − δ)²/2.
 * Returns how often the interval held the truth and how often it said "edge".
 */
function simulate(delta: number, nPos: number, nNeg: number, runs: number, seed: number): { coverage: number; edge: number; perfect: number } {
  const truth = 1 - (1 - delta) ** 2 / 2;
  const r = prng(seed);
  let covered = 0;
  let edge = 0;
  let perfect = 0;
  for (let k = 0; k < runs; k++) {
    const y = [...Array.from({ length: nPos }, () => 1), ...Array.from({ length: nNeg }, () => 0)];
    const p = y.map((w) => r() + (w === 1 ? delta : 0));
    const a = auc(y, p)!;
    if (a.lo <= truth && truth <= a.hi) covered++;
    if (verdictOf(a) === "edge") edge++;
    if (a.auc === 1) perfect++;
  }
  return { coverage: covered / runs, edge: edge / runs, perfect: perfect / runs };
}

describe("the AUC interval at the boundary", () => {
  test("21 wins in 211 ranked perfectly: AUC 1 with an interval of real width, widened by the design effect", () => {
    const y = Array.from({ length: 211 }, (_, i) => (i < 21 ? 1 : 0));
    const p = y.map((w, i) => (w === 1 ? 0.9 : 0.1) + i * 1e-4);
    const a = auc(y, p)!;
    expect(a.auc).toBe(1);
    expect(a.hi).toBe(1);
    expect(a.lo).toBeLessThan(0.97);
    expect(a.lo).toBeGreaterThan(0.9);
    const widened = auc(y, p, 4)!;
    expect(widened.lo).toBeLessThan(a.lo - 0.05);
    // still an edge: 21 of 21 wins above every loss is strong evidence, just not certainty
    expect(verdictOf(widened)).toBe("edge");
    // the mirror image: every win ranked last
    const inverted = auc(y, p.map((v) => -v))!;
    expect(inverted.auc).toBe(0);
    expect(inverted.lo).toBe(0);
    expect(inverted.hi).toBeCloseTo(1 - a.lo, 9);
  });

  test("true AUC 0.995 with 10 wins and 100 losses: the interval holds the truth ≥ 93 % of 1000 data sets, the Wald one does not", () => {
    const s = simulate(0.9, 10, 100, 1000, 3);
    // a third of the data sets rank perfectly: where the Wald interval has zero width
    expect(s.perfect).toBeGreaterThan(0.25);
    expect(s.coverage).toBeGreaterThanOrEqual(0.93);
    // the reference interval on the same kind of data, to show the test can tell them apart
    const r = prng(3);
    let waldCovered = 0;
    for (let k = 0; k < 1000; k++) {
      const y = [...Array.from({ length: 10 }, () => 1), ...Array.from({ length: 100 }, () => 0)];
      const a = auc(y, y.map((w) => r() + (w === 1 ? 0.9 : 0)))!;
      const w = hanleyMcNeilWald(a.auc, a.n_pos, a.n_neg, 1);
      if (w.lo <= 0.995 && 0.995 <= w.hi) waldCovered++;
    }
    expect(waldCovered / 1000).toBeLessThan(0.8);
  });
});

describe("the AUC interval elsewhere", () => {
  test("no edge (300 wins, 300 losses, true AUC 0.5): coverage about 95 %, 'edge' in at most 3.5 % of 1000 data sets", () => {
    const s = simulate(0, 300, 300, 1000, 8);
    expect(s.coverage).toBeGreaterThanOrEqual(0.93);
    expect(s.coverage).toBeLessThanOrEqual(0.975);
    expect(s.edge).toBeLessThanOrEqual(0.035);
  });

  test("away from the boundary it agrees with Hanley–McNeil's Wald interval to 3 % of its width", () => {
    const r = prng(12);
    const y = Array.from({ length: 1200 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const p = y.map((w) => r() + (w === 1 ? 0.12 : 0));
    for (const effect of [1, 2, 5]) {
      const a = auc(y, p, effect)!;
      expect(a.auc).toBeGreaterThan(0.55);
      expect(a.auc).toBeLessThan(0.7);
      const w = hanleyMcNeilWald(a.auc, a.n_pos, a.n_neg, effect);
      // the score interval leans towards 0.5 a little as it widens; the Wald one stays symmetric
      expect(Math.abs(a.lo - w.lo)).toBeLessThan(0.03 * (w.hi - w.lo));
      expect(Math.abs(a.hi - w.hi)).toBeLessThan(0.03 * (w.hi - w.lo));
    }
  });
});
