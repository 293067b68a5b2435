import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { quantileType7 } from "../../src/calc/quantile.ts";
import { RegimeTracker, scenarioOf } from "../../src/calc/regime.ts";

const close = (got: number | null, want: number, tol = 1e-9) => {
  expect(got).not.toBeNull();
  expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(tol);
};
const tracker = (regime: Record<string, unknown>) => new RegimeTracker(indicatorParams({ regime }));

// Section numbers (§) are those of docs/indicators.md.
describe("regime activity (§9.1, §11.7 with WIN_SECS = 2)", () => {
  const trades = [0, 500, 1000, 1500, 1800, 2600];

  test("labels after each trade", () => {
    const r = tracker({ win_secs: 2 });
    const seen = new Map<number, [number, string]>();
    for (const t of trades) {
      r.onTrade(t);
      seen.set(t, [r.tradesPerSecond(t), r.label(t)]);
    }
    expect(seen.get(1800)).toEqual([2.5, "A_L"]); // 5 trades in (−200, 1800]
    expect(seen.get(2600)).toEqual([2.0, "A_L"]); // {1000, 1500, 1800, 2600}: ≥ is inclusive
    expect(r.tradesPerSecond(4000)).toBe(0.5); // {2600}
    expect(r.label(4000)).toBe("Q_L");
  });

  test("a trade exactly at t − WIN is excluded (half-open window)", () => {
    const r = tracker({ win_secs: 2 });
    for (const t of trades) r.onTrade(t);
    expect(r.tradesPerSecond(2500)).toBe(1.5); // (500, 2500]: 500 out ⇒ {1000, 1500, 1800}
    expect(r.tradesPerSecond(3000)).toBe(1.5); // (1000, 3000]: {1500, 1800, 2600}
    expect(r.tradesPerSecond(2000)).toBe(2.0); // (0, 2000]: {500, 1000, 1500, 1800}
  });

  test("as-of: trades after t do not count even when already processed", () => {
    const r = tracker({ win_secs: 2 });
    for (const t of trades) r.onTrade(t);
    expect(r.tradesPerSecond(1800)).toBe(2.5);
    expect(r.label(1800)).toBe("A_L");
    expect(r.tradesPerSecond(1499)).toBe(1.5); // {0, 500, 1000}
  });

  test("no size cap: 1000 trades in one second are all counted", () => {
    const r = tracker({ win_secs: 300 });
    for (let i = 0; i < 1000; i++) r.onTrade(10_000 + (i % 1000));
    expect(r.tradesPerSecond(10_999)).toBe(1000 / 300);
    expect(r.label(10_999)).toBe("A_L");
  });
});

describe("realized volatility (§9.2, §11.7)", () => {
  // §11.7 gives three returns from four boundary mids; a window (t − WIN, t] holds WIN boundaries,
  // so three returns need WIN_SECS = 3 (t = 3000: boundaries 1000, 2000, 3000).
  test("mids 100.0, 100.1, 100.0, 100.0 at boundaries ⇒ 14.135069266 bps", () => {
    const r = tracker({ win_secs: 3 });
    r.onValidBook(0, 100.0);
    r.onValidBook(1000, 100.1);
    r.onValidBook(2000, 100.0);
    r.onValidBook(3000, 100.0);
    close(r.realizedVolBps(3000), 14.135069266, 1e-9);
  });

  test("boundaries are forward-filled from the latest book with ts_eff ≤ k·1000", () => {
    const r = tracker({ win_secs: 3 });
    r.onValidBook(1, 99.0); // m_0 undefined
    r.onValidBook(0 + 1000, 100.0); // m_1 = 100.0
    r.onValidBook(1500, 100.1);
    r.onValidBook(2000, 100.1);
    r.onValidBook(2000, 100.0); // same ts_eff: the last processed wins ⇒ m_2 = 100.0
    r.onValidBook(2999, 101.0);
    r.onValidBook(2999, 100.0); // m_3 = 100.0 (pending, then final)
    // Window (0, 3000]: r_1 = ln(100/m_0) undefined, r_2 = 0, r_3 = 0.
    expect(r.realizedVolBps(3000)).toBe(0);
    // Window (1000, 4000] at t = 4000: same mids forward-filled, still 0.
    r.onValidBook(3500, 100.1); // m_4 = 100.1
    close(r.realizedVolBps(4000), 1e4 * Math.abs(Math.log(100.1 / 100.0)));
  });

  test("the pending boundary and later books: as-of t only", () => {
    const r = tracker({ win_secs: 3 });
    r.onValidBook(0, 100.0);
    r.onValidBook(950, 100.1); // m_1 = 100.1 (pending while no book > 1000 is processed)
    close(r.realizedVolBps(1000), 1e4 * Math.abs(Math.log(100.1 / 100.0)));
    r.onValidBook(1000, 100.0); // another book ≤ 1000 replaces it: m_1 = 100.0
    expect(r.realizedVolBps(1000)).toBe(0);
    r.onValidBook(1800, 100.1);
    r.onValidBook(5000, 150.0); // after t: must not be used at t = 2000
    close(r.realizedVolBps(2000), 1e4 * Math.abs(Math.log(100.1 / 100.0)));
  });

  test("empty window and no book ⇒ rv = 0", () => {
    const r = tracker({ win_secs: 3 });
    r.onTrade(500);
    expect(r.realizedVolBps(500)).toBe(0);
    r.onValidBook(600, 100);
    expect(r.realizedVolBps(10_000)).toBe(0);
  });
});

describe("volatility threshold (§9.2, §11.7)", () => {
  test("type-7 quantile of {10, 20, 30, 40}", () => {
    close(quantileType7([10, 20, 30, 40], 0.5), 25.0, 1e-12);
    close(quantileType7([40, 10, 30, 20], 0.3), 19.0, 1e-12);
    expect(quantileType7([10, 20, 30, 40], 1)).toBe(40);
    expect(quantileType7([10, 20, 30, 40], 0)).toBe(10);
  });

  test("vol label: rv 14.135 < 25 ⇒ L; rv 25.0 = θ ⇒ H (inclusive); activity ≥ inclusive", () => {
    expect(scenarioOf(0.5, 2, 14.135069266, 25.0)).toBe("Q_L");
    expect(scenarioOf(0.5, 2, 25.0, 25.0)).toBe("Q_H");
    expect(scenarioOf(2.0, 2, 25.0, 25.0)).toBe("A_H");
    expect(scenarioOf(2.5, 2, 30, null)).toBe("A_L"); // warm-up ⇒ L
  });

  /**
   * Reference samples every 10 s with WIN_SECS = 2: a book at s − 500 with mid × e^{x/1e4} makes
   * rv_s = x bps (boundaries s − 1000 and s), so the samples at 10, 20, 30, 40 s are {10, 20, 30, 40}.
   */
  const build = (split = 0.5) => {
    const r = tracker({ win_secs: 2, vol_ref_sample_secs: 10, vol_ref_min_samples: 4, vol_split: split });
    let m = 100;
    r.onValidBook(1, m); // first event at 1 ms ⇒ first sample at 10 000
    for (const [s, x] of [[10_000, 10], [20_000, 20], [30_000, 30], [40_000, 40]]) {
      if (s === 40_000) {
        // Samples 10..30 s are final (books after them); sample 40 s is still provisional at 40 000.
        expect(r.ready(39_000)).toBe(false);
        expect(r.volThresholdBps(39_000)).toBeNull(); // 3 samples < 4
      }
      m = m * Math.exp(x / 1e4);
      r.onValidBook(s - 500, m);
      r.onValidBook(s - 100, m);
    }
    return { r, m };
  };

  test("quantile of the reference samples: 25 at 0.5, 19 at 0.3; provisional sample included", () => {
    const { r, m } = build();
    expect(r.referenceSampleCount(40_000)).toBe(4);
    close(r.volThresholdBps(40_000), 25.0); // sample 40 s provisional (latest book 39 900)
    close(r.realizedVolBps(40_000), 40.0);
    expect(r.label(40_000)).toBe("Q_H");
    expect(r.ready(40_000)).toBe(true);
    r.onValidBook(40_001, m); // finalises sample 40 s
    close(r.volThresholdBps(40_000), 25.0);
    close(r.volThresholdBps(45_000), 25.0);
    expect(r.label(45_000)).toBe("Q_L"); // rv 0 < 25
    const { r: r3 } = build(0.3);
    close(r3.volThresholdBps(40_000), 19.0);
  });

  test("samples continue through outages (0 once the window is flat)", () => {
    const { r, m } = build();
    r.onValidBook(40_001, m);
    // No book after 40 001 until 100 001: samples 50..100 s are provisional zeros.
    // Buffer at 80 000: {0 ×4, 10, 20, 30, 40} ⇒ h = 3.5 ⇒ (0 + 10)/2 = 5.
    expect(r.referenceSampleCount(80_000)).toBe(8);
    close(r.volThresholdBps(80_000), 5.0);
    // Buffer at 100 000: {0 ×6, 10, 20, 30, 40} ⇒ h = 4.5 ⇒ x4 = x5 = 0.
    expect(r.referenceSampleCount(100_000)).toBe(10);
    expect(r.volThresholdBps(100_000)).toBe(0);
    r.onValidBook(100_001, m); // they become final with the same values
    close(r.volThresholdBps(80_000), 5.0);
    expect(r.volThresholdBps(100_000)).toBe(0);
    close(r.volThresholdBps(59_999), 20.0); // as of 59 999: {0, 10, 20, 30, 40}, h = 2 ⇒ 20
  });

  test("rv at t vs θ: jump of 30 bps ⇒ H, 20 bps ⇒ L", () => {
    const a = build();
    a.r.onValidBook(45_500, a.m * Math.exp(30 / 1e4));
    close(a.r.realizedVolBps(46_000), 30);
    expect(a.r.label(46_000)).toBe("Q_H");
    const b = build();
    b.r.onValidBook(45_500, b.m * Math.exp(20 / 1e4));
    expect(b.r.label(46_000)).toBe("Q_L");
  });

  test("VOL_ABS_THRESHOLD_BPS replaces θ (no warm-up)", () => {
    const r = tracker({ win_secs: 3, vol_abs_threshold_bps: 14 });
    r.onValidBook(0, 100.0);
    r.onValidBook(1000, 100.1);
    r.onValidBook(2000, 100.0);
    r.onValidBook(3000, 100.0);
    expect(r.volThresholdBps(3000)).toBe(14);
    expect(r.label(3000)).toBe("Q_H"); // 14.135 ≥ 14
    expect(r.ready(3000)).toBe(true); // 3000 − 0 ≥ WIN
    expect(r.ready(2999)).toBe(false);
  });

  test("fewer than VOL_REF_MIN_SAMPLES (default 30) ⇒ L and not ready", () => {
    const r = tracker({ win_secs: 3 });
    r.onValidBook(0, 100.0);
    r.onValidBook(1000, 100.1);
    r.onValidBook(2000, 100.0);
    r.onValidBook(3000, 100.0);
    expect(r.volThresholdBps(3000)).toBeNull();
    expect(r.label(3000)).toBe("Q_L");
    expect(r.ready(3000)).toBe(false);
  });

  test("reference samples start at the first multiple at or after the first event (onEvent)", () => {
    const r = tracker({ win_secs: 2, vol_ref_sample_secs: 10, vol_ref_min_samples: 1 });
    r.onEvent(9_990); // a one-sided book: first event
    r.onValidBook(10_010, 100);
    expect(r.referenceSampleCount(10_010)).toBe(1); // the sample at 10 000 (rv 0)
    const q = tracker({ win_secs: 2, vol_ref_sample_secs: 10, vol_ref_min_samples: 1 });
    q.onValidBook(10_010, 100);
    expect(q.referenceSampleCount(10_010)).toBe(0);
  });
});

describe("regime vs a brute-force reference (random streams)", () => {
  /** Deterministic PRNG (mulberry32). */
  const rng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  test("tps, rv and θ agree with direct recomputation at the event time and behind it", () => {
    const P = { win_secs: 5, vol_ref_sample_secs: 2, vol_ref_horizon_secs: 20, vol_ref_min_samples: 3 };
    const r = tracker(P);
    const rand = rng(42);
    const trades: number[] = [];
    const books: [number, number][] = [];
    let tTrade = 1234;
    let tBook = 1300;
    let mid = 100;
    let first = Number.NaN;

    const midAt = (x: number) => {
      let m = Number.NaN;
      for (const [ts, v] of books) if (ts <= x) m = v; // processing order: the last one wins
      return m;
    };
    const rvRef = (t: number) => {
      let s = 0;
      for (let k = Math.floor((t - 5000) / 1000) + 1; k <= Math.floor(t / 1000); k++) {
        const a = midAt(k * 1000);
        const b = midAt((k - 1) * 1000);
        if (a === a && b === b) s += Math.log(a / b) ** 2;
      }
      return 1e4 * Math.sqrt(s);
    };
    const thetaRef = (t: number) => {
      const vals: number[] = [];
      for (let s = Math.ceil(first / 2000) * 2000; s <= t; s += 2000) if (s > t - 20_000) vals.push(rvRef(s));
      if (vals.length < 3) return null;
      vals.sort((a, b) => a - b);
      const h = (vals.length - 1) * 0.5;
      const lo = Math.floor(h);
      return lo + 1 < vals.length ? vals[lo] + (h - lo) * (vals[lo + 1] - vals[lo]) : vals[lo];
    };
    const check = (t: number) => {
      const n = trades.filter((x) => x > t - 5000 && x <= t).length;
      expect(r.tradesPerSecond(t)).toBe(n / 5);
      const rv = rvRef(t);
      expect(Math.abs(r.realizedVolBps(t) - rv)).toBeLessThanOrEqual(1e-9 * Math.max(1, rv));
      const th = thetaRef(t);
      const got = r.volThresholdBps(t);
      if (th === null) expect(got).toBeNull();
      else expect(Math.abs((got as number) - th)).toBeLessThanOrEqual(1e-9 * Math.max(1, th));
    };

    for (let i = 0; i < 1500; i++) {
      const u = rand();
      // Occasional outages on either stream, same-ts bursts, and out-of-step clocks.
      if (u < 0.5) {
        tTrade += rand() < 0.2 ? 0 : rand() < 0.02 ? Math.floor(rand() * 15_000) : Math.floor(rand() * 700);
        if (first !== first) first = tTrade;
        trades.push(tTrade);
        r.onTrade(tTrade);
        check(tTrade);
      } else {
        tBook += rand() < 0.1 ? 0 : rand() < 0.02 ? Math.floor(rand() * 20_000) : Math.floor(rand() * 400);
        mid *= Math.exp((rand() - 0.5) * 2e-3);
        if (first !== first) first = tBook;
        books.push([tBook, mid]);
        r.onValidBook(tBook, mid);
        check(tBook);
      }
      check(Math.min(tTrade, tBook));
      check(Math.max(tTrade, tBook) + 3_000);
    }
  });
});
