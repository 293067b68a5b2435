/**
 * Fuzzed frames (seeded, so every run checks the same ones): real aggTrade and depth5 frames with one
 * to three mutations each — byte flips, deletions, insertions, truncation, whitespace, reordered,
 * duplicated, removed or added keys, escapes, other number and numeric-string forms, other value
 * types, wrapper changes. On every one the scanner must fall back or agree exactly with JSON.parse +
 * parseData (checkFrame); in particular it never accepts a frame JSON.parse rejects.
 */
import { describe, expect, test } from "bun:test";
import { FrameScan } from "../../src/exchange/binance/scanner.ts";
import { mutate, otherNumericString, pick, randomDecimal, removeMember, reorderMembers, reseed } from "./scanner-mutations.ts";
import { checkFrame, derivedAggTradeFrames, referenceParses, scriptFrames } from "./scanner-support.ts";

describe("scanner on fuzzed frames", () => {
  reseed(0x5ca77e5);
  const { depth, aggTrade } = scriptFrames(1, ["BTCUSDT", "SANDUSDT", "DENTUSDT"]);
  const seeds = [...derivedAggTradeFrames(), ...depth.slice(0, 2000), ...aggTrade.slice(0, 2000)];

  test("120,000 mutated frames: the scanner falls back or agrees exactly; never accepts what JSON.parse rejects", () => {
    const scan = new FrameScan();
    const tally = { scanned: 0, fallback: 0, jsonRejects: 0, referenceParses: 0, referenceParsesButFallback: 0 };
    for (let i = 0; i < 120_000; i++) {
      const text = mutate(pick(seeds));
      const r = checkFrame(text, scan);
      tally[r]++;
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      if (!valid) tally.jsonRejects++;
      if (referenceParses(text)) {
        tally.referenceParses++;
        if (r === "fallback") tally.referenceParsesButFallback++;
      }
    }
    // The corpus exercises both outcomes in bulk, so the property above is not vacuous. (Fallbacks on
    // frames the reference accepts are the deliberate ones: whitespace, escapes, duplicates, other
    // number forms and value types.)
    expect(tally.scanned).toBeGreaterThan(15_000);
    expect(tally.jsonRejects).toBeGreaterThan(30_000);
    expect(tally.referenceParsesButFallback).toBeGreaterThan(15_000);
  }, 120_000);

  test("reordered keys, removed members and other numeric-string forms are understood, not fallen back on", () => {
    const scan = new FrameScan();
    let n = 0;
    for (const mutation of [reorderMembers, removeMember, otherNumericString]) {
      for (let i = 0; i < 10_000; i++) {
        const text = mutation(pick(seeds));
        if (!referenceParses(text)) continue; // e.g. removed `a`
        n++;
        if (checkFrame(text, scan) !== "scanned") throw new Error(`fell back on ${text}`);
      }
    }
    expect(n).toBeGreaterThan(25_000);
  }, 120_000);

  test("400,000 random decimal strings in p, q and level fields convert bit for bit as Number()", () => {
    const scan = new FrameScan();
    let scanned = 0;
    for (let i = 0; i < 100_000; i++) {
      const agg = `{"stream":"btcusdt@aggTrade","data":{"E":1,"a":${i},"p":"${randomDecimal()}","q":"${randomDecimal()}","T":1,"m":false}}`;
      if (checkFrame(agg, scan) === "scanned") scanned++;
    }
    for (let i = 0; i < 25_000; i++) {
      const lv = () => `["${randomDecimal()}","${randomDecimal()}"]`;
      const d = `{"stream":"btcusdt@depth5@100ms","data":{"E":1,"T":1,"U":1,"u":${i},"pu":0,"b":[${lv()},${lv()}],"a":[${lv()},${lv()}]}}`;
      if (checkFrame(d, scan) === "scanned") scanned++;
    }
    expect(scanned).toBe(125_000);
  }, 120_000);
});
