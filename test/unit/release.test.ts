/**
 * util/release.ts: buffers freed at once, and the tally of bytes let go that the Parquet writer's
 * collection trigger subtracts from JavaScriptCore's heap size (which still counts them until a
 * collection).
 */
import { describe, expect, test } from "bun:test";
import { bytesLetGo, letGo, releaseArrayBuffer, releaseBuffer, releaseIfWhole } from "../../src/util/release.ts";

describe("release", () => {
  test("a released buffer is empty and its bytes are counted once", () => {
    const before = bytesLetGo();
    const b = new ArrayBuffer(4096);
    const view = new Uint8Array(b);
    releaseArrayBuffer(b);
    expect(b.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(bytesLetGo() - before).toBe(4096);
    releaseArrayBuffer(b);
    expect(bytesLetGo() - before).toBe(4096);
  });

  test("releaseBuffer frees the whole buffer behind a view", () => {
    const before = bytesLetGo();
    const whole = new Uint8Array(1000);
    releaseBuffer(whole.subarray(10, 20));
    expect(whole.length).toBe(0);
    expect(bytesLetGo() - before).toBe(1000);
  });

  test("releaseIfWhole leaves a view into a larger buffer (and its neighbours) alone", () => {
    const before = bytesLetGo();
    const slab = new Uint8Array(256).fill(7);
    releaseIfWhole(slab.subarray(0, 128));
    expect(slab.length).toBe(256);
    expect(slab[200]).toBe(7);
    expect(bytesLetGo()).toBe(before);
    releaseIfWhole(slab);
    expect(slab.length).toBe(0);
    expect(bytesLetGo() - before).toBe(256);
  });

  test("letGo counts buffers about to be transferred, at their size before the transfer", () => {
    const before = bytesLetGo();
    const a = new ArrayBuffer(300);
    const b = new ArrayBuffer(700);
    letGo([a, b]);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ a, b }, [a, b]);
    port1.close();
    port2.close();
    expect(a.byteLength).toBe(0);
    expect(bytesLetGo() - before).toBe(1000);
  });
});
