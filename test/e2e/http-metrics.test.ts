/**
 * Issue "Operator surface", monitoring outputs of the compiled binary against the fake exchange:
 * /metrics passes `promtool check metrics` and its figures equal what the exchange sent;
 * ARTIFACTS_DIR/metrics.json is rewritten every 10 s; logs are JSON lines on stderr and in
 * ARTIFACTS_DIR/run_logs/, and a flood of errors is rate-limited there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor, type RunResult } from "../helpers/binary.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";
import { PROMTOOL, PROMTOOL_MISSING, promtoolCheck, samples } from "../helpers/metrics.ts";

const SYMBOLS = ["SANDUSDT", "NEOUSDT", "BATUSDT"];

if (PROMTOOL_MISSING !== undefined) console.warn(`skipping the promtool check: ${PROMTOOL_MISSING}`);

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("monitoring outputs of a running collector", () => {
  let c: CollectorUnderTest;
  let result: RunResult | undefined;

  beforeAll(async () => {
    c = await startCollector({ symbols: SYMBOLS, fake: { speed: 4 } });
    await waitForHealth(c, 200);
  }, 60_000);

  afterAll(async () => {
    if (result === undefined) await c?.stop();
  });

  test.skipIf(PROMTOOL_MISSING !== undefined)("live /metrics passes `promtool check metrics` without a single lint warning", async () => {
    // Some trades and books first, so every histogram and gauge has values.
    await waitFor("trades for every symbol", async () => {
      const m = samples(await (await c.get("/metrics")).text());
      return SYMBOLS.every((s) => (m.get(`harvestd_trades_total{symbol="${s}"}`) ?? 0) > 0) ? true : undefined;
    }, 30_000, 250);
    const r = await c.get("/metrics");
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await r.text();
    const checked = promtoolCheck(text);
    expect(checked.lines).toEqual([]);
    expect(checked.exitCode).toBe(0);
    // It can fail: a counter without _total and a millisecond unit are both reported.
    const broken = text + "# HELP harvestd_oops_milliseconds x\n# TYPE harvestd_oops_milliseconds counter\nharvestd_oops_milliseconds 1\n";
    expect(promtoolCheck(broken).exitCode).not.toBe(0);
  }, 60_000);

  test.skipIf(PROMTOOL_MISSING !== undefined)("the alert rules of docs/operations.md pass `promtool check rules`, and every metric they name is in a live /metrics", async () => {
    const doc = readFileSync(join(import.meta.dir, "..", "..", "docs", "operations.md"), "utf8");
    const rules = [...doc.matchAll(/```yaml\n(groups:[\s\S]*?)```/g)].map((m) => m[1]!);
    expect(rules).toHaveLength(1);
    const file = join(c.dir, "alert-rules.yml");
    await Bun.write(file, rules[0]!);
    const proc = Bun.spawnSync([PROMTOOL!, "check", "rules", file], { stdout: "pipe", stderr: "pipe" });
    expect(proc.stdout.toString() + proc.stderr.toString()).toContain("SUCCESS");
    expect(proc.exitCode).toBe(0);
    // A rule on a metric the binary does not export would never fire.
    await waitFor("the first clock check", async () => ((await (await c.get("/metrics")).text()).includes("harvestd_clock_offset_seconds") ? true : undefined), 10_000, 200);
    const exported = new Set([...samples(await (await c.get("/metrics")).text()).keys()].map((k) => k.replace(/\{.*$/, "").replace(/_(bucket|sum|count)$/, "")));
    const named = [...new Set(rules[0]!.match(/harvestd_[a-z0-9_]+/g) ?? [])].map((n) => n.replace(/_(bucket|sum|count)$/, ""));
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !exported.has(n))).toEqual([]);
  }, 30_000);

  test("figures equal what the exchange sent: frames per symbol and route, last prices, latency histograms", async () => {
    // Quiet the exchange so every frame it sent has been received when we look.
    c.fake.silence("public", true);
    c.fake.silence("market", true);
    let m: Map<string, number>;
    try {
      await Bun.sleep(1000);
      m = samples(await (await c.get("/metrics")).text());
    } finally {
      c.fake.silence("public", false);
      c.fake.silence("market", false);
    }
    const sent = c.fake.sentFrames().filter((f) => f.stream !== null);
    for (const s of SYMBOLS) {
      const lower = s.toLowerCase();
      const mine = sent.filter((f) => f.stream!.startsWith(`${lower}@`));
      expect(m.get(`harvestd_frames_received_total{symbol="${s}"}`)).toBe(mine.length);
      const trades = mine.filter((f) => f.stream === `${lower}@aggTrade`).map((f) => (JSON.parse(f.text) as { data: { p: string } }).data);
      expect(m.get(`harvestd_trades_total{symbol="${s}"}`)).toBe(trades.length);
      expect(m.get(`harvestd_last_price{symbol="${s}"}`)).toBe(Number(trades.at(-1)!.p));
      // Histogram: cumulative buckets in seconds, +Inf = _count = frames.
      const buckets = [...m].filter(([k]) => k.startsWith(`harvestd_event_latency_seconds_bucket{symbol="${s}",le=`));
      expect(buckets.length).toBeGreaterThan(10);
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
      expect(buckets.at(-1)![0]).toBe(`harvestd_event_latency_seconds_bucket{symbol="${s}",le="+Inf"}`);
      expect(buckets.at(-1)![1]).toBe(mine.length);
      expect(m.get(`harvestd_event_latency_seconds_count{symbol="${s}"}`)).toBe(mine.length);
      expect(buckets.some(([k]) => k.endsWith(',le="0.1"}'))).toBe(true);
    }
    for (const route of ["public", "market"] as const) {
      expect(m.get(`harvestd_ws_frames_received_total{route="${route}"}`)).toBe(sent.filter((f) => f.route === route).length);
      expect(m.get(`harvestd_connections_open{route="${route}"}`)).toBe(1);
    }
    expect(m.get("harvestd_healthy")).toBe(1);
    // Present from the start (a collector may run minutes before its first), so an alert can use it.
    expect(m.get("harvestd_heap_collection_pause_seconds_count")).toBeGreaterThanOrEqual(0);
    expect(m.get('harvestd_heap_collection_pause_seconds_bucket{le="+Inf"}')).toBe(m.get("harvestd_heap_collection_pause_seconds_count"));
    expect(m.get('harvestd_http_requests_total{route="/metrics",code="200"}')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("a flood of malformed frames is counted in full but logged rate-limited", async () => {
    const before = samples(await (await c.get("/metrics")).text()).get('harvestd_malformed_frames_total{symbol="SANDUSDT"}') ?? 0;
    c.fake.faults.hooks.beforeSend = (text) => (text.startsWith('{"stream":"sandusdt@aggTrade"') ? [text.replace('"a":', '"a":null,"was_a":')] : undefined);
    let flooded = 0;
    try {
      flooded = await waitFor("20 malformed trades", async () => {
        const n = samples(await (await c.get("/metrics")).text()).get('harvestd_malformed_frames_total{symbol="SANDUSDT"}') ?? 0;
        return n - before >= 20 ? n - before : undefined;
      }, 40_000, 250);
    } finally {
      c.fake.faults.hooks.beforeSend = undefined;
    }
    const runLogs = join(c.dir, "artifacts", "run_logs");
    const logged = readdirSync(runLogs)
      .flatMap((f) => jsonLines(readFileSync(join(runLogs, f), "utf8")))
      .filter((l) => l.msg === "malformed payload" && l.stream === "sandusdt@aggTrade");
    expect(flooded).toBeGreaterThanOrEqual(20);
    // One line per 10 s per symbol at most.
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.length).toBeLessThanOrEqual(2);
  }, 60_000);

  test("ARTIFACTS_DIR/metrics.json is a complete status document, rewritten every 10 s", async () => {
    const path = join(c.dir, "artifacts", "metrics.json");
    const read = () => (existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { now_ms: number; symbols: { symbol: string; frames: number }[]; health: { ok: boolean } }) : undefined);
    const first = await waitFor("metrics.json", read, 15_000, 200);
    const second = await waitFor("the next metrics.json", () => {
      const m = read();
      return m !== undefined && m.now_ms !== first.now_ms ? m : undefined;
    }, 15_000, 100);
    expect(second.now_ms - first.now_ms).toBeGreaterThanOrEqual(9_000);
    expect(second.now_ms - first.now_ms).toBeLessThanOrEqual(12_000);
    expect(second.symbols.map((s) => s.symbol)).toEqual(SYMBOLS);
    for (const s of second.symbols) expect(s.frames).toBeGreaterThan(0);
    // Atomic replacement: no temporary file left beside it.
    expect(readdirSync(join(c.dir, "artifacts")).filter((f) => f.startsWith("metrics.json."))).toEqual([]);
  }, 40_000);

  test("logs: JSON lines with ts, level and msg, the same on stderr and in run_logs/, from start to stop", async () => {
    result = await c.stop();
    expect(result.exitCode).toBe(0);
    const runLogs = join(c.dir, "artifacts", "run_logs");
    const files = readdirSync(runLogs);
    expect(files.length).toBe(1);
    expect(files[0]).toMatch(/^harvestd-.*\.jsonl$/);
    const fileLines = jsonLines(readFileSync(join(runLogs, files[0]!), "utf8"));
    const stderrLines = jsonLines(result.stderr);
    expect(stderrLines).toEqual(fileLines);
    for (const l of fileLines) {
      expect(typeof l.ts).toBe("string");
      expect(Number.isNaN(Date.parse(l.ts as string))).toBe(false);
      expect(["debug", "info", "warn", "error"]).toContain(l.level as string);
      expect(typeof l.msg).toBe("string");
    }
    const msgs = fileLines.map((l) => l.msg);
    expect(msgs[0]).toBe("starting");
    expect(msgs).toContain("connect");
    expect(msgs).toContain("stopping");
    expect(msgs.at(-1)).toBe("stopped");
    // A clean stop warns of nothing: the connections it closes itself are info, not lost ones.
    const afterStop = fileLines.slice(msgs.indexOf("stopping"));
    expect(afterStop.filter((l) => l.msg === "disconnect").length).toBeGreaterThan(0);
    expect(afterStop.filter((l) => l.level !== "info")).toEqual([]);
  }, 60_000);
});
