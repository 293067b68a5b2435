/**
 * sinks/parquet/writer-ledger.ts and drain-rate.ts: the Parquet sink's account of batches handed to
 * the writer (bytes against the bound, held writes per kind, producers waiting for room) and its
 * drain estimate. The sink's own tests (sink-parquet*, parquet-spill) run them end to end; these pin
 * the bookkeeping case by case.
 */
import { describe, expect, test } from "bun:test";
import { WriterLedger } from "../../src/sinks/parquet/writer-ledger.ts";

describe("WriterLedger", () => {
  test("pending rows and bytes follow add and settle; a settled id is forgotten", () => {
    const l = new WriterLedger();
    l.add(1, "prices", "BTCUSDT", 100, 4000);
    l.add(2, "orderbook", "BTCUSDT", 50, 6000);
    expect([l.size, l.rows, l.bytes]).toEqual([2, 150, 10000]);
    expect(l.settle(1)?.rows).toBe(100);
    expect(l.settle(1)).toBeUndefined();
    expect([l.size, l.rows, l.bytes]).toEqual([1, 50, 6000]);
    expect(l.ids()).toEqual([2]);
  });

  test("a held batch counts its encoded bytes, once per batch however often it fails, and per kind", () => {
    const l = new WriterLedger();
    l.add(1, "prices", "A", 10, 1000);
    l.add(2, "prices", "B", 20, 2000);
    l.add(3, "cvd", "A", 30, 3000);
    expect(l.hold(1, 300, "ENOSPC")?.held).toBe(true);
    expect(l.hold(1, 250, "ENOSPC")?.bytes).toBe(250);
    l.hold(2, 400, "EACCES");
    expect([l.held, l.heldRows, l.bytes]).toEqual([2, 30, 250 + 400 + 3000]);
    expect(l.failingKinds).toEqual(["prices"]);
    expect(l.heldErrorCode).toBe("EACCES");
    l.settle(1);
    expect(l.failingKinds).toEqual(["prices"]);
    l.settle(2);
    expect([l.held, l.heldRows, l.failingKinds, l.heldErrorCode]).toEqual([0, 0, [], null]);
    expect(l.hold(9, 1, "EIO")).toBeUndefined();
  });

  test("fits: a batch alone always fits; otherwise the bound holds", () => {
    const l = new WriterLedger();
    expect(l.fits(10_000, 100)).toBe(true);
    l.add(1, "prices", "A", 1, 60);
    expect(l.fits(40, 100)).toBe(true);
    expect(l.fits(41, 100)).toBe(false);
  });

  test("a producer waiting for room is woken when the bytes fall to its limit, or when the writer is gone", async () => {
    const l = new WriterLedger();
    l.add(1, "prices", "A", 1, 500);
    l.add(2, "prices", "A", 1, 500);
    let woke = false;
    const waiting = l.waitForRoom(500, false).then(() => (woke = true));
    l.wakeRoomWaiters(false);
    await Bun.sleep(0);
    expect(woke).toBe(false);
    l.settle(1);
    l.wakeRoomWaiters(false);
    await waiting;
    expect(woke).toBe(true);
    let gone = false;
    const never = l.waitForRoom(0, false).then(() => (gone = true));
    l.wakeRoomWaiters(true);
    await never;
    expect(gone).toBe(true);
    await l.waitForRoom(0, true);
  });
});
