/**
 * RollingMedian: median and MAD over the last N values must equal a brute-force sort of the same
 * window, bit for bit (random data with ties, odd and even windows, warm-up and steady state).
 */
import { describe, expect, test } from "bun:test";
import { RollingMedian } from "../../src/calc/rolling-median.ts";
import { RollingMoments } from "../../src/calc/rolling-moments.ts";
import { prng } from "./calc-support.ts";

function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function madOf(xs: readonly number[]): number {
  const m = medianOf(xs);
  return medianOf(xs.map((x) => Math.abs(x - m)));
}

describe("RollingMedian", () => {
  test("hand example: [1, 2, 3, 4, 100] and the even window [2, 3, 4, 100]", () => {
    const r = new RollingMedian(5);
    for (const x of [1, 2, 3, 4, 100]) r.push(x);
    expect(r.median()).toBe(3);
    // |x − 3| = 2, 1, 0, 1, 97 ⇒ median 1
    expect(r.mad()).toBe(1);
    const e = new RollingMedian(4);
    for (const x of [1, 2, 3, 4, 100]) e.push(x); // window [2, 3, 4, 100]
    expect(e.median()).toBe(3.5);
    // |x − 3.5| = 1.5, 0.5, 0.5, 96.5 ⇒ (0.5 + 1.5)/2
    expect(e.mad()).toBe(1);
  });

  test("empty window gives NaN", () => {
    const r = new RollingMedian(3);
    expect(r.median()).toBeNaN();
    expect(r.mad()).toBeNaN();
  });

  for (const cap of [1, 2, 3, 7, 8, 50, 200]) {
    for (const kind of ["continuous", "ties"] as const) {
      test(`capacity ${cap}, ${kind} values: equals brute force at every step`, () => {
        const rnd = prng(1000 * cap + (kind === "ties" ? 1 : 0));
        const r = new RollingMedian(cap);
        const all: number[] = [];
        const steps = Math.max(3 * cap, 400);
        for (let i = 0; i < steps; i++) {
          // ties: few distinct values (many equal deviations); continuous: signed heavy-ish tails
          const x = kind === "ties" ? Math.floor(rnd() * 7) - 3 : (rnd() - 0.5) * Math.exp(4 * rnd());
          r.push(x);
          all.push(x);
          const w = all.slice(-cap);
          expect(r.size).toBe(w.length);
          expect(r.median()).toBe(medianOf(w));
          expect(r.mad()).toBe(madOf(w));
        }
      });
    }
  }

  test("clear() restarts the window", () => {
    const r = new RollingMedian(4);
    for (const x of [5, 6, 7, 8, 9]) r.push(x);
    r.clear();
    r.push(1);
    expect(r.size).toBe(1);
    expect(r.median()).toBe(1);
    expect(r.mad()).toBe(0);
  });
});

describe("RollingMoments", () => {
  test("mean and ddof 0/1 variance match a two-pass computation over the window (large offset)", () => {
    const rnd = prng(42);
    const cap = 80;
    const m = new RollingMoments(cap);
    const all: number[] = [];
    let worstVar = 0;
    for (let i = 0; i < 2000; i++) {
      const x = 1e6 + (rnd() - 0.5) * 10; // level-like: large mean, small spread
      m.push(x);
      all.push(x);
      const w = all.slice(-cap);
      const mu = w.reduce((a, b) => a + b, 0) / w.length;
      const ss = w.reduce((a, b) => a + (b - mu) * (b - mu), 0);
      expect(Math.abs(m.mean() - mu)).toBeLessThanOrEqual(1e-14 * Math.abs(mu));
      if (w.length > 1) worstVar = Math.max(worstVar, Math.abs(m.variance(0) - ss / w.length) / (ss / w.length));
      expect(Math.abs(m.variance(0) - ss / w.length)).toBeLessThanOrEqual(1e-9 * Math.max(1, ss / w.length));
      if (w.length > 1) expect(Math.abs(m.variance(1) - ss / (w.length - 1))).toBeLessThanOrEqual(1e-9 * Math.max(1, ss / (w.length - 1)));
    }
    // rounding of the data itself at 1e6 (ulp ≈ 1.2e-10) bounds what any method can match
    expect(worstVar).toBeLessThan(1e-9);
  });

  test("constant window has exactly zero variance", () => {
    const m = new RollingMoments(5);
    for (let i = 0; i < 50; i++) m.push(0.1);
    expect(m.variance(1)).toBe(0);
    expect(m.mean()).toBe(0.1);
  });
});
