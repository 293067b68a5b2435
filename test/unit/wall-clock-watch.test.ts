import { expect, test } from "bun:test";
import { CLOCK_STEP_MS, WallClockWatch } from "../../src/util/wall-clock-watch.ts";

/** A watch on a wall and a monotonic clock the test moves by hand, and the steps it told. */
function watched() {
  const c = { wall: 1_700_000_000_000, mono: 5_000 };
  const told: number[] = [];
  const w = new WallClockWatch((ms) => told.push(ms), () => c.wall, () => c.mono);
  return { c, told, w };
}

test("a step of the wall clock against the monotonic one is told once, with its size and sign", () => {
  const { c, told, w } = watched();
  // Both clocks run together: nothing.
  for (let i = 0; i < 5; i++) {
    c.wall += 1000;
    c.mono += 1000;
    w.look();
  }
  expect(told).toEqual([]);
  // 45 s ahead, then held there: one step.
  c.wall += 1000 + 45_000;
  c.mono += 1000;
  w.look();
  c.wall += 1000;
  c.mono += 1000;
  w.look();
  // Back 30 s.
  c.wall += 1000 - 30_000;
  c.mono += 1000;
  w.look();
  expect(told).toEqual([45_000, -30_000]);
  expect(w.steps).toBe(2);
});

test("slewing (NTP's gradual correction) never adds up to a step; a jump just above the limit is one", () => {
  const { c, told, w } = watched();
  // 0.5 ms a second for a day: 43 s in all, never a step.
  for (let i = 0; i < 86_400; i++) {
    c.wall += 1000.5;
    c.mono += 1000;
    w.look();
  }
  expect(told).toEqual([]);
  c.wall += CLOCK_STEP_MS + 1;
  w.look();
  expect(told).toEqual([CLOCK_STEP_MS + 1]);
});

test("a machine resumed from suspend (the monotonic clock stood still) is a step forward", () => {
  const { c, told, w } = watched();
  c.wall += 600_000;
  c.mono += 2;
  w.look();
  expect(told).toEqual([599_998]);
});
