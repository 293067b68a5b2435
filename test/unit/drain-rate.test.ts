/**
 * DrainRate: the commit rate, and the drain time from how fast the backlog itself shrinks (injected
 * times). A backlog that rows keep refilling as fast as they are committed is "not draining".
 */
import { describe, expect, test } from "bun:test";
import { DrainRate } from "../../src/sinks/parquet/drain-rate.ts";

describe("DrainRate", () => {
  test("nothing measured yet: 0 without backlog, unknown with one", () => {
    const d = new DrainRate();
    expect(d.estimate(0, 0)).toEqual({ drainRowsPerSec: null, backlogShrinkRowsPerSec: null, drainEtaSec: 0 });
    expect(d.estimate(10, 100)).toEqual({ drainRowsPerSec: null, backlogShrinkRowsPerSec: null, drainEtaSec: null });
  });

  test("a backlog refilled as fast as it is committed: commit rate high, not draining (the walkthrough's 'drains in ≈ 1–2 s' for seconds on end)", () => {
    const d = new DrainRate();
    // 10,000 rows/s committed, 10,000 rows/s arriving: the backlog stays at 15,000 rows for 7 s.
    for (let t = 0; t <= 7_000; t += 500) {
      d.sample(t * 10, t, 15_000);
      const e = d.estimate(15_000, t);
      expect(e.drainEtaSec).toBeNull();
    }
    const e = d.estimate(15_000, 7_000);
    expect(e.drainRowsPerSec).toBe(10_000);
    expect(e.backlogShrinkRowsPerSec).toBe(0);
    expect(e.drainEtaSec).toBeNull();
  });

  test("a growing backlog: negative shrink rate, no drain time", () => {
    const d = new DrainRate();
    for (let t = 0; t <= 4_000; t += 500) d.sample(t * 5, t, 1_000 + t);
    const e = d.estimate(5_000, 4_000);
    expect(e.drainRowsPerSec).toBe(5_000);
    expect(e.backlogShrinkRowsPerSec).toBe(-1_000);
    expect(e.drainEtaSec).toBeNull();
  });

  test("a shrinking backlog: drain time from its shrink rate, not from the commit rate", () => {
    const d = new DrainRate();
    // 5,000 rows/s committed, 3,000 rows/s arriving: the backlog shrinks by 2,000 rows/s.
    for (let t = 0; t <= 2_000; t += 500) d.sample(t * 5, t, 20_000 - t * 2);
    const e = d.estimate(16_000, 2_000);
    expect(e.drainRowsPerSec).toBe(5_000);
    expect(e.backlogShrinkRowsPerSec).toBe(2_000);
    expect(e.drainEtaSec).toBe(8);
  });

  test("the backlog seen only through estimate() (a caller that samples rows only) gives the same", () => {
    const d = new DrainRate();
    for (let t = 0; t <= 3_000; t += 500) {
      d.sample(t * 5, t);
      d.estimate(30_000 - t * 2, t);
    }
    const e = d.estimate(24_000, 3_000);
    expect(e.backlogShrinkRowsPerSec).toBe(2_000);
    expect(e.drainEtaSec).toBe(12);
  });

  test("the window slides: a backlog that stopped shrinking 10 s ago is not draining now", () => {
    const d = new DrainRate();
    for (let t = 0; t <= 5_000; t += 500) d.sample(t, t, 50_000 - t * 4); // shrinking to 30,000
    expect(d.estimate(30_000, 5_000).drainEtaSec).toBe(7.5);
    for (let t = 5_500; t <= 16_000; t += 500) d.sample(t, t, 30_000); // then flat
    const e = d.estimate(30_000, 16_000);
    expect(e.backlogShrinkRowsPerSec).toBe(0);
    expect(e.drainEtaSec).toBeNull();
    // Empty: 0 whatever the history.
    expect(d.estimate(0, 16_500).drainEtaSec).toBe(0);
  });
});
