import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import type { DivergenceEvent } from "../../src/calc/contracts.ts";
import { assertDivergenceSupported, channelState, DivergenceDetector } from "../../src/calc/divergence.ts";
import { trendStat } from "../../src/calc/ols-window.ts";

const TOL = 1e-9;
const close = (got: number, want: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(TOL);
const stat = (xs: number[]) => trendStat(xs, xs.length, { beta: 0, s: 0, t: 0 });

// Section numbers (§) are those of docs/indicators.md.
describe("slope statistic (§8.2, §11.8)", () => {
  test("P = [100, 101, 101, 103, 104]", () => {
    const s = stat([100, 101, 101, 103, 104]);
    close(s.beta, 1.0);
    close(s.s, 0.816496580928);
    close(s.t, 2.449489742783);
  });
  test("C = [10, 9, 6, 5, 2]", () => {
    const s = stat([10, 9, 6, 5, 2]);
    close(s.beta, -2.0);
    close(s.s, 1.154700538379);
    close(s.t, -3.464101615138);
  });
  test("O = [0, 1, 3, 4, 6]", () => {
    const s = stat([0, 1, 3, 4, 6]);
    close(s.beta, 1.5);
    close(s.s, 0.57735026919);
    close(s.t, 5.196152422707);
  });
  test("channel states: cvd bear, ofi none; θ inclusive", () => {
    expect(channelState(2.449489742783, -3.464101615138, 1)).toBe(1);
    expect(channelState(2.449489742783, 5.196152422707, 1)).toBe(0);
    expect(channelState(-1, 1, 1)).toBe(-1);
    expect(channelState(1, -0.999, 1)).toBe(0);
  });
  test("identical first differences ⇒ s = 0 ⇒ T = 0", () => {
    const s = stat([1, 3, 5, 7, 9]);
    expect(s.beta).toBe(2);
    expect(s.s).toBe(0);
    expect(s.t).toBe(0);
  });
});

/** Feeds one bar's values as events at exactly τ_k (they belong to bar k) on both streams. */
function feedBar(
  d: DivergenceDetector,
  tau: number,
  v: { p?: number; c?: number; ofi?: number },
  out: DivergenceEvent[],
): void {
  if (v.p !== undefined) d.onValidBook(tau, v.p);
  if (v.ofi !== undefined) d.onOfi(tau, v.ofi);
  if (v.c !== undefined) d.onTrade(tau, v.c, 1);
  d.advance(tau, tau, out);
}

const params = () => indicatorParams({ divergence: { window_bars: 5, min_trend: 1 } });

describe("DivergenceDetector (§8.1, §8.2, §11.8, §15.12)", () => {
  const P = [100, 101, 101, 103, 104];
  const C = [10, 9, 6, 5, 2];
  const O = [0, 1, 3, 4, 6];

  const runSpec = () => {
    const d = new DivergenceDetector(params());
    const out: DivergenceEvent[] = [];
    for (let i = 0; i < 5; i++) {
      feedBar(d, (i + 1) * 1000, { p: P[i], c: C[i], ofi: i === 0 ? 0 : O[i] - O[i - 1] }, out);
    }
    return { d, out };
  };

  test("W = 5: cvd bear_div at τ = 5000 with strength 2.449489742783; ofi none", () => {
    const { d, out } = runSpec();
    expect(out).toEqual([]); // bar 5000 not passed yet by either stream
    d.advance(5001, 5001, out);
    expect(out.length).toBe(1);
    const e = out[0];
    expect(e.tsMs).toBe(5000);
    expect(e.type).toBe("bear_div");
    expect(e.channel).toBe("cvd");
    close(e.strength, 2.449489742783);
    close(e.detail.T_P, 2.449489742783);
    close(e.detail.T_c, -3.464101615138);
  });

  test("clock rule: evaluated only once both streams have passed τ_k", () => {
    const { d, out } = runSpec();
    d.advance(5000, 5000, out); // an event exactly at τ still belongs to the bar
    d.advance(7000, 5000, out); // book passed, trades not
    expect(out).toEqual([]);
    d.advance(7000, 5001, out);
    expect(out.map((e) => e.tsMs)).toEqual([5000]);
  });

  test("finish evaluates the pending bar", () => {
    const { d, out } = runSpec();
    d.finish(out);
    expect(out.map((e) => [e.tsMs, e.type, e.channel])).toEqual([[5000, "bear_div", "cvd"]]);
  });

  test("a persisting state does not re-fire; it fires again after an invalidated window", () => {
    const { d, out } = runSpec();
    // Bar 6: P = [101, 101, 103, 104, 105] ⇒ β 1.1, s √(2/3), T_P = 2.694…; C = [9, 6, 5, 2, 1] ⇒
    // β −2, s 1.1547…, T_c = −3.464… ⇒ still bear ⇒ no event.
    feedBar(d, 6000, { p: 105, c: 1, ofi: 0 }, out);
    // A reset at 6500 lies in (τ_{k−4}, τ_k] for k = 7..10 ⇒ those windows are not evaluated (none).
    d.onReset(6500);
    const base = [105, 107, 108, 108, 110];
    const cvd = [-2, -3, -6, -7, -10];
    for (let i = 0; i < 5; i++) feedBar(d, (7 + i) * 1000, { p: base[i], c: cvd[i], ofi: 0 }, out);
    d.advance(11_001, 11_001, out);
    // Window 7..11 has no reset: P = [105, 107, 108, 108, 110] ⇒ β 1.1, diffs [2, 1, 0, 2] ⇒
    // s² = 2.75/3 ⇒ T_P = 2.2/√(11/12); C = [−2, −3, −6, −7, −10] has the §11.8 C shape ⇒
    // T_c = −3.464101615138 ⇒ bear_div fires again at 11 000.
    expect(out.map((e) => [e.tsMs, e.type, e.channel])).toEqual([
      [5000, "bear_div", "cvd"],
      [11_000, "bear_div", "cvd"],
    ]);
    close(out[1].detail.T_P, 2.2 / Math.sqrt(11 / 12));
    close(out[1].strength, 2.2 / Math.sqrt(11 / 12));
    close(out[1].detail.T_c, -3.464101615138);
  });

  test("control: without the reset the same bars stay bear (T_P 2.449, 2.205, 2.449, 1.880, 2.298) ⇒ no second event", () => {
    const { d, out } = runSpec();
    feedBar(d, 6000, { p: 105, c: 1, ofi: 0 }, out);
    const base = [105, 107, 108, 108, 110];
    const cvd = [-2, -3, -6, -7, -10];
    for (let i = 0; i < 5; i++) feedBar(d, (7 + i) * 1000, { p: base[i], c: cvd[i], ofi: 0 }, out);
    d.advance(11_001, 11_001, out);
    expect(out.map((e) => e.tsMs)).toEqual([5000]);
  });

  test("bull_div on the mirrored series; ofi channel fires when O falls against a rising price", () => {
    const d = new DivergenceDetector(params());
    const out: DivergenceEvent[] = [];
    const Pm = P.map((x) => -x + 300);
    const Cm = C.map((x) => -x);
    for (let i = 0; i < 5; i++) feedBar(d, (i + 1) * 1000, { p: Pm[i], c: Cm[i], ofi: i === 0 ? 0 : -(O[i] - O[i - 1]) }, out);
    d.finish(out);
    // T_P = −2.449…, T_c = +3.464… ⇒ cvd bull; T_O = −5.196… ⇒ ofi none (price and OFI both fall).
    expect(out.map((e) => [e.tsMs, e.type, e.channel])).toEqual([[5000, "bull_div", "cvd"]]);

    const d2 = new DivergenceDetector(params());
    const out2: DivergenceEvent[] = [];
    for (let i = 0; i < 5; i++) feedBar(d2, (i + 1) * 1000, { p: P[i], c: 0, ofi: i === 0 ? 0 : -(O[i] - O[i - 1]) }, out2);
    d2.finish(out2);
    expect(out2.map((e) => [e.tsMs, e.type, e.channel])).toEqual([[5000, "bear_div", "ofi"]]);
    close(out2[0].strength, 2.449489742783); // min(2.449…, 5.196…)
    close(out2[0].detail.T_c, -5.196152422707);
  });

  test("undefined P in the window ⇒ not evaluated; bars start at the first whole second ≥ the first event", () => {
    const d = new DivergenceDetector(params());
    const out: DivergenceEvent[] = [];
    // First event: a trade at 500 ⇒ first bar τ = 1000; the first book comes at 2000 ⇒ P_1 undefined.
    d.onTrade(500, 10, 1);
    d.advance(Number.NEGATIVE_INFINITY, 500, out);
    const Pv = [100, 101, 101, 103, 104];
    for (let i = 0; i < 5; i++) feedBar(d, (i + 2) * 1000, { p: Pv[i], c: C[i], ofi: 0 }, out);
    d.finish(out);
    // Windows ending at 2000..5000 include bar 1000 (P undefined) or reach before it; the window
    // 2..6 (τ 2000..6000) is complete ⇒ one event at 6000.
    expect(out.map((e) => [e.tsMs, e.type, e.channel])).toEqual([[6000, "bear_div", "cvd"]]);
  });

  test("C before the first trade is 0, O before the first OFI row is 0", () => {
    const d = new DivergenceDetector(params());
    const out: DivergenceEvent[] = [];
    // Price rises; no trades until after the window ⇒ C = 0 flat ⇒ T_c = 0 ⇒ none.
    for (let i = 0; i < 5; i++) feedBar(d, (i + 1) * 1000, { p: P[i] }, out);
    d.onTrade(5001, -100, 1);
    d.advance(5001, 5001, out);
    expect(out).toEqual([]);
  });

  test("DIV_PRICE_SOURCE=last_trade: P is the last trade price as of τ_k", () => {
    const d = new DivergenceDetector(indicatorParams({ divergence: { window_bars: 5, price_source: "last_trade" } }));
    const out: DivergenceEvent[] = [];
    for (let i = 0; i < 5; i++) {
      const tau = (i + 1) * 1000;
      d.onValidBook(tau, 50); // flat mid: would give T_P = 0 with the mid source
      d.onTrade(tau - 10, C[i] + 1, 999); // an earlier trade in the same bar, superseded below
      d.onTrade(tau, C[i], P[i]);
      d.advance(tau, tau, out);
    }
    d.finish(out);
    expect(out.map((e) => [e.tsMs, e.type, e.channel])).toEqual([[5000, "bear_div", "cvd"]]);
    close(out[0].detail.T_P, 2.449489742783);
  });

  test("pivot method is rejected with a clear message", () => {
    const p = indicatorParams({ divergence: { method: "pivot" } });
    expect(() => assertDivergenceSupported(p)).toThrow("divergence.method=pivot is not built yet");
    expect(() => new DivergenceDetector(p)).toThrow("divergence.method=pivot is not built yet");
  });
});
