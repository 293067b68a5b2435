/** src/util/buffer-pool.ts: memory reused by exact size, bounded, and let go when a window does not need it. */
import { describe, expect, test } from "bun:test";
import { BufferPool, pooledSize } from "../../src/util/buffer-pool.ts";

describe("BufferPool", () => {
  test("sizes come in classes a quarter of a power of two apart; below 4 KiB they are exact", () => {
    expect(pooledSize(100)).toBe(100);
    expect(pooledSize(4096)).toBe(4096);
    expect(pooledSize(4097)).toBe(5120);
    expect(pooledSize(7000)).toBe(7168);
    expect(pooledSize(8192)).toBe(8192);
    expect(pooledSize(8193)).toBe(10240);
    for (let n = 4096; n < 1 << 22; n += 997) {
      const size = pooledSize(n);
      expect(size).toBeGreaterThanOrEqual(n);
      expect(size).toBeLessThanOrEqual(n * 1.25);
      expect(pooledSize(size)).toBe(size);
    }
  });

  test("a returned buffer serves any request of its class", () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.get(9000);
    expect(a.byteLength).toBe(10240);
    pool.put(a);
    expect(pool.get(10000)).toBe(a);
  });

  test("memory below 4 KiB, or of a size no class has, is not kept", () => {
    const pool = new BufferPool(1 << 20);
    pool.put(pool.get(1000));
    pool.put(new ArrayBuffer(4097));
    expect(pool.bytes).toBe(0);
  });

  test("hands back a returned buffer for the same size, and a new one for another size", () => {
    const pool = new BufferPool(1 << 20);
    const a = pool.get(4096);
    pool.put(a);
    expect(pool.get(8192)).not.toBe(a);
    expect(pool.get(4096)).toBe(a);
    expect(pool.reused).toBe(1);
    expect(pool.allocated).toBe(2);
  });

  test("keeps no more than its bound; what does not fit is freed at once", () => {
    const pool = new BufferPool(3 * 4096);
    const bufs = Array.from({ length: 5 }, () => pool.get(4096));
    for (const b of bufs) pool.put(b);
    expect(pool.bytes).toBe(3 * 4096);
    // Released, not left for the garbage collector: its memory is gone now.
    expect(bufs[3]!.byteLength).toBe(0);
    expect(bufs[4]!.byteLength).toBe(0);
  });

  test("lets go of what a window did not take", () => {
    const pool = new BufferPool(1 << 24);
    const bufs = Array.from({ length: 10 }, () => pool.get(8192));
    for (const b of bufs) pool.put(b);
    pool.trim(); // starts the window: 10 free
    // Each flush of the window takes 3 and gives them back: 7 lay free throughout.
    for (let flush = 0; flush < 4; flush++) {
      const taken = [pool.get(8192), pool.get(8192), pool.get(8192)];
      for (const b of taken) pool.put(b);
    }
    pool.trim();
    expect(pool.bytes).toBe(3 * 8192);
    pool.trim(); // a window where nothing was taken: everything goes
    expect(pool.bytes).toBe(0);
  });

  test("tick trims once a second has passed since the last trim, and again after the clock steps back", () => {
    const pool = new BufferPool(1 << 24);
    pool.put(pool.get(8192));
    pool.tick(10_000); // the first window starts: the buffer lay free, but only from now on counts
    pool.tick(10_500); // within the window: nothing goes
    expect(pool.bytes).toBe(8192);
    pool.tick(11_000); // a whole window free: it goes
    expect(pool.bytes).toBe(0);
    pool.put(pool.get(8192));
    pool.tick(5_000); // the clock stepped back: a new window starts (a trim)
    pool.tick(5_900);
    expect(pool.bytes).toBe(8192);
    pool.tick(6_000);
    expect(pool.bytes).toBe(0);
  });
});
