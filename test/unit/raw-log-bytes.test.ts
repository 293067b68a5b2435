/**
 * The NDJSON sink writes data lines as bytes (core/raw-log.ts `writeDataLine`) without making the
 * string `dataLine` gives: both must give the same text, byte for byte, for every value a line can carry.
 */
import { describe, expect, test } from "bun:test";
import { dataLine, maxDataLineBytes, writeDataLine } from "../../src/core/raw-log.ts";
import { cryptofeedFrames, derivedAggTradeFrames, scriptFrames } from "./scanner-support.ts";

function bytesOf(ts: number, stream: string, le: number | null, lp: number, data: string): string {
  // The room the sink asks for, and guard bytes after it.
  const out = Buffer.alloc(7 + maxDataLineBytes(stream, data) + 16, 0xff);
  const end = writeDataLine(out, 7, ts, stream, le, lp, data);
  // Nothing written before the offset or after the returned end.
  expect(out[6]).toBe(0xff);
  expect(out[end]).toBe(0xff);
  expect(end - 7).toBeLessThanOrEqual(maxDataLineBytes(stream, data));
  return out.subarray(7, end).toString("hex");
}

function same(ts: number, stream: string, le: number | null, lp: number, data: string): void {
  expect(bytesOf(ts, stream, le, lp, data)).toBe(Buffer.from(dataLine(ts, stream, le, lp, data), "utf8").toString("hex"));
}

describe("writeDataLine gives dataLine's bytes", () => {
  test("every real recorded frame", () => {
    const { depth, aggTrade } = scriptFrames(1);
    const frames = [...derivedAggTradeFrames(), ...depth, ...aggTrade, ...cryptofeedFrames()];
    expect(frames.length).toBeGreaterThan(30_000);
    frames.forEach((frame, i) => {
      const s0 = frame.indexOf('"stream":"') + 10;
      const stream = s0 < 10 ? "unknown" : frame.slice(s0, frame.indexOf('"', s0));
      const d0 = frame.indexOf(',"data":');
      const payload = d0 < 0 ? frame : frame.slice(d0 + 8, -1);
      same(1_763_000_000_000 + i, stream, [null, 155, -3, 0][i % 4]!, [0.012, 0, 1.5, 0.001, 3.25][i % 5]!, payload);
    });
  }, 60_000);

  test("latencies: null, negative, zero, whole, rounded to the µs, large", () => {
    const data = '{"e":"aggTrade","a":1}';
    for (const le of [null, 0, -3, -0, 12, 1_000_000, 2 ** 53, 1.5]) same(1_733_000_000_000, "ethusdt@aggTrade", le, 0.002, data);
    for (const lp of [0, -0, 0.001, 0.01, 0.1, 0.12, 0.123, 0.1234567, 1, 10.5, 999.999, 123456.789, 1e9 + 0.001, 1e12, 5e-7, 4e-4, -0.002, Number.NaN, Infinity]) {
      same(1_733_000_000_000, "ethusdt@aggTrade", 1, lp, data);
    }
    for (let i = 0; i < 20_000; i++) same(1_733_000_000_000 + i * 37, "x@depth5@100ms", Math.floor(Math.random() * 2000) - 100, Math.random() * 50, data);
  });

  test("payloads and stream names that are not ASCII", () => {
    same(1, "btcusdt@aggTrade", 1, 0.5, '{"s":"币安","x":"é ñ ü","emoji":"🚀"}');
    same(1, "流@aggTrade\"\\", null, 0.5, '{"a":"\\u2028 \u2028"}');
    // A lone surrogate becomes U+FFFD in both.
    same(1, "btcusdt@aggTrade", 1, 0.5, '{"bad":"\ud800"}');
    same(1, "btcusdt@aggTrade", 1, 0.5, "");
  });
});
