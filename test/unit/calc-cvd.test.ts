/**
 * CVD (docs/indicators.md §6, §15.8): running sum, warm-up and post-stale freeze (nulls, never zeros), clip, the exact
 * MAD floor, ewma scale mode, CVD_EWMA_FORM=event, CVD_UNITS=quote, CVD_ANCHOR=utc_day, Z_MODE=level —
 * each against a brute-force oracle written from the formulas of §6.2.
 */
import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import { CvdCalculator } from "../../src/calc/cvd.ts";
import { SymbolEngine } from "../../src/calc/symbol-engine.ts";
import { doubles, MemorySink, prng, trade } from "./calc-support.ts";

interface T {
  readonly t: number;
  readonly p: number;
  readonly q: number;
  readonly s: 1 | -1;
}

function randomTrades(seed: number, n: number, opts: { staleEvery?: number } = {}): T[] {
  const rnd = prng(seed);
  const out: T[] = [];
  let t = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    // bursts of same-ms trades, normal spacing, occasional > 5 s gaps
    t += opts.staleEvery !== undefined && i % opts.staleEvery === opts.staleEvery - 1 ? 5001 + Math.floor(rnd() * 3000) : r < 0.3 ? 0 : Math.floor(rnd() * 400);
    const q = rnd() < 0.02 ? Math.round(rnd() * 5000) / 10 : Math.round(rnd() * 300) / 100 + 0.001;
    out.push({ t, p: 100 + Math.round((rnd() - 0.5) * 1000) / 100, q, s: rnd() < 0.5 ? 1 : -1 });
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

describe("delta mode (hybrid, defaults)", () => {
  const params = indicatorParams();
  const p = params.cvd;
  const trades = randomTrades(3, 3000, { staleEvery: 700 });

  test("matches the §6.2 formulas step by step (oracle), including the MAD floor", () => {
    const c = new CvdCalculator(p);
    let fast = 0;
    let slow = 0;
    let cvd = 0;
    const deltas: number[] = [];
    let floorSeen = false;
    let mixSeen = false;
    trades.forEach((tr, i) => {
      c.update(tr.t, tr.p, tr.q, tr.s);
      const d = tr.s * tr.q;
      cvd += d;
      if (i === 0) {
        fast = slow = Math.abs(d);
      } else {
        const dt = Math.max(tr.t - trades[i - 1].t, 1) / 1000;
        const af = 1 - Math.exp((-Math.LN2 * dt) / 60);
        const as = 1 - Math.exp((-Math.LN2 * dt) / 600);
        fast = (1 - af) * fast + af * Math.abs(d);
        slow = (1 - as) * slow + as * Math.abs(d);
      }
      deltas.push(d);
      const w = deltas.slice(-200);
      const m = median(w);
      const madSigma = w.length >= 50 ? 1.4826 * median(w.map((x) => Math.abs(x - m))) : 0;
      const floor = 1.8 * madSigma;
      const mix = 0.2 * fast + 0.8 * slow;
      const scale = Math.max(mix, floor, 1e-12);
      expect(c.delta).toBe(d);
      expect(Math.abs(c.cvd - cvd)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(c.fast - fast)).toBeLessThanOrEqual(1e-9 * Math.max(1, fast));
      expect(Math.abs(c.slow - slow)).toBeLessThanOrEqual(1e-9 * Math.max(1, slow));
      expect(Math.abs(c.floor - floor)).toBeLessThanOrEqual(1e-12 * Math.max(1, floor));
      expect(c.floorUsed).toBe(floor >= c.fast * 0.2 + c.slow * 0.8);
      expect(Math.abs(c.scale - scale)).toBeLessThanOrEqual(1e-9 * scale);
      if (c.floorUsed) floorSeen = true;
      else mixSeen = true;
      if (c.zRaw !== null) {
        expect(Math.abs(c.zRaw - d / scale)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(d / scale)));
        expect(c.zCvd).toBe(Math.max(-8, Math.min(8, c.zRaw)));
      }
    });
    // the data exercise both branches of the scale
    expect(floorSeen && mixSeen).toBe(true);
  });

  test("warm-up: the 20th accepted trade is the first with a z (the current trade counts); nulls, not zeros", () => {
    const c = new CvdCalculator(p);
    trades.slice(0, 25).forEach((tr, i) => {
      c.update(tr.t, tr.p, tr.q, tr.s);
      if (i < 19) {
        expect(c.zRaw).toBeNull();
        expect(c.zCvd).toBeNull();
      } else expect(c.zCvd).not.toBeNull();
      // diagnostics are written on every row (§15.8)
      expect(c.scale).toBeGreaterThan(0);
    });
  });

  test("post-stale freeze: a gap > 5000 ms nulls z for that trade and the next one (2 in total)", () => {
    const c = new CvdCalculator(indicatorParams({ cvd: { freeze_min: 1 } }).cvd);
    const z: Array<number | null> = [];
    const times = [0, 100, 200, 5200, 5300, 5400, 5500, 10_500, 10_501, 10_502];
    // 5200 − 200 = 5000: not > 5000 ⇒ no freeze; 10 500 − 5500 = 5000 ⇒ none either; use 5001 below
    times.forEach((t) => {
      c.update(t, 100, 1, 1);
      z.push(c.zCvd);
    });
    expect(z.every((x) => x !== null)).toBe(true);
    const d = new CvdCalculator(indicatorParams({ cvd: { freeze_min: 1 } }).cvd);
    const out: Array<number | null> = [];
    [0, 100, 5101, 5200, 5300, 5400, 10_401, 10_402, 10_403].forEach((t) => {
      d.update(t, 100, 1, -1);
      out.push(d.zCvd);
    });
    expect(out.map((x) => x === null)).toEqual([false, false, true, true, false, false, true, true, false]);
  });

  test("cvd = running Σ delta and |z_cvd| ≤ WINSOR_LIMIT (property, many seeds)", () => {
    for (let seed = 10; seed < 20; seed++) {
      const c = new CvdCalculator(indicatorParams({ cvd: { winsor_limit: 2.5 } }).cvd);
      let sum = 0;
      let clipped = 0;
      for (const tr of randomTrades(seed, 800, { staleEvery: 97 })) {
        c.update(tr.t, tr.p, tr.q, tr.s);
        sum += c.delta;
        expect(Math.abs(c.cvd - sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(sum)));
        if (c.zCvd !== null) {
          expect(Math.abs(c.zCvd)).toBeLessThanOrEqual(2.5);
          if (Math.abs(c.zRaw as number) > 2.5) clipped++;
        }
      }
      expect(clipped).toBeGreaterThan(0);
    }
  });

  test("mirrored trades (m flipped) ⇒ negated delta, cvd and z", () => {
    const a = new CvdCalculator(p);
    const b = new CvdCalculator(p);
    for (const tr of trades.slice(0, 500)) {
      a.update(tr.t, tr.p, tr.q, tr.s);
      b.update(tr.t, tr.p, tr.q, tr.s === 1 ? -1 : 1);
      expect(b.delta).toBe(-a.delta);
      expect(b.cvd).toBe(-a.cvd);
      expect(b.zCvd).toBe(a.zCvd === null ? null : -a.zCvd);
      expect(b.scale).toBe(a.scale);
    }
  });
});

describe("options", () => {
  const trades = randomTrades(21, 600);

  test("SCALE_MODE=ewma: scale = max(slow, eps); floor 0", () => {
    const c = new CvdCalculator(indicatorParams({ cvd: { scale_mode: "ewma" } }).cvd);
    for (const tr of trades) {
      c.update(tr.t, tr.p, tr.q, tr.s);
      expect(c.scale).toBe(Math.max(c.slow, 1e-12));
      expect(c.floor).toBe(0);
      expect(c.floorUsed).toBe(false);
      if (c.zRaw !== null) expect(c.zRaw).toBe(c.delta / c.scale);
    }
  });

  test("CVD_UNITS=quote: delta = s·p·q", () => {
    const c = new CvdCalculator(indicatorParams({ cvd: { units: "quote" } }).cvd);
    let sum = 0;
    for (const tr of trades) {
      c.update(tr.t, tr.p, tr.q, tr.s);
      expect(c.delta).toBe(tr.s * tr.p * tr.q);
      sum += c.delta;
    }
    expect(c.cvd).toBeCloseTo(sum, 6);
  });

  test("CVD_ANCHOR=utc_day: the level restarts at 00:00 UTC, the z state does not", () => {
    const day = 86_400_000;
    const c = new CvdCalculator(indicatorParams({ cvd: { anchor: "utc_day", freeze_min: 1 } }).cvd);
    c.update(day - 100, 100, 2, 1);
    c.update(day - 50, 100, 3, 1);
    expect(c.cvd).toBe(5);
    const slowBefore = c.slow;
    c.update(day, 100, 1, -1); // 00:00:00.000 belongs to the new day
    expect(c.cvd).toBe(-1);
    expect(c.count).toBe(3);
    expect(c.slow).not.toBe(0);
    expect(c.slow).toBeCloseTo(slowBefore, 2);
    const none = new CvdCalculator(indicatorParams().cvd);
    none.update(day - 100, 100, 2, 1);
    none.update(day, 100, 1, -1);
    expect(none.cvd).toBe(1);
  });

  test("CVD_EWMA_FORM=event: fast/slow = Σ 2^(−age/τ)|δ| / Σ 2^(−age/τ) (brute force)", () => {
    const c = new CvdCalculator(indicatorParams({ cvd: { ewma_form: "event" } }).cvd);
    const seen: T[] = [];
    for (const tr of trades.slice(0, 300)) {
      c.update(tr.t, tr.p, tr.q, tr.s);
      seen.push(tr);
      const avg = (tau: number) => {
        let num = 0;
        let den = 0;
        for (const x of seen) {
          const w = 2 ** (-(tr.t - x.t) / 1000 / tau);
          num += w * x.q;
          den += w;
        }
        return num / den;
      };
      expect(Math.abs(c.fast - avg(60))).toBeLessThanOrEqual(1e-9 * Math.max(1, c.fast));
      expect(Math.abs(c.slow - avg(600))).toBeLessThanOrEqual(1e-9 * Math.max(1, c.slow));
    }
  });

  test("Z_MODE=level: z = (cvd − μ)/σ over the previous 150 levels (ddof 0), warm-up 30, clip", () => {
    const c = new CvdCalculator(indicatorParams({ cvd: { z_mode: "level", winsor_limit: 3 } }).cvd);
    const levels: number[] = [];
    for (const tr of randomTrades(22, 800)) {
      c.update(tr.t, tr.p, tr.q, tr.s);
      const h = levels.slice(-150);
      if (h.length < 30) expect(c.zRaw).toBeNull();
      else {
        const mu = h.reduce((a, b) => a + b, 0) / h.length;
        const sd = Math.sqrt(h.reduce((a, b) => a + (b - mu) ** 2, 0) / h.length);
        const z = sd <= 1e-9 ? 0 : (c.cvd - mu) / sd;
        expect(Math.abs((c.zRaw as number) - z)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(z)));
        expect(c.zCvd).toBe(Math.max(-3, Math.min(3, c.zRaw as number)));
      }
      levels.push(c.cvd);
    }
  });
});

describe("engine: trade validation and rows", () => {
  function run(events: ReturnType<typeof trade>[], cvd: Record<string, unknown> = {}) {
    const sink = new MemorySink();
    const engine = new SymbolEngine("BTCUSDT", indicatorParams({ cvd }), sink, doubles());
    for (const ev of events) engine.onTrade(ev, (ev.tradeTime ?? 0) + 100);
    return { sink, engine };
  }

  test("bad trades are dropped after last_a is set (no false gap); counted", () => {
    const { sink, engine } = run([
      trade(1000, 1, 100, 1, false),
      trade(1001, 2, Number.NaN, 1, false),
      trade(1002, 3, 100, 0, true),
      trade(1003, 4, -5, 1, true),
      trade(1004, 5, 100, 1, null), // m missing
      trade(1005, 6, 100, Number.POSITIVE_INFINITY, true),
      trade(1006, 7, 100, 2, true),
    ]);
    expect(engine.counters.bad_trades).toBe(5);
    expect(engine.counters.trade_id_gaps).toBe(0);
    expect(engine.counters.trades).toBe(2);
    expect(sink.rows.cvd.map((r) => r.agg_trade_id)).toEqual([1, 7]);
    expect(sink.rows.prices.map((r) => r.agg_trade_id)).toEqual([1, 7]);
  });

  test("out-of-order ids are dropped as duplicates; gaps are counted with their size", () => {
    const { sink, engine } = run([trade(1000, 10, 100, 1, false), trade(1001, 9, 100, 1, false), trade(1002, 14, 100, 1, true), trade(1003, 14, 100, 1, true)]);
    expect(engine.counters.dup_trades).toBe(2);
    expect(engine.counters.trade_id_gaps).toBe(1);
    expect(engine.counters.trade_ids_missing).toBe(3);
    const ev = sink.rows.events.filter((e) => e.type === "trade_id_gap");
    expect(JSON.parse(ev[0].detail as string)).toEqual({ from_id: 11, to_id: 13, missing: 3 });
  });

  test("warm-up rows carry null z (never 0) and non-null diagnostics", () => {
    const evs = randomTrades(5, 30).map((tr, i) => trade(tr.t, i + 1, tr.p, tr.q, tr.s === -1));
    const { sink } = run(evs);
    sink.rows.cvd.forEach((r, i) => {
      if (i < 19) {
        expect(r.z_raw).toBeNull();
        expect(r.z_cvd).toBeNull();
      } else expect(typeof r.z_cvd).toBe("number");
      expect(typeof r.scale).toBe("number");
      expect(typeof r.floor).toBe("number");
      expect(typeof r.floor_used).toBe("boolean");
    });
  });

  test("trade time falls back to E; latency_ms = recv − E", () => {
    const { sink } = run([trade(null, 1, 100, 1, false, "BTCUSDT", 500), trade(600, 2, 100, 1, false)], { freeze_min: 1 });
    expect(sink.rows.cvd[0].ts_ms).toBe(500);
    expect(sink.rows.prices[0].latency_ms).toBe(100 - 500); // recv = (T ?? 0) + 100 = 100, E = 500: signed, not clamped
    expect(sink.rows.prices[1].latency_ms).toBe(100); // E defaults to T here
  });
});
