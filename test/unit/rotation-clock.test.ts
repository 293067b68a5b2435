/**
 * The rotation clock shared by the row sinks: every symbol's batches cover exactly one period, but
 * the symbols' boundaries are spread over the period (by a hash of the name), so a rotation never
 * seals every symbol at the same moment. Ticked like the collector ticks its sinks (every 250 ms).
 */
import { describe, expect, test } from "bun:test";
import { MAX_PHASES, RotationClock, symbolOffsetMs } from "../../src/sinks/rotation.ts";

const T0 = Date.UTC(2026, 0, 1, 10);
const TICK_MS = 250;
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `SYN${String(i + 1).padStart(3, "0")}USDT`);

/** Ticks from T0 for `ms`; per symbol, the tick times at which its prices batch was sealed. */
function run(clock: RotationClock, ms: number, step = TICK_MS): Map<string, number[]> {
  const sealed = new Map<string, number[]>(SYMBOLS.map((s) => [s, []]));
  for (let t = T0; t <= T0 + ms; t += step) {
    for (const r of clock.due(t)) {
      if (r.kind !== "prices") continue;
      for (const s of SYMBOLS) if (r.includes(s)) sealed.get(s)!.push(t);
    }
  }
  return sealed;
}

describe("rotation clock", () => {
  test("each symbol rotates once a period, at its own offset; 50 symbols never rotate together", () => {
    const sealed = run(new RotationClock({ rotateSec: 60, orderbookRotateSec: 60 }), 5 * 60_000);
    const perTick = new Map<number, number>();
    for (const [symbol, times] of sealed) {
      expect(times.length).toBe(5);
      // The tick that sees a boundary is the first at or after it (offsets are whole seconds).
      for (const t of times) expect((t - T0) % 60_000).toBe(symbolOffsetMs(symbol, 60_000));
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(60_000);
      for (const t of times) perTick.set(t, (perTick.get(t) ?? 0) + 1);
    }
    // 50 names hashed onto 60 phases: spread out, a few sharing a second.
    const offsets = new Set(SYMBOLS.map((s) => symbolOffsetMs(s, 60_000)));
    expect(offsets.size).toBeGreaterThanOrEqual(30);
    expect(Math.max(...perTick.values())).toBeLessThanOrEqual(4);
    for (const s of SYMBOLS) expect(symbolOffsetMs(s, 60_000) % 1000).toBe(0);
  });

  test("the phase is a property of the name: another clock, another start, the same offsets", () => {
    const a = run(new RotationClock({ rotateSec: 60, orderbookRotateSec: 60 }), 3 * 60_000);
    const b = new RotationClock({ rotateSec: 60, orderbookRotateSec: 60 });
    b.due(T0 + 17_250);
    for (const s of SYMBOLS) {
      const first = a.get(s)![0]!;
      let at = -1;
      for (let t = T0 + 17_500; at < 0 && t <= T0 + 3 * 60_000; t += TICK_MS) for (const r of b.due(t)) if (r.kind === "prices" && r.includes(s)) at = t;
      expect(((at - first) % 60_000 + 60_000) % 60_000).toBe(0);
    }
  });

  test("long periods keep at most MAX_PHASES phases; short ones rotate every symbol at once", () => {
    for (const s of SYMBOLS) expect(symbolOffsetMs(s, 3_600_000) % (3_600_000 / MAX_PHASES)).toBe(0);
    const sealed = run(new RotationClock({ rotateSec: 1, orderbookRotateSec: 1 }), 10_000);
    const first = sealed.get(SYMBOLS[0]!)!;
    expect(first.length).toBe(10);
    for (const times of sealed.values()) expect(times).toEqual(first);
  });

  test("a clock that skips a whole period seals every symbol; one that jumps back far restarts", () => {
    const clock = new RotationClock({ rotateSec: 60, orderbookRotateSec: 60 });
    clock.due(T0);
    const skipped = clock.due(T0 + 90_000).find((r) => r.kind === "prices")!;
    for (const s of SYMBOLS) expect(skipped.includes(s)).toBe(true);
    // Back by more than two periods: the first call after only restarts the clock.
    expect(clock.due(T0 - 10 * 60_000)).toEqual([]);
    const after = run(clock, 60_000);
    for (const times of after.values()) expect(times.length).toBeLessThanOrEqual(2);
  });
});
