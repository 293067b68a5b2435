/**
 * scanDataLine (src/exchange/binance/scanner.ts) on NDJSON raw-log data lines, the input of `harvestd replay`:
 * every real frame written as the live collector writes it (raw-line.ts dataLine) is scanned and
 * agrees exactly with JSON.parse + applyRecord → applyData; control lines and other layouts fall
 * back; fuzzed lines never make it claim what the reference disagrees with.
 */
import { describe, expect, test } from "bun:test";
import { FrameScan, SCAN_AGG_TRADE, SCAN_DEPTH, SCAN_FALLBACK, scanDataLine } from "../../src/exchange/binance/scanner.ts";
import { backfillLine, connectionLine, dataLine, gapLine, sessionLine } from "../../src/core/raw-log.ts";
import { mutate, pick, reseed } from "./scanner-mutations.ts";
import { checkDataLine, cryptofeedFrames, derivedAggTradeFrames, referenceParses, scriptFrames } from "./scanner-support.ts";

/** A frame as the collector logs it, with varied latency fields (null, negative, fractions). */
function asLine(frame: string, i: number): string {
  const i0 = frame.indexOf('"stream":"') + 10;
  const stream = frame.slice(i0, frame.indexOf('"', i0));
  const payload = frame.slice(frame.indexOf(',"data":') + 8, -1);
  const latencyEvent = [null, 155, -3, 0][i % 4]!;
  const pipeline = [0.012, 0, 1.5, 0.001][i % 4]!;
  return dataLine(1_763_000_000_000 + i, stream, latencyEvent, pipeline, payload);
}

describe("scanDataLine", () => {
  reseed(0x11e5);
  const { depth, aggTrade } = scriptFrames(1);
  const hot = [...derivedAggTradeFrames(), ...depth, ...aggTrade, ...cryptofeedFrames().filter(referenceParses)];

  test("every real aggTrade and depth frame, written as a raw-log line, is scanned with identical results", () => {
    const scan = new FrameScan();
    expect(hot.length).toBeGreaterThan(30_000);
    hot.forEach((f, i) => {
      const line = asLine(f, i);
      if (checkDataLine(line, scan) !== "scanned") throw new Error(`not scanned: ${line.slice(0, 200)}`);
    });
    expect(scanDataLine(asLine(depth[0]!, 5), scan)).toBe(SCAN_DEPTH);
    expect(scan.tsRecv).toBe(1_763_000_000_005);
    expect(scanDataLine(asLine(aggTrade[0]!, 6), scan)).toBe(SCAN_AGG_TRADE);
  }, 120_000);

  test("control lines, other layouts and non-integer ts_recv fall back", () => {
    const scan = new FrameScan();
    const payload = '{"e":"aggTrade","E":2,"a":1,"p":"1","q":"1","T":2,"m":true}';
    const good = dataLine(5, "btcusdt@aggTrade", 3, 0.01, payload);
    expect(checkDataLine(good, scan)).toBe("scanned");
    for (const line of [
      sessionLine(5, "0.1.0"),
      connectionLine(5, "connect", "market", "market-0"),
      gapLine(5, "btcusdt@aggTrade", 1, 2),
      backfillLine(5, "btcusdt@aggTrade", payload), // applied by replay, but as a backfilled trade
      good.replace('{"ts_recv":5', '{"ts_recv":5.5'),
      good.replace('{"ts_recv":5', '{"ts_recv":"5"'),
      good.replace('"latency_event_ms":3', '"latency_event_ms":"3"'),
      good.replace('"latency_pipeline_ms":0.01', '"latency_pipeline_ms":01'),
      good.replace(',"data":', ',"event":"x","data":'),
      good.replace("btcusdt@aggTrade", "btcusdt@bookTicker"),
      `${good} `,
      good.slice(0, -1),
    ]) {
      expect({ line, r: scanDataLine(line, scan) }).toEqual({ line, r: SCAN_FALLBACK });
    }
  });

  test("60,000 mutated lines: falls back or agrees exactly", () => {
    const scan = new FrameScan();
    const seeds = hot.filter((_, i) => i % 7 === 0).map(asLine);
    let scanned = 0;
    for (let i = 0; i < 60_000; i++) if (checkDataLine(mutate(pick(seeds)), scan) === "scanned") scanned++;
    expect(scanned).toBeGreaterThan(8_000);
  }, 120_000);
});
