// One side of the full book: sorted typed arrays with the touch last, absolute quantities, 0 removes,
// the exactly known window (floor), and trimming away from the touch past the bound.
import { describe, expect, test } from "bun:test";
import { Ladder } from "../../src/exchange/binance/depth/ladder.ts";

const f64 = (xs: number[]) => Float64Array.from(xs);
const levels = (l: Ladder) => Array.from({ length: l.n }, (_, i) => [l.priceAt(i), l.qtyAt(i)]);

describe("ladder", () => {
  test("bids best first out, asks best first out; 0 removes; removing an absent level is normal", () => {
    const b = new Ladder(true, 100);
    const a = new Ladder(false, 100);
    expect(b.load(f64([10, 9, 8]), f64([1, 2, 3]), 3, true)).toBe(true);
    expect(a.load(f64([11, 12, 13]), f64([1, 2, 3]), 3, true)).toBe(true);
    b.set(9.5, 7);
    b.set(8, 0);
    b.set(7.5, 0);
    a.set(10.5, 4);
    a.set(12, 5);
    expect(levels(b)).toEqual([[10, 1], [9.5, 7], [9, 2]]);
    expect(levels(a)).toEqual([[10.5, 4], [11, 1], [12, 5], [13, 3]]);
    expect(b.best()).toBe(10);
    expect(a.best()).toBe(10.5);
  });

  test("a snapshot cut at its limit has a floor: updates beyond it are ignored and counted", () => {
    const b = new Ladder(true, 100);
    b.load(f64([10, 9, 8]), f64([1, 1, 1]), 3, false);
    expect(b.floorPrice()).toBe(8);
    expect(b.set(7, 5)).toBe(false);
    expect(b.set(8, 0)).toBe(true);
    expect(b.outsideWindow).toBe(1);
    expect(levels(b)).toEqual([[10, 1], [9, 1]]);
  });

  test("past the bound the levels farthest from the touch are trimmed and the floor moves up", () => {
    const b = new Ladder(true, 64);
    b.load(f64([1000]), f64([1]), 1, true);
    for (let p = 999; p > 900; p--) b.set(p, 1);
    // Trimmed down to 15/16 of the bound each time it is passed; the touch never goes.
    expect(b.n).toBeLessThanOrEqual(64);
    expect(b.trimmed).toBeGreaterThan(0);
    expect(b.priceAt(0)).toBe(1000);
    const floor = b.floorPrice()!;
    expect(floor).toBe(b.priceAt(b.n - 1));
    // Beyond the new floor nothing is taken; inside, everything is.
    expect(b.set(floor - 1, 1)).toBe(false);
    b.set(1000.5, 2);
    expect(b.best()).toBe(1000.5);
    // Prices are contiguous from the touch down to the floor: nothing inside the window was lost.
    expect(levels(b).slice(1).map(([p]) => p)).toEqual(Array.from({ length: b.n - 1 }, (_, i) => 1000 - i));
  });

  test("an unsorted snapshot side is sorted; a repeated price or a bad quantity is refused", () => {
    const a = new Ladder(false, 100);
    expect(a.load(f64([13, 11, 12]), f64([3, 1, 2]), 3, true)).toBe(true);
    expect(levels(a)).toEqual([[11, 1], [12, 2], [13, 3]]);
    expect(a.load(f64([11, 12, 11]), f64([1, 1, 1]), 3, true)).toBe(false);
    expect(a.load(f64([11, 12]), f64([1, 0]), 2, true)).toBe(false);
  });
});
