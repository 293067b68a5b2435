// The [feed] depth keys: defaults, accepted values, and every bad value named by its key path.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/load.ts";
import { refreshBelow } from "../../src/exchange/binance/depth/params.ts";
import { planConnections } from "../../src/exchange/binance/streams.ts";
import { depthModeOfLine } from "../../src/exchange/binance/depth/log-mode.ts";

const load = (...overrides: string[]) => loadConfig({ configPath: null, env: {}, overrides });

describe("feed depth keys", () => {
  test("defaults: depth5, 100 levels, 1000-level snapshots every refresh, book_l2 every 10 s", () => {
    const r = load();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const f = r.config.feed;
    expect([f.depth, f.full_levels, f.snapshot_limit, f.book_snapshot_sec, f.book_max_levels]).toEqual(["depth5", 100, 1000, 10, 5000]);
    expect(refreshBelow(f)).toBe(250);
  });

  test("full mode subscribes the diff stream instead of depth5", () => {
    const streams = (mode: "depth5" | "full") => planConnections(["BTCUSDT"], true, undefined, mode).flatMap((p) => p.streams);
    expect(streams("depth5")).toEqual(["btcusdt@aggTrade", "btcusdt@depth5@100ms"]);
    expect(streams("full")).toEqual(["btcusdt@aggTrade", "btcusdt@depth@100ms"]);
  });

  test.each([
    [["feed.depth=\"l2\""], "feed.depth"],
    [["feed.snapshot_limit=5000"], "feed.snapshot_limit"],
    [["feed.snapshot_limit=20"], "feed.snapshot_limit"],
    [["feed.full_levels=0"], "feed.full_levels"],
    [["feed.snapshot_limit=100", "feed.full_levels=200"], "feed.full_levels"],
    [["feed.book_max_levels=500"], "feed.book_max_levels"],
    [["feed.book_snapshot_sec=-1"], "feed.book_snapshot_sec"],
  ])("%p is refused, naming %s", (overrides, key) => {
    const r = load(...overrides);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toContain(key);
  });

  test("a raw log line tells the book mode it was recorded with", () => {
    expect(depthModeOfLine('{"ts_recv":1,"stream":"btcusdt@depth@100ms","latency_event_ms":1,"latency_pipeline_ms":0,"data":{}}')).toBe("full");
    expect(depthModeOfLine('{"ts_recv":1,"event":"depth_snapshot","stream":"btcusdt@depth@100ms","limit":1000,"data":{}}')).toBe("full");
    expect(depthModeOfLine('{"ts_recv":1,"stream":"btcusdt@depth5@100ms","latency_event_ms":1,"latency_pipeline_ms":0,"data":{}}')).toBe("depth5");
    expect(depthModeOfLine('{"ts_recv":1,"stream":"btcusdt@aggTrade","data":{}}')).toBeNull();
  });
});
