import { describe, expect, test } from "bun:test";
import { indicatorParams } from "../../src/calc/params.ts";
import type { FusionOutput } from "../../src/calc/contracts.ts";
import { assertFusionSupported, FusionCalculator } from "../../src/calc/fusion.ts";

const TOL = 1e-9;
const close = (got: number | null, want: number) => {
  expect(got).not.toBeNull();
  expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(TOL);
};
/** Copies the reused output object. */
const snap = (o: FusionOutput | null) => (o === null ? null : { ...o });

// Section numbers (§) are those of docs/indicators.md.
describe("fusion: worked example §11.6", () => {
  // Inputs from §11.2 (zo at 1300) and §11.4 (z_cvd per trade), in the example's arrival order.
  const f = new FusionCalculator(indicatorParams());
  const r1050 = f.onTrade(1.0, 1050, 1050);
  const r1150a = f.onTrade(-0.500080845554, 1150, 1150);
  const r1150b = f.onTrade(-0.250041029129, 1150, 1150);
  const r1280 = f.onTrade(1.499930657097, 1280, 1280);
  f.onOfiZ(-1.740570538305, 1300, 1300);
  const r1350 = snap(f.onTrade(-0.500033490788, 1350, 1350));
  const r1450 = snap(f.onTrade(8.0, 1450, 1450));

  test("no rows before the first OFI z", () => {
    expect(r1050).toBeNull();
    expect(r1150a).toBeNull();
    expect(r1150b).toBeNull();
    expect(r1280).toBeNull();
  });

  test("row 1350", () => {
    const r = r1350!;
    expect(r.tsMs).toBe(1350);
    expect(r.lagMs).toBe(50);
    close(r.zOfi, -1.740570538305);
    close(r.zCvd, -0.500033490788);
    close(r.score, -1.244355719298);
    close(r.proba, 0.22367871987);
    close(r.consistency, 0.287281371127);
    close(r.dispersion, 1.240537047517);
    expect(r.signal).toBe("sell");
    expect(r.degraded).toBe(false);
    expect(r.conflict).toBe(false); // same signs
  });

  test("row 1450 (z_cvd 8 clipped to 4) and the conflict event", () => {
    const r = r1450!;
    expect(r.tsMs).toBe(1450);
    expect(r.lagMs).toBe(150);
    close(r.zOfi, -1.740570538305);
    close(r.zCvd, 4.0);
    close(r.score, 0.555657677017);
    close(r.proba, 0.635447216436);
    expect(r.consistency).toBe(0);
    close(r.dispersion, 5.740570538305);
    expect(r.signal).toBe("neutral");
    expect(r.degraded).toBe(false);
    expect(r.conflict).toBe(true);
    close(r.conflictStrength, 1.740570538305);
  });
});

describe("fusion: modes and gates", () => {
  test("degraded when lag > 3000: score = ẑc, consistency 1, dispersion null", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(-2.5, 1000, 1000);
    const atLimit = snap(f.onTrade(1.5, 4000, 4000))!; // lag 3000: normal
    expect(atLimit.degraded).toBe(false);
    close(atLimit.score, 0.6 * -2.5 + 0.4 * 1.5);
    const r = snap(f.onTrade(1.5, 4001, 4001))!;
    expect(r.degraded).toBe(true);
    expect(r.lagMs).toBe(3001);
    expect(r.score).toBe(1.5);
    close(r.proba, 1 / (1 + Math.exp(-1.5)));
    expect(r.consistency).toBe(1);
    expect(r.dispersion).toBeNull();
    expect(r.signal).toBe("buy"); // 1.5 > 1.2, consistency 1 > 0.2
    expect(r.zOfi).toBe(-2.5);
  });

  test("degraded score is clipped at FUSION_Z_CLIP", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(0, 0, 0);
    const r = f.onTrade(-7, 5000, 5000)!;
    expect(r.score).toBe(-4);
    expect(r.signal).toBe("sell");
  });

  test("consistency gate is strict (> MIN_CONSISTENCY)", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(5, 0, 0); // ẑo = 4
    const eq = snap(f.onTrade(0.8, 10, 10))!; // consistency 0.8/4 = 0.2
    expect(eq.consistency).toBe(0.2);
    close(eq.score, 2.72);
    expect(eq.signal).toBe("neutral");
    const above = f.onTrade(0.81, 20, 20)!;
    close(above.consistency, 0.2025);
    expect(above.signal).toBe("buy");
  });

  test("score threshold is strict (> FUSE_BUY)", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(0, 0, 0);
    expect(f.onTrade(1.2, 5000, 5000)!.signal).toBe("neutral"); // degraded: score = 1.2 exactly
    expect(f.onTrade(-1.2, 5001, 5001)!.signal).toBe("neutral");
    expect(f.onTrade(-1.2000001, 5002, 5002)!.signal).toBe("sell");
  });

  test("consistency is 0 when either input is below ε = 1e-9", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(9e-10, 0, 0);
    const r = f.onTrade(2, 10, 10)!;
    expect(r.consistency).toBe(0);
    f.onOfiZ(1e-9, 20, 20);
    expect(f.onTrade(2, 30, 30)!.consistency).toBe(5e-10);
  });

  test("ts_ms = max(trade ts, OFI ts); lag is absolute", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(1, 2000, 2000);
    const r = f.onTrade(1, 1900, 1890)!;
    expect(r.tsMs).toBe(2000);
    expect(r.lagMs).toBe(100);
  });

  test("trigger=both is rejected with a clear message", () => {
    const p = indicatorParams({ fusion: { trigger: "both" } });
    expect(() => assertFusionSupported(p)).toThrow("fusion.trigger=both is not built yet");
    expect(() => new FusionCalculator(p)).toThrow("fusion.trigger=both is not built yet");
    expect(() => assertFusionSupported(indicatorParams())).not.toThrow();
  });
});

describe("fusion: conflict event (§8.4, §15.10)", () => {
  test("edge-triggered, 1000 ms cooldown in event time, degraded evaluations included", () => {
    const f = new FusionCalculator(indicatorParams());
    const fired: number[] = [];
    const run = (zo: number, zc: number, t: number) => {
      f.onOfiZ(zo, t, t);
      const r = f.onTrade(zc, t, t)!;
      if (r.conflict) fired.push(t);
      return r;
    };
    run(-2, 1, 0); // condition true (first evaluation: previous = false) ⇒ fires
    run(-2, 1, 100); // persists ⇒ no edge
    run(-2, 0.5, 200); // |ẑc| < 0.7 ⇒ false
    run(-2, 0.7, 500); // edge, but within 1000 ms of 0 ⇒ suppressed
    run(-2, 0.1, 600); // false
    run(2, -0.7, 999); // edge, 999 ms after 0 ⇒ suppressed
    run(1.49, -3, 1200); // |ẑo| < 1.5 ⇒ false
    const r = run(1.5, -5, 1300); // edge, ≥ 1000 ms ⇒ fires; strength min(1.5, 4)
    expect(r.conflictStrength).toBe(1.5);
    run(0, 0, 1400);
    // A degraded evaluation: the OFI z is 3001 ms old.
    f.onOfiZ(-3, 2400, 2400);
    const d = f.onTrade(2, 5401, 5401)!;
    expect(d.degraded).toBe(true);
    expect(d.conflict).toBe(true);
    expect(d.conflictStrength).toBe(2);
    fired.push(5401);
    expect(fired).toEqual([0, 1300, 5401]);
  });

  test("same signs never conflict", () => {
    const f = new FusionCalculator(indicatorParams());
    f.onOfiZ(3, 0, 0);
    expect(f.onTrade(3, 0, 0)!.conflict).toBe(false);
  });
});
