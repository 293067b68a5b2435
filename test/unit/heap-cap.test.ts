/**
 * HeapCap: a full collection runs once the heap has grown 16 MiB past the lowest size seen, at most
 * once in 2 s; the lowest size follows the collections (its own and JSC's); each pause is recorded.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { HeapCap } from "../../src/util/heap-cap.ts";

const MiB = 1024 * 1024;

test("collects at 16 MiB of growth, not before, and not twice within 2 s", () => {
  let size = 40 * MiB;
  let collected = 0;
  const cap = new HeapCap(() => size, () => collected++);
  expect(cap.check(0)).toBe(false);
  size = 55 * MiB;
  expect(cap.check(1000)).toBe(false);
  size = 56 * MiB + 1;
  expect(cap.check(2000)).toBe(true);
  // Nothing was garbage: still 56 MiB, and 75 within 2 s of that collection waits.
  size = 75 * MiB;
  expect(cap.check(3000)).toBe(false);
  expect(cap.check(4000)).toBe(true);
  expect(collected).toBe(2);
  expect(cap.collections).toBe(2);
  expect(cap.pauses.count).toBe(2);
});

test("growth is measured from what the collection left", () => {
  let size = 40 * MiB;
  const cap = new HeapCap(() => size, () => (size = 38 * MiB));
  cap.check(0);
  size = 60 * MiB;
  expect(cap.check(1000)).toBe(true);
  // The collection brought it to 38 MiB: 16 MiB above that collects again, not 16 above 60.
  size = 50 * MiB;
  expect(cap.check(4000)).toBe(false);
  size = 54 * MiB + 1;
  expect(cap.check(6000)).toBe(true);
  expect(cap.collections).toBe(2);
});

test("the real heap (jsc heapSize): the garbage is gone when check returns, and the pause is recorded", () => {
  // In a process of its own: in the full suite the heap holds other tests' state and garbage, and
  // collections they started land in between, which this case is not about.
  const script = `
    import { heapSize } from "bun:jsc";
    import { HeapCap } from ${JSON.stringify(join(import.meta.dir, "../../src/util/heap-cap.ts"))};
    Bun.gc(true);
    const cap = new HeapCap();
    cap.check(0);
    const base = heapSize();
    let held = [];
    for (let i = 0; i < 800_000; i++) held.push({ a: i, b: [i, i] });
    held = null;
    const before = heapSize();
    const collected = cap.check(10_000);
    const after = heapSize();
    console.log(JSON.stringify({ collected, garbageMiB: (before - base) / ${MiB}, leftMiB: (after - base) / ${MiB}, pauses: cap.pauses.count, pauseMs: cap.pauses.max }));`;
  const r = Bun.spawnSync([process.execPath, "-e", script]);
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout.toString());
  expect(out.collected).toBe(true);
  expect(out.garbageMiB).toBeGreaterThan(20);
  expect(out.leftMiB).toBeLessThan(5);
  expect(out.pauses).toBe(1);
  expect(out.pauseMs).toBeGreaterThan(0);
});
