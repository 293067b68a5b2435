/**
 * docs/indicators.md §2.1 steps 1–3: per-side validation, sorting, de-duplication, top 5, empty-level convention.
 */
import { describe, expect, test } from "bun:test";
import { BookSide, readSide, SideScratch } from "../../src/calc/book-input.ts";

const flat = (levels: ReadonlyArray<readonly [number, number]>) => Float64Array.from(levels.flat());
const read = (levels: ReadonlyArray<readonly [number, number]>, isBid: boolean) => {
  const side = new BookSide(isBid);
  const bad = readSide(flat(levels), side, new SideScratch());
  return { side, bad, px: Array.from(side.px), qty: Array.from(side.qty) };
};

describe("readSide", () => {
  test("sorted valid bids pass through; missing levels are empty (−∞, 0)", () => {
    const r = read([[100, 1], [99, 2], [98, 3]], true);
    expect(r.bad).toBe(0);
    expect(r.side.count).toBe(3);
    expect(r.px).toEqual([100, 99, 98, -Infinity, -Infinity]);
    expect(r.qty).toEqual([1, 2, 3, 0, 0]);
  });

  test("empty ask levels are +∞ with qty 0", () => {
    const r = read([[101, 1]], false);
    expect(r.px).toEqual([101, Infinity, Infinity, Infinity, Infinity]);
    expect(r.qty).toEqual([1, 0, 0, 0, 0]);
  });

  test("drops and counts non-finite, price ≤ 0 and qty ≤ 0 levels", () => {
    const r = read([[NaN, 1], [100, NaN], [0, 1], [-1, 1], [99, 0], [98, -2], [Infinity, 1], [97, Infinity], [96, 4]], true);
    expect(r.bad).toBe(8);
    expect(r.side.count).toBe(1);
    expect(r.px[0]).toBe(96);
    expect(r.qty[0]).toBe(4);
  });

  test("sorts unsorted bids descending and asks ascending", () => {
    const b = read([[98, 3], [100, 1], [99, 2]], true);
    expect(b.px.slice(0, 3)).toEqual([100, 99, 98]);
    expect(b.qty.slice(0, 3)).toEqual([1, 2, 3]);
    const a = read([[103, 3], [101, 1], [102, 2]], false);
    expect(a.px.slice(0, 3)).toEqual([101, 102, 103]);
    expect(a.qty.slice(0, 3)).toEqual([1, 2, 3]);
  });

  test("duplicate prices: first occurrence (message order) kept, others counted", () => {
    // unsorted with a duplicate: 99×5 comes first in the message, 99×7 later
    const r = read([[99, 5], [100, 1], [99, 7], [98, 2]], true);
    expect(r.bad).toBe(1);
    expect(r.px.slice(0, 3)).toEqual([100, 99, 98]);
    expect(r.qty.slice(0, 3)).toEqual([1, 5, 2]);
    // already sorted with adjacent duplicates
    const s = read([[101, 1], [101, 9], [102, 2]], false);
    expect(s.bad).toBe(1);
    expect(s.qty.slice(0, 2)).toEqual([1, 2]);
  });

  test("keeps the first 5 of a deeper side", () => {
    const r = read([[100, 1], [99, 2], [98, 3], [97, 4], [96, 5], [95, 6], [94, 7]], true);
    expect(r.bad).toBe(0);
    expect(r.side.count).toBe(5);
    expect(r.px).toEqual([100, 99, 98, 97, 96]);
  });

  test("an all-invalid side is empty", () => {
    const r = read([[NaN, NaN], [1, 0]], false);
    expect(r.bad).toBe(2);
    expect(r.side.count).toBe(0);
    expect(r.side.best()).toBeNaN();
  });

  test("the scratch grows for deep messages and is reused", () => {
    const scratch = new SideScratch();
    const side = new BookSide(true);
    const deep = Array.from({ length: 40 }, (_, i) => [1000 - i, i + 1] as const);
    expect(readSide(flat(deep), side, scratch)).toBe(0);
    expect(Array.from(side.px)).toEqual([1000, 999, 998, 997, 996]);
    expect(readSide(flat([[5, 1]]), side, scratch)).toBe(0);
    expect(side.count).toBe(1);
    expect(side.px[1]).toBe(-Infinity);
  });
});
