/**
 * Reading stored aggTrade ids back from the NDJSON raw log: the last trade per symbol from the newest
 * hour file holding one (plain from its end, .gz/.zst streamed), skipping gap lines, malformed
 * trades, other streams and lines cut by a crash; and every id of a set of files, each once.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { lastStoredTrades, storedTradeIds, tradeFiles } from "../../src/pipeline/stored-trades.ts";
import { tempDir } from "../helpers/binary.ts";

const trade = (sym: string, a: number, T = 1_700_000_000_000 + a) =>
  `{"ts_recv":${T + 100},"stream":"${sym.toLowerCase()}@aggTrade","latency_event_ms":3,"latency_pipeline_ms":0.01,"data":{"e":"aggTrade","E":${T + 5},"a":${a},"s":"${sym}","p":"1.0","q":"2.0","f":1,"l":1,"T":${T},"m":true}}`;
const backfill = (sym: string, a: number) => `{"ts_recv":1,"event":"backfill","stream":"${sym.toLowerCase()}@aggTrade","data":{"e":"aggTrade","a":${a},"s":"${sym}","p":"1.0","q":"2.0","f":1,"l":1,"T":${1_700_000_000_000 + a},"m":false}}`;
const depth = (sym: string, u: number) => `{"ts_recv":1,"stream":"${sym.toLowerCase()}@depth5@100ms","latency_event_ms":1,"latency_pipeline_ms":0.01,"data":{"e":"depthUpdate","E":1,"T":1,"s":"${sym}","U":1,"u":${u},"pu":0,"b":[],"a":[]}}`;
const gap = (sym: string, from: number, to: number) => `{"ts_recv":1,"event":"gap","stream":"${sym.toLowerCase()}@aggTrade","from_id":${from},"to_id":${to}}`;
const session = `{"ts_recv":1,"event":"session","version":"t"}`;
/** "Now" for the trees of 2026-01-01/02 below: 2026-01-02 12:00 UTC. */
const NOW = Date.UTC(2026, 0, 2, 12);

function put(dir: string, date: string, sym: string, name: string, lines: readonly string[], trailer = "\n"): string {
  const folder = join(dir, `date=${date}`, `symbol=${sym}`);
  mkdirSync(folder, { recursive: true });
  const text = lines.join("\n") + trailer;
  const p = join(folder, name);
  writeFileSync(p, name.endsWith(".gz") ? gzipSync(text) : name.endsWith(".zst") ? zstdCompressSync(Buffer.from(text)) : text);
  return p;
}

describe("lastStoredTrades", () => {
  test("newest plain hour: the last valid trade line, past gap lines, depth, a malformed trade and a cut line", async () => {
    const dir = tempDir("tids");
    put(dir, "2026-01-01", "BTCUSDT", "raw-10.ndjson.gz", [trade("BTCUSDT", 5)]);
    const filler = Array.from({ length: 3000 }, (_, i) => depth("BTCUSDT", i));
    put(
      dir,
      "2026-01-01",
      "BTCUSDT",
      "raw-11.ndjson",
      [session, trade("BTCUSDT", 100), backfill("BTCUSDT", 101), ...filler, trade("BTCUSDT", 102), gap("BTCUSDT", 103, 110), `{"ts_recv":1,"stream":"btcusdt@aggTrade","latency_event_ms":1,"latency_pipeline_ms":0,"data":{"e":"aggTrade","a":"x","T":1}}`, ...filler.slice(0, 500)],
      `\n{"ts_recv":1,"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","a":999`,
    );
    const got = await lastStoredTrades(dir, ["BTCUSDT"], { nowMs: NOW });
    expect(got.get("BTCUSDT")?.id).toBe(102);
    expect(got.get("BTCUSDT")?.tsMs).toBe(1_700_000_000_102);
  });

  test("a newest hour without trades (a restart that wrote only its session line) falls back to the closed .gz/.zst hour before it", async () => {
    const dir = tempDir("tids");
    put(dir, "2026-01-01", "ETHUSDT", "raw-23.ndjson.gz", [session, trade("ETHUSDT", 7), trade("ETHUSDT", 8), depth("ETHUSDT", 3)]);
    put(dir, "2026-01-02", "ETHUSDT", "raw-00.ndjson", [session, depth("ETHUSDT", 4)]);
    put(dir, "2026-01-01", "SOLUSDT", "raw-05.ndjson.zst", [trade("SOLUSDT", 41), backfill("SOLUSDT", 42)]);
    const got = await lastStoredTrades(dir, ["ETHUSDT", "SOLUSDT", "XRPUSDT"], { nowMs: NOW });
    expect(got.get("ETHUSDT")?.id).toBe(8);
    expect(got.get("SOLUSDT")?.id).toBe(42);
    expect(got.has("XRPUSDT")).toBe(false);
  });

  test("an hour both compressed and plain (reopened): the plain file, written later, decides", async () => {
    const dir = tempDir("tids");
    put(dir, "2026-01-01", "BTCUSDT", "raw-10.ndjson.gz", [trade("BTCUSDT", 1), trade("BTCUSDT", 2)]);
    put(dir, "2026-01-01", "BTCUSDT", "raw-10.ndjson", [session, trade("BTCUSDT", 3)]);
    expect((await lastStoredTrades(dir, ["BTCUSDT"], { nowMs: NOW })).get("BTCUSDT")?.id).toBe(3);
  });

  test("only today and the two days before (UTC) count: a symbol last stored earlier starts afresh, however few folders are newer", async () => {
    // The walkthrough: a run on 2027-03-01 found ETHUSDT's newest folder two months old and resumed from it.
    const dir = tempDir("tids");
    put(dir, "2027-01-01", "ETHUSDT", "raw-03.ndjson", [session, trade("ETHUSDT", 2_154_094_165)]);
    put(dir, "2027-02-26", "BTCUSDT", "raw-23.ndjson.gz", [trade("BTCUSDT", 10)]);
    put(dir, "2027-02-27", "SOLUSDT", "raw-00.ndjson.gz", [trade("SOLUSDT", 20)]);
    put(dir, "2027-03-01", "XRPUSDT", "raw-00.ndjson", [session, trade("XRPUSDT", 30)]);
    const now = Date.UTC(2027, 2, 1, 0, 5);
    const got = await lastStoredTrades(dir, ["ETHUSDT", "BTCUSDT", "SOLUSDT", "XRPUSDT"], { nowMs: now });
    expect([...got.keys()].sort()).toEqual(["SOLUSDT", "XRPUSDT"]);
    expect(got.get("SOLUSDT")?.id).toBe(20);
    // The day is UTC's: 23:59 UTC of 2027-02-28 still sees 2027-02-26.
    expect((await lastStoredTrades(dir, ["BTCUSDT"], { nowMs: Date.UTC(2027, 1, 28, 23, 59) })).get("BTCUSDT")?.id).toBe(10);
    // The default "now" is the wall clock: a tree from 2027-01-01 is not resumed from today either.
    const old = tempDir("tids");
    const longAgo = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    put(old, longAgo, "ETHUSDT", "raw-03.ndjson", [trade("ETHUSDT", 5)]);
    expect((await lastStoredTrades(old, ["ETHUSDT"])).has("ETHUSDT")).toBe(false);
  });

  test("within the three days the newest folder holding a trade decides; a folder dated after today (a clock that was ahead) counts", async () => {
    const dir = tempDir("tids");
    put(dir, "2027-02-27", "ETHUSDT", "raw-12.ndjson.gz", [trade("ETHUSDT", 40)]);
    put(dir, "2027-03-01", "ETHUSDT", "raw-00.ndjson", [session, depth("ETHUSDT", 1)]);
    put(dir, "2027-03-02", "BTCUSDT", "raw-00.ndjson", [trade("BTCUSDT", 50)]);
    const got = await lastStoredTrades(dir, ["ETHUSDT", "BTCUSDT"], { nowMs: Date.UTC(2027, 2, 1, 6) });
    expect(got.get("ETHUSDT")?.id).toBe(40);
    expect(got.get("BTCUSDT")?.id).toBe(50);
    // `days` narrows the window: with 2, 2027-02-27 is out.
    expect((await lastStoredTrades(dir, ["ETHUSDT"], { nowMs: Date.UTC(2027, 2, 1, 6), days: 2 })).has("ETHUSDT")).toBe(false);
  });
});

describe("storedTradeIds", () => {
  test("every trade id of hour and backfill files, ascending, each once, with its trade time", async () => {
    const dir = tempDir("tids");
    put(dir, "2026-01-01", "BTCUSDT", "raw-10.ndjson.gz", [trade("BTCUSDT", 1), trade("BTCUSDT", 2), gap("BTCUSDT", 3, 4), trade("BTCUSDT", 5)]);
    put(dir, "2026-01-01", "BTCUSDT", "raw-10.ndjson", [trade("BTCUSDT", 5), trade("BTCUSDT", 9)]);
    put(dir, "2026-01-01", "BTCUSDT", "backfill-x.ndjson.gz", [session, backfill("BTCUSDT", 3), gap("BTCUSDT", 6, 8)]);
    put(dir, "2026-01-02", "BTCUSDT", "raw-00.ndjson", [trade("BTCUSDT", 10), trade("ETHUSDT", 11)]);
    const files = tradeFiles(dir, "BTCUSDT", ["2026-01-01", "2026-01-02", "2026-01-03"]);
    expect(files.length).toBe(4);
    const { ids, ts, givenUp } = await storedTradeIds(files, "BTCUSDT");
    expect([...ids]).toEqual([1, 2, 3, 5, 9, 10]);
    expect(ts[4]).toBe(1_700_000_000_009);
    // The gap of an earlier backfill run counts as given up; the live run's (3..4) is tried again.
    expect(givenUp).toEqual([{ fromId: 6, toId: 8 }]);
  });
});

describe("findHoles", () => {
  test("holes touching the range, none before the first or after the last id", async () => {
    const { findHoles } = await import("../../src/pipeline/stored-trades.ts");
    const ids = [10, 11, 15, 16, 20, 30, 31];
    const ts = [100, 110, 150, 160, 200, 300, 310];
    expect(findHoles(ids, ts, 0, 1000)).toEqual([
      { fromId: 12, toId: 14, beforeMs: 110, afterMs: 150 },
      { fromId: 17, toId: 19, beforeMs: 160, afterMs: 200 },
      { fromId: 21, toId: 29, beforeMs: 200, afterMs: 300 },
    ]);
    // [150, 200): the hole after 16 (trade before it at 160) and the one reaching 15 (after it at 150).
    expect(findHoles(ids, ts, 150, 200).map((h) => h.fromId)).toEqual([12, 17]);
  });

  test("a hole is given up when earlier backfill runs' gap lines cover every id of it, in one range or several", async () => {
    const { givenUpBefore } = await import("../../src/pipeline/stored-trades.ts");
    const hole = { fromId: 12, toId: 19 };
    expect(givenUpBefore(hole, [{ fromId: 12, toId: 19 }])).toBe(true);
    expect(givenUpBefore(hole, [{ fromId: 16, toId: 30 }, { fromId: 10, toId: 15 }])).toBe(true);
    expect(givenUpBefore(hole, [{ fromId: 12, toId: 14 }, { fromId: 16, toId: 19 }])).toBe(false);
    expect(givenUpBefore(hole, [{ fromId: 13, toId: 19 }])).toBe(false);
    expect(givenUpBefore(hole, [])).toBe(false);
  });
});
