/**
 * Splits and scores: the purged, embargoed walk-forward never trains on a sample whose label window
 * reaches its test block, nor on anything after it; random K-fold covers every sample once; AUC,
 * Wilson and log loss give textbook values.
 */
import { describe, expect, test } from "bun:test";
import { auc, logLoss, scores, verdictOf, wilsonInterval } from "../../src/models/metrics.ts";
import { randomKFoldSplits, walkForwardSplits } from "../../src/models/validation.ts";
import { prng } from "../helpers/prng.ts";

function samples(n: number, seed: number): { tsMs: number; exitTsMs: number }[] {
  const r = prng(seed);
  let t = 0;
  return Array.from({ length: n }, () => {
    t += Math.floor(r() * 20_000);
    return { tsMs: t, exitTsMs: t + 1000 + Math.floor(r() * 60_000) };
  }).sort(() => r() - 0.5); // input order must not matter
}

describe("purged, embargoed walk-forward", () => {
  test("no training label window reaches the test block; embargo ≥ max hold; nothing from after it", () => {
    const s = samples(3000, 11);
    const embargo = 60_000;
    const splits = walkForwardSplits(s, 5, embargo);
    expect(splits.length).toBe(5);
    let purged = 0;
    const tested = new Set<number>();
    for (const sp of splits) {
      const start = Math.min(...sp.test.map((i) => s[i].tsMs));
      const end = Math.max(...sp.test.map((i) => s[i].tsMs));
      for (const i of sp.train) {
        expect(s[i].exitTsMs).toBeLessThan(start);
        expect(s[i].tsMs).toBeLessThan(start - embargo);
        expect(s[i].tsMs).toBeLessThan(end);
      }
      for (const i of sp.test) {
        expect(tested.has(i)).toBe(false);
        tested.add(i);
      }
      purged += sp.purged;
    }
    // the purge really removed samples (windows of up to 61 s with signals every ~10 s)
    expect(purged).toBeGreaterThan(5);
    // every sample except the first block is tested exactly once
    expect(tested.size).toBe(3000 - Math.floor(3000 / 6));
  });

  test("random K-fold tests every sample once and trains on its neighbours", () => {
    const s = samples(500, 3);
    const splits = randomKFoldSplits(s, 5, 1);
    const seen = new Set<number>();
    for (const sp of splits) {
      for (const i of sp.test) seen.add(i);
      expect(sp.train.length + sp.test.length).toBe(500);
    }
    expect(seen.size).toBe(500);
    expect(randomKFoldSplits(s, 5, 1)).toEqual(splits);
  });
});

describe("scores", () => {
  test("AUC: perfect, inverted, ties, and the interval", () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])!.auc).toBe(1);
    expect(auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])!.auc).toBe(0);
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])!.auc).toBe(0.5);
    // 3 of 4 pairs ordered
    expect(auc([0, 0, 1, 1], [0.1, 0.6, 0.5, 0.9])!.auc).toBe(0.75);
    expect(auc([1, 1], [0.2, 0.3])).toBeNull();
    const r = prng(5);
    const y = Array.from({ length: 2000 }, () => (r() < 0.5 ? 1 : 0));
    const p = y.map(() => r());
    const a = auc(y, p)!;
    expect(a.lo).toBeLessThan(0.5);
    expect(a.hi).toBeGreaterThan(0.5);
    expect(verdictOf(a)).toBe("no edge");
    expect(verdictOf({ ...a, auc: 0.6, lo: 0.55, hi: 0.65 })).toBe("edge");
  });

  test("Wilson interval and log loss", () => {
    const w = wilsonInterval(60, 100)!;
    expect(w.lo).toBeCloseTo(0.502, 3);
    expect(w.hi).toBeCloseTo(0.6906, 3);
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(logLoss([1, 0], [0.5, 0.5])).toBeCloseTo(Math.LN2, 12);
    const s = scores([1, 0, 1, 0], [0.7, 0.65, 0.4, 0.2], [10, -5, 8, -3], 0.6);
    expect(s.taken.n).toBe(2);
    expect(s.taken.hit_rate).toBe(0.5);
    expect(s.taken.mean_ret_bps).toBe(2.5);
    expect(s.plain.n).toBe(4);
    expect(s.precision_at_threshold).toBe(0.5);
  });
});
