/**
 * The status page's latency window (util/recent-histogram.ts): the last minute's quantiles rise with
 * slow values and fall back once they are older than the window, while the lifetime buckets (what
 * /metrics exports) keep every value.
 */
import { describe, expect, test } from "bun:test";
import { Histogram } from "../../src/util/histogram.ts";
import { RECENT_SLICE_MS, RECENT_SLICES, RECENT_WINDOW_S, RecentHistogram } from "../../src/util/recent-histogram.ts";

const T0 = 1_767_000_000_000; // a slice boundary (divisible by 10 000)

describe("RecentHistogram", () => {
  test("the window is the last minute: six 10 s slices", () => {
    expect(RECENT_SLICE_MS * RECENT_SLICES).toBe(60_000);
    expect(RECENT_WINDOW_S).toBe(60);
  });

  test("slow values raise the window's p99, then drop out of it after the window; the lifetime keeps them", () => {
    const h = new RecentHistogram();
    // 30 s of fast frames (2 ms), 100 per second.
    for (let t = 0; t < 30_000; t += 10) h.recordAt(2, T0 + t);
    expect(h.recent(T0 + 30_000).quantile(0.99)!).toBeLessThanOrEqual(2.5);
    // 1.5 s stalled: 150 frames arriving 5–20 s late.
    for (let i = 0; i < 150; i++) h.recordAt(5_000 + i * 100, T0 + 30_000 + i * 10);
    // Fast again (read as time goes by: the ring holds only the last minute).
    const fastUntil = (end: number) => {
      for (; t < end; t += 10) h.recordAt(2, T0 + t);
    };
    let t = 31_500;
    fastUntil(40_000);
    const during = h.recent(T0 + 40_000);
    expect(during.quantile(0.99)!).toBeGreaterThan(1_000);
    expect(during.max).toBe(19_900);
    // 50 s later the slow slice (30–40 s) is still in the window; at 90 s it is gone.
    fastUntil(89_999);
    expect(h.recent(T0 + 89_999).quantile(0.99)!).toBeGreaterThan(1_000);
    fastUntil(200_000);
    const after = h.recent(T0 + 199_999);
    expect(after.quantile(0.99)!).toBeLessThanOrEqual(2.5);
    expect(after.max).toBe(2);
    // Lifetime: every value, the slow ones included.
    expect(h.count).toBe(3_000 + 150 + (200_000 - 31_500) / 10);
    const slowBuckets = h.bounds.map((b, i) => [b, h.counts[i]!] as const).filter(([b]) => b > 2_500);
    expect(slowBuckets.reduce((a, [, c]) => a + c, 0)).toBe(150);
    expect(h.max).toBe(19_900);
  });

  test("a symbol gone silent: the window empties (quantiles null), the lifetime does not", () => {
    const h = new RecentHistogram();
    for (let t = 0; t < 5_000; t += 100) h.recordAt(3, T0 + t);
    expect(h.recent(T0 + 5_000).count).toBe(50);
    expect(h.recent(T0 + 59_999).count).toBe(50);
    const later = h.recent(T0 + 60_000);
    expect(later.count).toBe(0);
    expect(later.quantile(0.5)).toBeNull();
    expect(h.quantile(0.5)).not.toBeNull();
  });

  test("the window counts exactly the slices it covers, each once, and equals a plain histogram of them", () => {
    const h = new RecentHistogram();
    const plain = new Histogram();
    for (let t = 0; t < 120_000; t += 7) {
      const v = (t % 997) / 10;
      h.recordAt(v, T0 + t);
      if (t >= 60_000) plain.record(v);
    }
    const w = h.recent(T0 + 119_999);
    expect(w.count).toBe(plain.count);
    expect([...w.counts]).toEqual([...plain.counts]);
    expect(w.sum).toBeCloseTo(plain.sum, 6);
    for (const q of [0.5, 0.9, 0.99]) expect(w.quantile(q)).toBeCloseTo(plain.quantile(q)!, 9);
  });

  test("a wall clock stepped back: the future slices are left out and the window fills again at once", () => {
    const h = new RecentHistogram();
    for (let t = 0; t < 10_000; t += 10) h.recordAt(4_000, T0 + 3_600_000 + t);
    // Stepped back an hour: nothing of "the future" is shown, new values are.
    expect(h.recent(T0).count).toBe(0);
    for (let t = 0; t < 10_000; t += 10) h.recordAt(1, T0 + t);
    const w = h.recent(T0 + 10_000);
    expect(w.count).toBe(1_000);
    expect(w.max).toBe(1);
  });

  test("non-finite values are ignored; record() uses the current time", () => {
    const h = new RecentHistogram();
    h.recordAt(Number.NaN, T0);
    h.recordAt(Number.POSITIVE_INFINITY, T0);
    h.record(7);
    expect(h.count).toBe(1);
    expect(h.recent(Date.now()).count).toBe(1);
  });
});
