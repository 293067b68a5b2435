/**
 * Issue "Foundation": the compiled binary against the fake exchange replaying real recordings, for
 * about ten seconds, then SIGTERM. Everything asserted is read back by independent readers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, REPO, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { listFiles, rawDataTexts, readSymbolLines, readSymbolText } from "../helpers/ndjson.ts";

const SYMBOLS = ["BATUSDT", "SANDUSDT", "NEOUSDT", "CTKUSDT"];

let fake: FakeExchange;
let dir: string;
let result: RunResult;
let health: { status: number; body: Record<string, unknown> };
let page: string;
let status: Record<string, unknown>;
let orderbook: { status: number; body: Record<string, unknown> };
let unknownBook: number;

function payloadOf(frameText: string): string {
  const i = frameText.indexOf(',"data":');
  return frameText.slice(i + 8, -1);
}

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 4 });
  dir = tempDir("e2e");
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const run = startBinary(["run", "--config", join(REPO, "config.toml")], collectorEnv(fake, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "3", ORDERBOOK_ROTATE_SEC: "3" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 15_000);
  await Bun.sleep(9_000);
  health = await fetch(`${base}/health`).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  page = await fetch(`${base}/`).then((r) => r.text());
  status = (await fetch(`${base}/api/status`).then((r) => r.json())) as Record<string, unknown>;
  orderbook = await fetch(`${base}/orderbook?symbol=batusdt`).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  unknownBook = (await fetch(`${base}/orderbook?symbol=NOPEUSDT`)).status;
  // Quiet the exchange first, so every frame it sent has been received when the signal arrives.
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(500);
  result = await run.stop("SIGTERM");
}, 60_000);

afterAll(async () => {
  await fake?.stop();
});

describe("harvestd run (compiled binary) against the fake exchange", () => {
  test("exits 0 on SIGTERM", () => {
    if (result.exitCode !== 0) console.error(result.stderr);
    expect(result.exitCode).toBe(0);
  });

  test("NDJSON data lines equal the frames the exchange sent, per stream, in order, byte for byte", () => {
    const sent = fake.sentFrames().filter((f) => f.stream !== null);
    expect(sent.length).toBeGreaterThan(100);
    for (const symbol of SYMBOLS) {
      const logged = rawDataTexts(readSymbolText(join(dir, "ndjson"), symbol));
      for (const stream of [`${symbol.toLowerCase()}@aggTrade`, `${symbol.toLowerCase()}@depth5@100ms`]) {
        const want = sent.filter((f) => f.stream === stream).map((f) => payloadOf(f.text));
        const got = logged.filter((l) => l.stream === stream).map((l) => l.data);
        expect(got.length).toBe(want.length);
        expect(got).toEqual(want);
      }
    }
  });

  test("NDJSON lines have the documented shape and control lines for session, connect and disconnect", () => {
    for (const symbol of SYMBOLS) {
      const lines = readSymbolLines(join(dir, "ndjson"), symbol);
      expect(lines[0]).toMatchObject({ event: "session" });
      const data = lines.filter((l) => l.event === undefined);
      for (const l of data) {
        expect(Object.keys(l)).toEqual(["ts_recv", "stream", "latency_event_ms", "latency_pipeline_ms", "data"]);
        expect(typeof l.ts_recv).toBe("number");
        expect(l.latency_event_ms).toBe((l.ts_recv as number) - ((l.data as { E: number }).E));
      }
      const routes = (ev: string) => lines.filter((l) => l.event === ev).map((l) => l.route).sort();
      expect(routes("connect")).toEqual(["market", "public"]);
      expect(routes("disconnect")).toEqual(["market", "public"]);
      // Arrival order: receipt times never go backwards within a file.
      for (let i = 1; i < lines.length; i++) expect(lines[i]!.ts_recv as number).toBeGreaterThanOrEqual(lines[i - 1]!.ts_recv as number);
    }
  });

  test("prices Parquet read by DuckDB over the Hive tree has exactly the aggTrade ids that were sent", async () => {
    const rows = await query(`SELECT symbol, agg_trade_id FROM ${hive(join(dir, "raw", "**", "kind=prices", "*.parquet"))} ORDER BY symbol, agg_trade_id`);
    for (const symbol of SYMBOLS) {
      const sentIds = fake
        .sentFrames()
        .filter((f) => f.stream === `${symbol.toLowerCase()}@aggTrade`)
        .map((f) => (JSON.parse(f.text) as { data: { a: number } }).data.a)
        .sort((a, b) => a - b);
      const got = rows.filter((r) => r.symbol === symbol).map((r) => Number(r.agg_trade_id));
      expect(sentIds.length).toBeGreaterThan(0);
      expect(got).toEqual(sentIds);
    }
  });

  test("orderbook Parquet has one row per depth frame, with the book of that frame", async () => {
    const rows = await query(
      `SELECT symbol, last_id, best_bid, best_ask, bid_px_0, ask_qty_4 FROM ${hive(join(dir, "raw", "**", "kind=orderbook", "*.parquet"))} ORDER BY symbol, last_id`,
    );
    for (const symbol of SYMBOLS) {
      const frames = fake
        .sentFrames()
        .filter((f) => f.stream === `${symbol.toLowerCase()}@depth5@100ms`)
        .map((f) => (JSON.parse(f.text) as { data: { u: number; b: string[][]; a: string[][] } }).data);
      const got = rows.filter((r) => r.symbol === symbol);
      expect(got.map((r) => Number(r.last_id))).toEqual(frames.map((d) => d.u));
      for (let i = 0; i < frames.length; i++) {
        expect(got[i]!.best_bid).toBe(Number(frames[i]!.b[0]![0]));
        expect(got[i]!.best_ask).toBe(Number(frames[i]!.a[0]![0]));
        expect(got[i]!.ask_qty_4).toBe(Number(frames[i]!.a[4]![1]));
      }
    }
  });

  test("timestamps read back as UTC timestamps and files are Hive-partitioned by event date", async () => {
    const rows = await query(
      `SELECT typeof(ts_ms) AS t, min(date)::VARCHAR AS d, count(*) AS n FROM ${hive(join(dir, "raw", "**", "kind=prices", "*.parquet"))} GROUP BY ALL`,
    );
    expect(rows[0]!.t).toBe("TIMESTAMP WITH TIME ZONE");
    const today = new Date().toISOString().slice(0, 10);
    expect(String(rows[0]!.d)).toBe(today);
  });

  test("no .partial file is left and Parquet files rotated", () => {
    expect(listFiles(dir, /\.partial$/)).toEqual([]);
    const parts = listFiles(join(dir, "raw"), /kind=orderbook\/part-.*\.parquet$/);
    expect(parts.length).toBeGreaterThan(SYMBOLS.length);
  });

  test("status page, /api/status, /health and /orderbook answered while running", () => {
    expect(health.status).toBe(200);
    expect(health.body.ok).toBe(true);
    for (const s of SYMBOLS) expect(page.length > 0 && (status.symbols as { symbol: string }[]).some((x) => x.symbol === s)).toBe(true);
    expect(page).toContain("/api/status");
    const bat = (status.symbols as { symbol: string; frames: number; trades: number }[]).find((x) => x.symbol === "BATUSDT")!;
    expect(bat.frames).toBeGreaterThan(0);
    expect(orderbook.status).toBe(200);
    expect((orderbook.body.bids as unknown[]).length).toBe(5);
    expect(unknownBook).toBe(404);
  });
});
