/**
 * SYMBOLS=ALL with more than 200 symbols: the compiled binary resolves them from exchangeInfo and
 * opens several connections per route (at most 200 streams each), and keeps every connection within
 * 10 client messages per second although it is asked to ping every 20 ms. The fake exchange enforces
 * both limits as Binance does (1008 close), and pings every second so the automatic pongs count too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";

const SYNTHETIC = 210;

let fake: FakeExchange;
let dir: string;
let result: RunResult;
let symbols: string[];
let produced: Map<string, number[]>;
let metrics: { connections: { id: string; route: string; streams: number; reconnects: number }[] };

beforeAll(async () => {
  fake = await startFakeExchange({
    symbols: ["SANDUSDT"],
    syntheticSymbols: SYNTHETIC,
    syntheticSource: "SANDUSDT",
    speed: 1,
    exchangeInfoServedOnly: true,
    enforceRateLimit: true,
    pingIntervalMs: 1000,
  });
  symbols = [...fake.symbols];
  // ~2000 Parquet files are written at shutdown, each fsynced: on tmpfs that costs nothing, and the
  // disk's speed is not what this test is about.
  dir = existsSync("/dev/shm") ? mkdtempSync("/dev/shm/harvestd-feed-many-") : tempDir("feed-many");
  const port = freePort();
  const run = startBinary(["run", "--config", join(REPO, "config.toml")], {
    ...collectorEnv(fake, ["ALL"], dir, port),
    WSS_PING_INTERVAL: "0.02",
  });
  await waitFor("four connections", () => (fake.openConnections().length >= 4 ? true : undefined), 20_000);
  await Bun.sleep(8000);
  fake.silence("public", true);
  fake.silence("market", true);
  produced = new Map(symbols.map((s) => [s, fake.producedTrades(s).map((t) => t.a)]));
  // Let the collector read everything already sent (it may lag on a loaded box) before stopping it.
  let last = -1;
  let still = 0;
  await waitFor("collector drained", async () => {
    const s = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as { connections: { frames: number }[] };
    const frames = s.connections.reduce((n, c) => n + c.frames, 0);
    still = frames === last ? still + 1 : 0;
    last = frames;
    return still >= 3 ? true : undefined;
  }, 30_000, 300);
  expect(run.proc.exitCode).toBeNull();
  result = await run.stop("SIGTERM");
  metrics = JSON.parse(readFileSync(join(dir, "artifacts", "metrics.json"), "utf8"));
}, 60_000);

afterAll(async () => {
  await fake?.stop();
  if (dir?.startsWith("/dev/shm/")) rmSync(dir, { recursive: true, force: true });
});

describe(`SYMBOLS=ALL with ${SYNTHETIC + 1} symbols`, () => {
  test("exits 0; every TRADING USDT perpetual of exchangeInfo was subscribed", () => {
    if (result.exitCode !== 0) console.error(result.stderr.slice(-2000));
    expect(result.exitCode).toBe(0);
    const streams = fake.connections().flatMap((c) => c.urlStreams);
    expect(new Set(streams).size).toBe(2 * symbols.length);
  });

  test("several connections per route, at most 200 streams each, none closed by the exchange", () => {
    for (const route of ["market", "public"]) {
      const conns = fake.connections().filter((c) => c.route === route);
      expect(conns.map((c) => c.urlStreams.length).sort((a, b) => b - a)).toEqual([200, symbols.length - 200]);
    }
    expect(fake.connections().filter((c) => c.closeCode === 1008)).toEqual([]);
    expect(metrics.connections.map((c) => c.reconnects)).toEqual([0, 0, 0, 0]);
  });

  test("no connection ever sent more than 10 messages in a second, though pings were due every 20 ms", () => {
    for (const c of fake.connections()) {
      expect(c.rateViolations).toEqual([]);
      const pings = c.clientMessages.filter((m) => m.text === "<ping>").length;
      const pongs = c.clientMessages.filter((m) => m.text === "<pong>").length;
      // Held at the limit: about 9 per second over ~8.5 s of connection.
      expect(pings).toBeGreaterThan(50);
      expect(pongs).toBeGreaterThan(3);
      const perSecond = new Map<number, number>();
      for (const m of c.clientMessages) perSecond.set(Math.floor(m.at / 1000), (perSecond.get(Math.floor(m.at / 1000)) ?? 0) + 1);
      expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(10);
    }
  });

  test("prices Parquet holds exactly the produced trade ids of every symbol", async () => {
    const rows = await query(`SELECT symbol, agg_trade_id FROM ${hive(join(dir, "raw", "**", "kind=prices", "*.parquet"))} ORDER BY symbol, agg_trade_id`);
    const bySymbol = new Map<string, number[]>();
    for (const r of rows) {
      const s = r.symbol as string;
      if (!bySymbol.has(s)) bySymbol.set(s, []);
      bySymbol.get(s)!.push(Number(r.agg_trade_id));
    }
    expect(bySymbol.size).toBeGreaterThan(symbols.length * 0.8);
    for (const [s, ids] of bySymbol) expect(ids).toEqual(produced.get(s)!.filter((a) => a >= ids[0]!));
  });
});
