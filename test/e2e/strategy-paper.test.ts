/**
 * The shared strategy end to end in the compiled binary (docs/strategy.md): PAPER_ENABLE=1 against
 * the fake exchange replaying real recordings, then `harvestd replay` of the run's NDJSON with the
 * same settings. The paper rows of both are identical, and DuckDB checks them against the strategy's
 * rules on the recorded rows themselves: every entry is an edge of a fusion row above the threshold,
 * filled at the next trade's book, after the cooldown, within the position limit; exits close exactly
 * what was opened, with take-profit tiers as `reduce` rows.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";
import { kindRows, layout, type Layout } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const COOLDOWN_S = 6;
const MAX_NOTIONAL = 600;
const ARGS = strategyArgs([
  "strategy.take_profit=[{ at_bps = 2, fraction = 0.5 }, { at_bps = 4, fraction = 1 }]",
  "strategy.max_hold_sec=1",
  `risk.max_position_notional=${MAX_NOTIONAL}`,
  ...["Q_H", "A_H", "A_L", "Q_L"].map((r) => `strategy.regimes.${r}.cooldown_sec=${COOLDOWN_S}`),
]);

let fake: FakeExchange;
let live: Layout;
let replayed: Layout;
let run: RunResult;
let replay: RunResult;

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 8, recordFrames: false });
  const dir = tempDir("strategy-paper");
  live = layout(join(dir, "live"));
  const proc = startBinary(["run", "--config", join(REPO, "config.toml"), ...ARGS], collectorEnv(fake, SYMBOLS, join(dir, "live"), freePort(), { PAPER_ENABLE: "1", PARQUET_ROTATE_SEC: "5" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  await Bun.sleep(30_000);
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(300);
  run = await proc.stop("SIGTERM");
  const out = join(dir, "replayed");
  replayed = { raw: join(out, "raw"), preview: join(out, "preview"), ndjson: live.ndjson, artifacts: join(out, "artifacts") };
  replay = await runBinary(["replay", live.ndjson, "--out", out, "--config", join(REPO, "config.toml"), ...ARGS], { ARTIFACTS_DIR: replayed.artifacts, PAPER_ENABLE: "1" });
}, 90_000);

afterAll(async () => {
  await fake?.stop();
});

const src = (l: Layout, kind: string) => hive(join(kind === "prices" || kind === "orderbook" ? l.raw : l.preview, "*", "*", `kind=${kind}`, "*.parquet"));

describe("paper trading with the shared strategy (compiled binary)", () => {
  test("run and replay exit 0; replay gives exactly the live run's paper rows", async () => {
    if (run.exitCode !== 0) console.error(run.stderr);
    expect(run.exitCode).toBe(0);
    if (replay.exitCode !== 0) console.error(replay.stderr);
    expect(replay.exitCode).toBe(0);
    const a = await kindRows(live, "paper");
    const b = await kindRows(replayed, "paper");
    console.log(`paper rows: ${a.length} (${a.filter((r) => r.event === "open").length} entries, ${a.filter((r) => r.event === "reduce").length} tier exits)`);
    expect(a.filter((r) => r.event === "open").length).toBeGreaterThanOrEqual(3);
    expect(b).toEqual(a);
  });

  test("every entry is the first row of a run of fusion rows above the threshold, on its side, not degraded", async () => {
    const rows = await query(`
      WITH f AS (SELECT symbol, agg_trade_id, ts_ms, score, consistency, degraded,
                        lag(score) OVER (PARTITION BY symbol ORDER BY agg_trade_id) AS prev_score,
                        lag(consistency) OVER (PARTITION BY symbol ORDER BY agg_trade_id) AS prev_cons,
                        lag(degraded) OVER (PARTITION BY symbol ORDER BY agg_trade_id) AS prev_deg
                 FROM ${src(live, "fusion")})
      SELECT p.symbol, p.side, p.position_no, f.score, f.consistency, f.degraded, f.prev_score, f.prev_cons, f.prev_deg
      FROM ${src(live, "paper")} p LEFT JOIN f ON f.symbol = p.symbol AND f.agg_trade_id = p.signal_agg_trade_id
      WHERE p.event = 'open'`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const sign = r.side === "long" ? 1 : -1;
      expect(r.score).not.toBeNull();
      expect(sign * (r.score as number)).toBeGreaterThan(1.2);
      expect(r.consistency as number).toBeGreaterThan(0.2);
      expect(r.degraded).toBe(false);
      // The row before was not above the threshold on the same side (an edge, not a level).
      const prevAbove = r.prev_score !== null && sign * (r.prev_score as number) > 1.2 && (r.prev_cons as number) > 0.2 && r.prev_deg === false;
      expect(prevAbove).toBe(false);
    }
  });

  test("entries fill at the next trade's book (best_buy_fill long, best_sell_fill short); exits on the other side", async () => {
    const rows = await query(`
      SELECT p.event, p.side, p.price, p.agg_trade_id, p.signal_agg_trade_id, pr.best_buy_fill, pr.best_sell_fill,
             (SELECT min(q.agg_trade_id) FROM ${src(live, "prices")} q
               WHERE q.symbol = p.symbol AND q.agg_trade_id > p.signal_agg_trade_id AND q.best_buy_fill IS NOT NULL) AS next_id
      FROM ${src(live, "paper")} p JOIN ${src(live, "prices")} pr ON pr.symbol = p.symbol AND pr.agg_trade_id = p.agg_trade_id`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const buying = (r.event === "open") === (r.side === "long");
      expect(r.price).toBe(buying ? r.best_buy_fill : r.best_sell_fill);
      if (r.event === "open") expect(r.agg_trade_id).toBe(r.next_id);
    }
  });

  test("no entry within the cooldown of the symbol's previous fill; entries within max_position_notional", async () => {
    const rows = await query(`
      WITH fills AS (SELECT symbol, ts_ms, event, qty, price, signal_agg_trade_id,
                            lag(ts_ms) OVER (PARTITION BY symbol ORDER BY ts_ms, position_no, event DESC) AS prev_fill
                     FROM ${src(live, "paper")})
      SELECT fills.*, f.ts_ms AS signal_ts FROM fills JOIN ${src(live, "fusion")} f
        ON f.symbol = fills.symbol AND f.agg_trade_id = fills.signal_agg_trade_id
      WHERE fills.event = 'open'`);
    let checked = 0;
    for (const r of rows) {
      // Sized at the signal's book, filled at the next trade's: a hair of drift is allowed.
      expect((r.qty as number) * (r.price as number)).toBeLessThanOrEqual(MAX_NOTIONAL * 1.002);
      if (r.prev_fill === null) continue;
      checked++;
      expect((r.signal_ts as Date).getTime() - (r.prev_fill as Date).getTime()).toBeGreaterThanOrEqual(COOLDOWN_S * 1000);
    }
    expect(checked).toBeGreaterThan(0);
  });

  test("each position's exits close exactly its quantity; tiers are reduce rows; reasons are the documented ones", async () => {
    const rows = await query(`
      SELECT symbol, position_no,
             sum(qty) FILTER (WHERE event = 'open') AS opened,
             sum(qty) FILTER (WHERE event <> 'open') AS closed,
             count(*) FILTER (WHERE event = 'close') AS closes,
             list(reason ORDER BY ts_ms) FILTER (WHERE event = 'reduce') AS reduce_reasons,
             list(reason) FILTER (WHERE event = 'close') AS close_reasons,
             sum(net_pnl) AS net
      FROM ${src(live, "paper")} GROUP BY 1, 2`);
    const closeReasons = new Set(["target", "stop", "atr_stop", "time", "fade", "reverse", "risk_halt", "end"]);
    for (const r of rows) {
      expect(Number(r.closes)).toBe(1); // SIGTERM closed what was open (reason end)
      expect(Math.abs((r.closed as number) - (r.opened as number))).toBeLessThanOrEqual(1e-9 * (r.opened as number));
      for (const x of (r.reduce_reasons as string[] | null) ?? []) expect(x).toBe("tp1");
      expect(closeReasons.has((r.close_reasons as string[])[0]!)).toBe(true);
    }
    // metrics.json (written at shutdown) counts the same round trips and PnL.
    const metrics = JSON.parse(readFileSync(join(live.artifacts, "metrics.json"), "utf8")) as { symbols: { symbol: string; paper: { trades: number; equity: number } }[] };
    for (const s of SYMBOLS) {
      const mine = rows.filter((r) => r.symbol === s);
      const st = metrics.symbols.find((x) => x.symbol === s)!.paper;
      expect(st.trades).toBe(mine.length);
      const net = mine.reduce((a, r) => a + (r.net as number), 0);
      expect(Math.abs(st.equity - net)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(net)));
    }
  });
});
