/**
 * HeapCap: a collection is asked for once the heap has grown 16 MiB past the lowest size seen, at
 * most once in 2 s, and the lowest size follows the collections that happen (ours or JSC's).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { HeapCap } from "../../src/util/heap-cap.ts";

const MiB = 1024 * 1024;

test("asks for a collection at 16 MiB of growth, not before, and not twice within 2 s", () => {
  let size = 40 * MiB;
  const cap = new HeapCap(() => size);
  expect(cap.check(0)).toBe(false);
  size = 55 * MiB;
  expect(cap.check(1000)).toBe(false);
  size = 56 * MiB + 1;
  expect(cap.check(2000)).toBe(true);
  // Still growing while that collection runs: no second request yet.
  size = 75 * MiB;
  expect(cap.check(3000)).toBe(false);
  expect(cap.requests).toBe(1);
});

test("the floor follows what a collection left: growth is measured from there", () => {
  let size = 40 * MiB;
  const cap = new HeapCap(() => size);
  cap.check(0);
  size = 60 * MiB;
  expect(cap.check(1000)).toBe(true);
  // The collection brought it to 38 MiB; 16 MiB above that asks again, 16 MiB above 60 is not needed.
  size = 38 * MiB;
  expect(cap.check(4000)).toBe(false);
  size = 50 * MiB;
  expect(cap.check(5000)).toBe(false);
  size = 54 * MiB + 1;
  expect(cap.check(6000)).toBe(true);
  expect(cap.requests).toBe(2);
});

test("the real heap (jsc heapSize): 800,000 small objects held make a request", () => {
  // In a process of its own: in the full suite the heap holds other tests' state and garbage, and
  // collections they started land in between, which this case is not about.
  const script = `
    import { HeapCap } from ${JSON.stringify(join(import.meta.dir, "../../src/util/heap-cap.ts"))};
    Bun.gc(true);
    const cap = new HeapCap();
    cap.check(0);
    const held = [];
    for (let i = 0; i < 800_000; i++) held.push({ a: i, b: [i, i] });
    console.log(JSON.stringify({ asked: cap.check(10_000), held: held.length }));`;
  const r = Bun.spawnSync([process.execPath, "-e", script]);
  expect(r.exitCode).toBe(0);
  expect(JSON.parse(r.stdout.toString())).toEqual({ asked: true, held: 800_000 });
});
