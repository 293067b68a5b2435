/**
 * The signal-evaluation arithmetic of docs/indicators.md §12: the worked example §12.5 reproduced exactly
 * (hit rate, Wilson interval, one-sided binomial p-value, Spearman IC with its average ranks, and the
 * Pearson figure), then labels (§12.1), thinning (§12.3) and the 1 s-grid IC (§12.4) on small
 * hand-made series.
 */
import { describe, expect, test } from "bun:test";
import { ForwardReturns, MidSeries } from "../../src/report/forward-returns.ts";
import type { VerdictLine } from "../../src/report/build.ts";
import { verdictSentence } from "../../src/report/format.ts";
import { ACCEPTANCE, countHits, labelCandidates, pooledOutcome, summarize, thin, verdict, type HitCounts, type SignalName } from "../../src/report/hit-rate.ts";
import { effectiveTimes, gridSamples, icByPeriod, summarizeIc } from "../../src/report/ic.ts";
import { averageRanks, binomialPValue, lnGamma, pearson, quantileSorted, spearman, wilson } from "../../src/report/stats.ts";

const near = (got: number | null, want: number, tol = 5e-7) => {
  if (got === null || Math.abs(got - want) > tol) throw new Error(`got ${got}, want ${want} (±${tol})`);
};

describe("§12.5 worked evaluation example", () => {
  // row: score, signal, r_H (bps)
  const rows = [
    [1.5, "buy", 2],
    [1.3, "buy", 0],
    [-1.4, "sell", -1],
    [0.2, "neutral", 5],
    [-1.25, "sell", 3],
    [2.1, "buy", 1],
    [1.21, "buy", -2],
    [-2.5, "sell", -4],
  ] as const;
  const score = rows.map((r) => r[0]);
  const d = rows.map((r) => (r[1] === "buy" ? 1 : r[1] === "sell" ? -1 : 0));
  const ret = rows.map((r) => r[2]);

  test("candidates 7, flats 1 (row 2), n_eval 6, hits 4 (rows 1, 3, 6, 8), HR 0.666667", () => {
    const c = countHits(d, ret, 0);
    expect(c).toEqual({ n_candidates: 7, n_flat: 1, n_eval: 6, hits: 4, n_buy: 3, hits_buy: 2, n_sell: 3, hits_sell: 2 });
    near(summarize(c).hr, 0.666667);
  });

  test("Wilson 95 % [0.299993, 0.903229]", () => {
    const w = wilson(4, 6)!;
    near(w.lo, 0.299993);
    near(w.hi, 0.903229);
    const s = summarize(countHits(d, ret, 0));
    near(s.wilson_lo, 0.299993);
    near(s.wilson_hi, 0.903229);
  });

  test("one-sided binomial p = 0.34375 exactly (22/64)", () => {
    near(binomialPValue(4, 6), 0.34375, 1e-13);
    near(summarize(countHits(d, ret, 0)).p_value, 0.34375, 1e-13);
  });

  test("ranks(score) = [7, 6, 2, 4, 3, 8, 5, 1], ranks(r) = [6, 4, 3, 8, 7, 5, 2, 1]", () => {
    expect(Array.from(averageRanks(score))).toEqual([7, 6, 2, 4, 3, 8, 5, 1]);
    expect(Array.from(averageRanks(ret))).toEqual([6, 4, 3, 8, 7, 5, 2, 1]);
  });

  test("pooled Spearman IC over all 8 rows = 0.333333 (Pearson of the raw values 0.319993)", () => {
    near(spearman(score, ret), 0.333333);
    near(pearson(score, ret), 0.319993);
  });

  test("6 samples are too few to judge: insufficient data, not a pass, with every unmet condition listed", () => {
    const v = verdict("fusion", countHits(d, ret, 0));
    expect(v.outcome).toBe("insufficient_data");
    expect(v.pass).toBe(false);
    expect(v.unmet.length).toBe(2); // HR 0.667 > 0.60 holds; n_eval and Wilson do not
    expect(v.unmet.join("; ")).toContain("n_eval 6 < 300");
  });
});

describe("statistics beyond the example", () => {
  test("ties get average ranks", () => {
    expect(Array.from(averageRanks([3, 1, 3, 2, 3]))).toEqual([4, 1, 4, 2, 4]);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNull();
  });

  test("binomial tail: exact small cases, symmetry, and a large n against the normal approximation", () => {
    near(binomialPValue(0, 10), 1, 0);
    near(binomialPValue(10, 10), 1 / 1024, 1e-15);
    near(binomialPValue(5, 10), 638 / 1024, 1e-13); // C(10,5..10) = 252+210+120+45+10+1
    near(binomialPValue(3, 10), 1 - 56 / 1024, 1e-13); // 1 − P(X ≤ 2) = 1 − (1+10+45)/1024
    // n = 100 000, k = 50 500: z = (50 500 − 0.5 − 50 000)/158.1139 = 3.15911; upper tail 7.9151e-4
    near(binomialPValue(50_500, 100_000), 7.9151e-4, 2e-6);
    near(lnGamma(11), Math.log(3628800), 1e-12);
  });

  test("Wilson interval stays inside [0, 1] at the edges", () => {
    expect(wilson(0, 10)!.lo).toBe(0);
    near(wilson(10, 10)!.hi, 1, 1e-15);
    expect(wilson(0, 0)).toBeNull();
  });

  test("quantiles interpolate linearly (type 7)", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    near(quantileSorted([10, 20, 30, 40, 50], 0.99), 49.6, 1e-12);
  });
});

describe("labels (§12.1)", () => {
  // Valid books every second from t = 0 s; mid 100, 101, 102, ... ; one crossed and one one-sided book.
  const ts = [0, 1000, 2000, 2500, 3000, 4000, 5000, 6000, 7000];
  const mid = [100, 101, 102, 999, 103, Number.NaN, 105, 106, 107];
  const spread = [1, 1, 1, -2, 1, Number.NaN, 1, 1, 1];
  const mids = MidSeries.fromBooks(ts, mid, spread);

  test("mid as-of t uses the latest valid book (crossed and one-sided books do not count)", () => {
    expect(mids.asOf(-1)).toBeNaN();
    expect(mids.asOf(2999)).toBe(102); // 2500 is crossed
    expect(mids.asOf(4500)).toBe(103); // 4000 is one-sided
    expect(mids.endTs).toBe(7000);
  });

  test("r_H = 1e4·ln(mH/m0); NaN beyond the data and with a break in (t, t+H]", () => {
    const fwd = new ForwardReturns(mids, Float64Array.from([5000]));
    near(fwd.bps(0, 2000), 1e4 * Math.log(102 / 100), 1e-9);
    expect(fwd.bps(6000, 1000)).toBe(1e4 * Math.log(107 / 106));
    expect(fwd.bps(6500, 1000)).toBeNaN(); // 7500 > end of data
    expect(fwd.bps(3000, 2000)).toBeNaN(); // break at 5000 ∈ (3000, 5000]
    expect(fwd.bps(4000, 1000)).toBeNaN(); // break at 5000 ∈ (4000, 5000]
    near(fwd.bps(5000, 1000), 1e4 * Math.log(106 / 105), 1e-9); // break at t itself is not in (t, t+H]
    expect(fwd.bps(-500, 1000)).toBeNaN(); // no mid at t
  });

  test("thinning accepts t ≥ t_last + H; labelCandidates drops unlabelled rows first", () => {
    expect(Array.from(thin([0, 500, 999, 1000, 1500, 2100], 1000))).toEqual([0, 3, 5]);
    const fwd = new ForwardReturns(mids, Float64Array.from([5000]));
    const c = labelCandidates({ ts: [0, 100, 1000, 3500, 4100, 5000], dir: [1, 0, -1, 1, 1, -1], scenario: ["A_H", "A_H", null, "Q_L", "Q_L", "Q_L"] }, fwd, 1000);
    expect(c.nSignals).toBe(5);
    // 3500 and 4100 have the break at 5000 in (t, t+1 s]? 3500: (3500, 4500] no; 4100: (4100, 5100] yes.
    expect(Array.from(c.ts)).toEqual([0, 1000, 3500, 5000]);
    expect(c.scenario).toEqual(["A_H", "none", "Q_L", "Q_L"]);
    expect(Array.from(c.thinned)).toEqual([0, 1, 2, 3]);
    expect(Array.from(c.d)).toEqual([1, -1, 1, -1]);
    // A late row (arrival order ≠ time order) is walked in time.
    const late = labelCandidates({ ts: [1000, 0, 500, 2000], dir: [1, -1, 1, 1], scenario: [null, null, null, null] }, fwd, 1000);
    expect(Array.from(late.ts)).toEqual([0, 500, 1000, 2000]);
    expect(Array.from(late.d)).toEqual([-1, 1, 1, 1]);
    expect(Array.from(late.thinned)).toEqual([0, 2, 3]);
  });
});

describe("IC on the 1 s grid (§12.4)", () => {
  test("latest row ≤ grid time, forward return from the grid time, per period, IC_IR and t", () => {
    // Books every 250 ms with a mid that rises for 10 s then falls for 10 s, over 2 hours' worth of
    // periods of 10 s (period length is a parameter).
    const bookTs: number[] = [];
    const mid: number[] = [];
    for (let t = 0; t <= 40_000; t += 250) {
      bookTs.push(t);
      const phase = t % 20_000;
      mid.push(100 + (phase < 10_000 ? phase : 20_000 - phase) / 1000);
    }
    const fwd = new ForwardReturns(MidSeries.fromBooks(bookTs, mid, bookTs.map(() => 1)), new Float64Array(0));
    // A score row every 1 s, 0.5 s before the grid: +1 while rising, −1 while falling; null at t = 3.5 s.
    const rowTs: number[] = [];
    const score: number[] = [];
    for (let t = 500; t < 40_000; t += 1000) {
      rowTs.push(t);
      const phase = t % 20_000;
      score.push(t === 3500 ? Number.NaN : phase < 10_000 ? 1 + phase / 1e5 : -1 - phase / 1e5);
    }
    const x = gridSamples(effectiveTimes(rowTs), score, fwd, 1000);
    // grid 1 s … 39 s (end 40 s − H); the 4 s sample's latest row (3.5 s) is null
    expect(x.g[0]).toBe(1000);
    expect(x.g[x.g.length - 1]).toBe(39_000);
    expect(x.g.length).toBe(38);
    expect(Array.from(x.g).includes(4000)).toBe(false);
    const at = Array.from(x.g).indexOf(2000);
    expect(x.s[at]).toBe(score[1]); // row at 1.5 s
    near(x.r[at], 1e4 * Math.log(mid[12] / mid[8]), 1e-9); // mid(3 s) / mid(2 s)
    const periods = icByPeriod(x, 10_000, 5);
    expect(periods.map((p) => p.start_ms)).toEqual([0, 10_000, 20_000, 30_000]);
    expect(periods.map((p) => p.n)).toEqual([8, 10, 10, 10]);
    for (const p of periods) expect(p.ic).not.toBeNull();
    const s = summarizeIc(periods, spearman(x.s, x.r));
    expect(s.n_periods).toBe(4);
    expect(s.n_samples).toBe(38);
    const ics = periods.map((p) => p.ic as number);
    const mean = ics.reduce((a, b) => a + b, 0) / 4;
    const sd = Math.sqrt(ics.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
    near(s.mean_ic, mean, 1e-12);
    near(s.std_ic, sd, 1e-12);
    near(s.ic_ir, mean / sd, 1e-9);
    near(s.t_stat, (mean / sd) * 2, 1e-9);
    expect(icByPeriod(x, 10_000, 11).every((p) => p.ic === null)).toBe(true);
  });
});

/** Counts of `nEval` buy signals of which the first `hits` went up (no flats). */
function counts(nEval: number, hits: number): HitCounts {
  const d = new Array<number>(nEval).fill(1);
  const r = d.map((_, i) => (i < hits ? 1 : -1));
  return countHits(d, r, 0);
}

/** The verdict line the report builds from those counts (build.ts), for the sentence. */
function line(signal: SignalName, c: HitCounts): VerdictLine {
  const v = verdict(signal, c);
  const s = summarize(c);
  return { signal, horizon_s: 10, outcome: v.outcome, pass: v.pass, min_hr: ACCEPTANCE[signal].minHr, hr: s.hr, n_eval: c.n_eval, hits: c.hits, wilson_lo: s.wilson_lo, wilson_hi: s.wilson_hi, p_value: s.p_value, unmet: v.unmet };
}

describe("acceptance outcome: pass, fail, or too few samples to judge", () => {
  test("n_eval ≥ 300 with a coin-flip hit rate is a measured FAIL", () => {
    const v = verdict("fusion", counts(400, 200));
    expect(v.outcome).toBe("fail");
    expect(v.pass).toBe(false);
    expect(v.unmet.join("; ")).toContain("HR 0.5000 is not > 0.6");
    expect(v.unmet.join("; ")).not.toContain("n_eval");
  });

  test("n_eval < 300 is insufficient data even with every hit, and the sentence says how many are needed", () => {
    const c = counts(120, 120);
    const v = verdict("fusion", c);
    expect(v.outcome).toBe("insufficient_data");
    expect(v.pass).toBe(false);
    expect(v.unmet).toEqual(["n_eval 120 < 300"]);
    const text = verdictSentence(line("fusion", c));
    expect(text).toStartWith("fusion: INSUFFICIENT DATA — HR 1.0000 (120 hits in n_eval = 120 thinned non-flat samples, 300 needed to judge), Wilson 95 % [");
    expect(text).not.toContain("FAIL");
    // Short and poor is still not a FAIL: it was not measured enough to say.
    expect(verdict("ofi", counts(299, 100)).outcome).toBe("insufficient_data");
    expect(verdictSentence(line("cvd", counts(0, 0)))).toStartWith("CVD: INSUFFICIENT DATA — no evaluable samples, 300 needed to judge;");
  });

  test("n_eval ≥ 300 with a hit rate and Wilson bound above the bars passes, from exactly 300 on", () => {
    for (const [signal, c] of [["fusion", counts(400, 280)], ["ofi", counts(300, 200)], ["cvd", counts(1000, 600)]] as const) {
      const v = verdict(signal, c);
      expect([signal, v.outcome, v.pass, v.unmet]).toEqual([signal, "pass", true, []]);
      expect(verdictSentence(line(signal, c))).not.toContain("needed to judge");
    }
  });

  test("pooled: FAIL if any line fails, else INSUFFICIENT DATA if any is short, else PASS", () => {
    expect(pooledOutcome(["pass", "insufficient_data", "fail"])).toBe("fail");
    expect(pooledOutcome(["insufficient_data", "fail", "insufficient_data"])).toBe("fail");
    expect(pooledOutcome(["pass", "insufficient_data", "pass"])).toBe("insufficient_data");
    expect(pooledOutcome(["pass", "pass", "pass"])).toBe("pass");
  });
});
