/**
 * Issue "Research outputs", end to end: the compiled binary collects from the fake exchange with
 * paper trading on (one depth reconnect forced mid-run), then `harvestd report` reads the Parquet
 * tree. The report's JSON figures must equal an independent computation in DuckDB SQL over the same
 * files (row counts per kind and hour, latency quantiles, and the fusion/OFI hit rates with their
 * labels, §12.1 exclusions and non-overlap thinning done in SQL); the paper fills must be the
 * documented book prices; the HTML must open in headless Chromium without any error.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, runBinary, startBinary, tempDir, waitFor, REPO, type RunResult } from "../helpers/binary.ts";
import { chromiumMissing, launchBrowser } from "../helpers/browser.ts";
import { hive, query } from "../helpers/duckdb.ts";
import { strategyArgs } from "../helpers/strategy-sets.ts";
import { listFiles } from "../helpers/ndjson.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT", "SANDUSDT"];

let fake: FakeExchange;
let dir: string;
let run: RunResult;
let report: RunResult;
let badArgs: RunResult;
let noData: RunResult;
let liveStatus: Record<string, unknown>;
let json: Record<string, any>;
let date: string;

const glob = (root: "raw" | "preview", kind: string) => hive(join(dir, root, "**", `kind=${kind}`, "*.parquet"));
const near = (got: number | null, want: number | null, tol = 1e-9) => {
  if (want === null || got === null) {
    expect(got).toBe(want);
    return;
  }
  if (Math.abs(got - want) > tol * Math.max(1, Math.abs(want))) throw new Error(`got ${got}, want ${want}`);
};

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 10, recordFrames: false });
  dir = tempDir("report");
  const port = freePort();
  const env = collectorEnv(fake, SYMBOLS, dir, port, { PARQUET_ROTATE_SEC: "5", ORDERBOOK_ROTATE_SEC: "5", PAPER_ENABLE: "1" });
  // Tight exits, no cooldown and the fusion signal's own threshold, so positions open and close often
  // in a short run (docs/strategy.md): entries are then exactly edges of the fusion signal.
  const proc = startBinary(["run", "--config", join(REPO, "config.toml"), ...strategyArgs()], env);
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 20_000);
  await Bun.sleep(14_000);
  // One depth reconnect: a `reconnect` event and a full OFI reset, which §12.1 excludes around.
  fake.dropConnections("public");
  await waitFor("depth route back", () => (fake.openConnections().filter((c) => c.route === "public").length >= 1 ? true : undefined), 20_000);
  await Bun.sleep(14_000);
  liveStatus = (await fetch(`http://127.0.0.1:${port}/api/status`).then((r) => r.json())) as Record<string, unknown>;
  fake.silence("public", true);
  fake.silence("market", true);
  await Bun.sleep(500);
  run = await proc.stop("SIGTERM");
  date = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  // The run may straddle midnight UTC: cover both dates.
  // A 30 s run has ~30 grid samples per symbol and hour: lower the per-period minimum so ICs exist.
  report = await runBinary(["report", "--from", yesterday, "--to", date, "--config", join(REPO, "config.toml"), "--set", "report.ic_min_samples=5"], env);
  badArgs = await runBinary(["report", "--from", date], env);
  noData = await runBinary(["report", "--from", "2001-01-01", "--to", "2001-01-02", "--config", join(REPO, "config.toml")], env);
  const out = join(dir, "artifacts", "dq_reports");
  const jsonFile = readdirSync(out).find((f) => f.endsWith(".json"))!;
  json = JSON.parse(readFileSync(join(out, jsonFile), "utf8"));
}, 120_000);

afterAll(async () => {
  await fake?.stop();
});

describe("harvestd report (compiled binary) over a real run", () => {
  test("the run and the report exit 0; the three files are listed on stdout; progress on stderr", () => {
    if (run.exitCode !== 0) console.error(run.stderr);
    expect(run.exitCode).toBe(0);
    if (report.exitCode !== 0) console.error(report.stderr);
    expect(report.exitCode).toBe(0);
    const paths = report.stdout.trim().split("\n");
    expect(paths.map((p) => p.slice(p.lastIndexOf(".")))).toEqual([".md", ".json", ".html"]);
    for (const p of paths) expect(p.startsWith(join(dir, "artifacts", "dq_reports"))).toBe(true);
    expect(report.stderr).toMatch(/report: \d+ Parquet files for 3 symbols/);
    expect(report.stderr).toMatch(/report: read (\d+)\/\1 files, [\d,]+ rows/);
    expect(report.stderr).toMatch(/verdict at H = 10 s: (PASS|FAIL|INSUFFICIENT DATA) \(/);
  });

  test("bad arguments exit 2 with one line; a range without data exits 1 naming the folder", () => {
    expect(badArgs.exitCode).toBe(2);
    expect(badArgs.stderr).toContain("report needs --from YYYY-MM-DD and --to YYYY-MM-DD");
    expect(noData.exitCode).toBe(1);
    expect(noData.stderr).toContain(`no prices or orderbook Parquet files for 2001-01-01 … 2001-01-02`);
    expect(noData.stderr).toContain(join(dir, "raw"));
  });

  test("rows per kind, per symbol and per hour equal DuckDB counts over the same tree", async () => {
    for (const [kind, root] of [["prices", "raw"], ["orderbook", "raw"], ["ofi", "preview"], ["cvd", "preview"], ["fusion", "preview"], ["events", "preview"], ["features", "preview"], ["paper", "preview"]] as const) {
      const rows = await query(`SELECT symbol, (epoch_ms(ts_ms) // 3600000) * 3600000 AS h, count(*)::INTEGER AS n FROM ${glob(root, kind)} GROUP BY ALL`);
      for (const s of SYMBOLS) {
        const dq = json.data_quality.find((x: { symbol: string }) => x.symbol === s);
        const mine = rows.filter((r) => r.symbol === s);
        expect(dq.totals.rows[kind]).toBe(mine.reduce((a, r) => a + (r.n as number), 0));
        for (const r of mine) expect(dq.hours.find((x: { hour_start_ms: number }) => x.hour_start_ms === Number(r.h)).rows[kind]).toBe(r.n);
      }
    }
    const btc = json.data_quality.find((x: { symbol: string }) => x.symbol === "BTCUSDT");
    expect(btc.totals.rows.prices).toBeGreaterThan(1000);
    expect(btc.totals.rows.paper).toBeGreaterThan(0);
  });

  test("event latency p50/p95/p99 and reconnects equal DuckDB's", async () => {
    const lat = await query(
      `SELECT symbol, quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99 FROM ${glob("raw", "prices")} GROUP BY symbol`,
    );
    const rec = await query(`SELECT symbol, channel, count(*)::INTEGER AS n FROM ${glob("preview", "events")} WHERE type = 'reconnect' GROUP BY ALL`);
    for (const s of SYMBOLS) {
      const t = json.data_quality.find((x: { symbol: string }) => x.symbol === s).totals;
      const l = lat.find((r) => r.symbol === s)!;
      near(t.latency_p50_ms, l.p50 as number);
      near(t.latency_p95_ms, l.p95 as number);
      near(t.latency_p99_ms, l.p99 as number);
      // The one forced drop of the depth route, and nothing for the stop (the collector's own close is no reconnect).
      const pub = rec.find((r) => r.symbol === s && r.channel === "public")?.n ?? 0;
      const market = rec.find((r) => r.symbol === s && r.channel === "market")?.n ?? 0;
      expect(t.reconnects_public).toBe(pub);
      expect([pub, market]).toEqual([1, 0]);
    }
  });

  /**
   * Labels, exclusions and thinning in SQL: mid as-of via ASOF JOIN on valid books, a reconnect or
   * OFI reset in (t, t+H] excludes, t+H past the last book excludes, then a recursive walk keeps a
   * candidate when t ≥ last kept + H (the first row in arrival order at a given t).
   */
  async function sqlHitRate(signalSql: string, kind: string, hMs: number): Promise<Record<string, { thinned: number; flat: number; eval: number; hits: number; allEval: number; allHits: number; cand: number }>> {
    const sql = `
      WITH books AS (
        SELECT symbol, epoch_ms(ts_ms) AS t, mid FROM ${glob("raw", "orderbook")} WHERE mid IS NOT NULL AND spread_bps > 0
      ), ends AS (
        SELECT symbol, max(epoch_ms(ts_ms)) AS t_end FROM ${glob("raw", "orderbook")} GROUP BY symbol
      ), breaks AS (
        SELECT symbol, epoch_ms(ts_ms) AS t FROM ${glob("preview", "events")} WHERE type IN ('reconnect', 'ofi_reset')
      ), sig AS (
        SELECT symbol, epoch_ms(ts_ms) AS t, ${signalSql} AS d, row_number() OVER (PARTITION BY symbol ORDER BY filename, file_row_number) AS ord
        FROM read_parquet('${join(dir, "preview", "**", `kind=${kind}`, "*.parquet")}', hive_partitioning = true, filename = true, file_row_number = true)
      ), cand AS (
        SELECT * FROM sig WHERE d <> 0
      ), m0 AS (
        SELECT c.*, b.mid AS m0 FROM cand c ASOF JOIN books b ON c.symbol = b.symbol AND c.t >= b.t
      ), m1 AS (
        SELECT m.*, b.mid AS m1 FROM (SELECT *, t + ${hMs} AS th FROM m0) m ASOF JOIN books b ON m.symbol = b.symbol AND m.th >= b.t
      ), lab AS (
        SELECT m.symbol, m.t, m.d, m.ord, 1e4 * ln(m.m1 / m.m0) AS r FROM m1 m JOIN ends e USING (symbol)
        WHERE m.th <= e.t_end AND NOT EXISTS (SELECT 1 FROM breaks k WHERE k.symbol = m.symbol AND k.t > m.t AND k.t <= m.th)
      ), firsts AS (
        SELECT symbol, t, arg_min(d, ord) AS d, arg_min(r, ord) AS r FROM lab GROUP BY symbol, t
      ), walk AS (
        WITH RECURSIVE w(symbol, t) AS (
          SELECT symbol, min(t) FROM lab GROUP BY symbol
          UNION ALL
          SELECT w.symbol, (SELECT min(l.t) FROM lab l WHERE l.symbol = w.symbol AND l.t >= w.t + ${hMs}) FROM w WHERE w.t IS NOT NULL
        ) SELECT * FROM w WHERE t IS NOT NULL
      ), thin AS (
        SELECT f.* FROM walk JOIN firsts f USING (symbol, t)
      )
      SELECT s.symbol,
        (SELECT count(*) FROM lab WHERE lab.symbol = s.symbol)::INTEGER AS cand,
        (SELECT count(*) FROM thin WHERE thin.symbol = s.symbol)::INTEGER AS thinned,
        (SELECT count(*) FILTER (WHERE r = 0) FROM thin WHERE thin.symbol = s.symbol)::INTEGER AS flat,
        (SELECT count(*) FILTER (WHERE r <> 0) FROM thin WHERE thin.symbol = s.symbol)::INTEGER AS eval,
        (SELECT count(*) FILTER (WHERE d * r > 0) FROM thin WHERE thin.symbol = s.symbol)::INTEGER AS hits,
        (SELECT count(*) FILTER (WHERE r <> 0) FROM lab WHERE lab.symbol = s.symbol)::INTEGER AS allEval,
        (SELECT count(*) FILTER (WHERE d * r > 0) FROM lab WHERE lab.symbol = s.symbol)::INTEGER AS allHits
      FROM (SELECT DISTINCT symbol FROM sig) s`;
    const rows = await query(sql);
    return Object.fromEntries(rows.map((r) => [r.symbol as string, r as unknown as { thinned: number; flat: number; eval: number; hits: number; allEval: number; allHits: number; cand: number }]));
  }

  for (const [signal, kind, sqlDir] of [
    ["fusion", "fusion", "CASE signal WHEN 'buy' THEN 1 WHEN 'sell' THEN -1 ELSE 0 END"],
    ["ofi", "ofi", "CASE WHEN ofi_z >= 2 THEN 1 WHEN ofi_z <= -2 THEN -1 ELSE 0 END"],
  ] as const) {
    for (const h of [1, 10]) {
      test(`${signal} hit rate at H = ${h} s equals the SQL computation (thinned and all rows)`, async () => {
        const want = await sqlHitRate(sqlDir, kind, h * 1000);
        let pooledEval = 0;
        let pooledHits = 0;
        for (const s of SYMBOLS) {
          const row = json.hit_rates.find((r: any) => r.signal === signal && r.horizon_s === h && r.symbol === s && r.scenario === "ALL");
          const w = want[s] ?? { cand: 0, thinned: 0, flat: 0, eval: 0, hits: 0, allEval: 0, allHits: 0 };
          expect({ cand: row.n_candidates, thinned: row.n_thinned, flat: row.n_flat, eval: row.n_eval, hits: row.hits, allEval: row.all_rows.n_eval, allHits: row.all_rows.hits }).toEqual({
            cand: w.cand,
            thinned: w.thinned,
            flat: w.flat,
            eval: w.eval,
            hits: w.hits,
            allEval: w.allEval,
            allHits: w.allHits,
          });
          pooledEval += w.eval;
          pooledHits += w.hits;
        }
        const all = json.hit_rates.find((r: any) => r.signal === signal && r.horizon_s === h && r.symbol === "ALL" && r.scenario === "ALL");
        expect([all.n_eval, all.hits]).toEqual([pooledEval, pooledHits]);
        if (h === 1) expect(pooledEval).toBeGreaterThan(20);
        near(all.hr, pooledEval > 0 ? pooledHits / pooledEval : null);
      }, 60_000);
    }
  }

  test("fusion IC at H = 1 s (1 s grid, latest row ≤ grid time, Spearman with average ranks) equals SQL", async () => {
    const h = 1000;
    const rows = await query(`
      WITH fz AS (
        SELECT symbol, epoch_ms(ts_ms) AS t, score, row_number() OVER (PARTITION BY symbol ORDER BY filename, file_row_number) AS ord
        FROM read_parquet('${join(dir, "preview", "**", "kind=fusion", "*.parquet")}', hive_partitioning = true, filename = true, file_row_number = true)
      ), fl AS (
        SELECT symbol, t, arg_max(score, ord) AS score FROM fz GROUP BY symbol, t
      ), books AS (
        SELECT symbol, epoch_ms(ts_ms) AS t, mid FROM ${glob("raw", "orderbook")} WHERE mid IS NOT NULL AND spread_bps > 0
      ), ends AS (
        SELECT symbol, max(epoch_ms(ts_ms)) AS t_end FROM ${glob("raw", "orderbook")} GROUP BY symbol
      ), breaks AS (
        SELECT symbol, epoch_ms(ts_ms) AS t FROM ${glob("preview", "events")} WHERE type IN ('reconnect', 'ofi_reset')
      ), grid AS (
        SELECT f.symbol, unnest(generate_series((ceil(min(f.t) / 1000) * 1000)::BIGINT, (max(e.t_end) - ${h})::BIGINT, 1000)) AS g
        FROM fl f JOIN ends e USING (symbol) GROUP BY f.symbol
      ), s AS (
        SELECT g.symbol, g.g, g.g + ${h} AS gh, f.score FROM grid g ASOF JOIN fl f ON g.symbol = f.symbol AND g.g >= f.t
      ), m0 AS (
        SELECT s.*, b.mid AS m0 FROM s ASOF JOIN books b ON s.symbol = b.symbol AND s.g >= b.t
      ), m1 AS (
        SELECT m.*, b.mid AS m1 FROM m0 m ASOF JOIN books b ON m.symbol = b.symbol AND m.gh >= b.t
      ), lab AS (
        SELECT symbol, score, 1e4 * ln(m1 / m0) AS r FROM m1
        WHERE NOT EXISTS (SELECT 1 FROM breaks k WHERE k.symbol = m1.symbol AND k.t > m1.g AND k.t <= m1.gh)
      ), ranked AS (
        SELECT symbol,
          rank() OVER (PARTITION BY symbol ORDER BY score) + (count(*) OVER (PARTITION BY symbol, score) - 1) / 2.0 AS rs,
          rank() OVER (PARTITION BY symbol ORDER BY r) + (count(*) OVER (PARTITION BY symbol, r) - 1) / 2.0 AS rr
        FROM lab
      )
      SELECT symbol, corr(rs, rr) AS ic, count(*)::INTEGER AS n FROM ranked GROUP BY symbol`);
    for (const s of SYMBOLS) {
      const row = json.ic.find((r: any) => r.signal === "fusion" && r.horizon_s === 1 && r.symbol === s);
      const want = rows.find((r) => r.symbol === s)!;
      expect(row.n_samples).toBe(want.n);
      expect(want.n as number).toBeGreaterThan(10);
      near(row.pooled_ic, want.ic as number, 1e-9);
    }
  });

  test("too few samples is INSUFFICIENT DATA, not FAIL: stated with its sample sizes for OFI, CVD and fusion at the primary horizon", () => {
    expect(json.verdict.horizon_s).toBe(10);
    expect(json.verdict.lines.map((l: { signal: string }) => l.signal)).toEqual(["fusion", "ofi", "cvd"]);
    for (const l of json.verdict.lines) {
      const row = json.hit_rates.find((r: any) => r.signal === l.signal && r.horizon_s === 10 && r.symbol === "ALL" && r.scenario === "ALL");
      expect(l.n_eval).toBe(row.n_eval);
      // A 30 s run cannot reach 300 thinned samples at 10 s: the signal was not judged, and says why.
      expect(row.n_eval).toBeLessThan(300);
      expect([l.outcome, l.pass]).toEqual(["insufficient_data", false]);
      expect(l.unmet.join(" ")).toContain(`n_eval ${row.n_eval} < 300`);
    }
    expect([json.verdict.outcome, json.verdict.pass]).toEqual(["insufficient_data", false]);
    for (const v of json.verdict.per_symbol) expect(v.outcome).toBe(v.n_eval < 300 ? "insufficient_data" : v.pass ? "pass" : "fail");
    const ev = (s: string) => json.verdict.lines.find((l: { signal: string }) => l.signal === s).n_eval;
    expect(report.stderr).toContain(`report: verdict at H = 10 s: INSUFFICIENT DATA (fusion insufficient data n_eval=${ev("fusion")}, ofi insufficient data n_eval=${ev("ofi")}, cvd insufficient data n_eval=${ev("cvd")})`);
    const [mdPath, , htmlPath] = report.stdout.trim().split("\n");
    const md = readFileSync(mdPath, "utf8");
    expect(md).toContain("Stage-1 acceptance (docs/indicators.md §12.3) at H = 10 s, all symbols pooled: INSUFFICIENT DATA (fusion INSUFFICIENT DATA, OFI INSUFFICIENT DATA, CVD INSUFFICIENT DATA).");
    expect(md).toContain(`- fusion: INSUFFICIENT DATA — `);
    expect(md).toContain(`n_eval = ${ev("fusion")} thinned non-flat samples, 300 needed to judge`);
    expect(md).not.toMatch(/FAIL/);
    // The per-symbol table says the same word, one row per symbol and signal.
    for (const s of SYMBOLS) expect(md.split("\n").filter((x) => x.startsWith(`| ${s} | `) && x.includes(" | INSUFFICIENT DATA | ")).length).toBe(3);
    const html = readFileSync(htmlPath, "utf8");
    expect(html).toContain(`<div class="verdict insufficient_data"><strong>Stage-1 acceptance`);
    expect(html).not.toMatch(/FAIL/);
  });

  test("paper fills are the documented book prices of the trade after the signal; the report and status agree with the Parquet", async () => {
    const fills = await query(`
      SELECT p.symbol, p.event, p.side, p.price, p.reason, p.agg_trade_id, p.signal_agg_trade_id, p.net_pnl, p.fee, p.qty,
             pr.best_buy_fill, pr.best_sell_fill, f.signal
      FROM ${glob("preview", "paper")} p
      JOIN ${glob("raw", "prices")} pr ON pr.symbol = p.symbol AND pr.agg_trade_id = p.agg_trade_id
      LEFT JOIN ${glob("preview", "fusion")} f ON f.symbol = p.symbol AND f.agg_trade_id = p.signal_agg_trade_id
      ORDER BY p.symbol, p.ts_ms, p.position_no, p.event DESC`);
    expect(fills.length).toBeGreaterThan(0);
    for (const r of fills) {
      const buying = (r.event === "open") === (r.side === "long");
      expect(r.price).toBe(buying ? r.best_buy_fill : r.best_sell_fill);
      near(r.fee as number, ((r.qty as number) * (r.price as number) * 5) / 1e4);
      if (r.event === "open") {
        expect(Number(r.agg_trade_id)).toBeGreaterThan(Number(r.signal_agg_trade_id));
        expect(r.signal).toBe(r.side === "long" ? "buy" : "sell");
      }
    }
    const metrics = JSON.parse(readFileSync(join(dir, "artifacts", "metrics.json"), "utf8")) as { symbols: { symbol: string; paper: Record<string, number> }[] };
    for (const s of SYMBOLS) {
      const closes = fills.filter((r) => r.symbol === s && r.event === "close");
      const rep = json.paper.find((x: { symbol: string }) => x.symbol === s);
      if (closes.length === 0) continue;
      expect(rep.trades).toBe(closes.length);
      near(rep.net_pnl, closes.reduce((a, r) => a + (r.net_pnl as number), 0));
      // Trades per observed day: the symbol's seconds are its 1 s features rows.
      const [{ n }] = (await query(`SELECT count(*)::INTEGER AS n FROM ${glob("preview", "features")} WHERE symbol = '${s}'`)) as { n: number }[];
      expect(rep.observed_s).toBe(n);
      near(rep.trades_per_day, (closes.length * 86_400) / n);
      // metrics.json is written after the final flush: the status figures of the whole run.
      const st = metrics.symbols.find((x) => x.symbol === s)!.paper;
      expect(st.trades).toBe(closes.length);
      near(st.equity, closes.reduce((a, r) => a + (r.net_pnl as number), 0));
      expect(st.wins).toBe(closes.filter((r) => (r.net_pnl as number) > 0).length);
      expect(rep.wins).toBe(st.wins);
    }
    const live = (liveStatus.symbols as { symbol: string; paper: Record<string, unknown> | null }[]).find((x) => x.symbol === "BTCUSDT")!;
    expect(live.paper).toMatchObject({ fee_tier: "TM" });
    expect(Object.keys(live.paper!).sort()).toEqual(["equity", "fee_tier", "fees", "halted", "max_drawdown", "position", "sharpe", "signals", "trades", "win_rate", "wins"]);
  });

  test("the HTML opens in headless Chromium without errors, with its charts and verdict", async () => {
    const missing = chromiumMissing();
    if (missing !== undefined) {
      console.warn(`skipped: ${missing}`);
      return;
    }
    const html = report.stdout.trim().split("\n")[2];
    const text = readFileSync(html, "utf8");
    // Self-contained: no script, no external reference.
    expect(text).not.toMatch(/<script|src=|href="http|url\(/i);
    const browser = await launchBrowser();
    try {
      const page = await browser.open(`file://${html}`);
      const shot = await page.screenshot("report-e2e");
      expect(shot.endsWith("report-e2e.png")).toBe(true);
      expect(page.problems).toEqual([]);
      expect(await page.page.locator("svg.chart").count()).toBeGreaterThanOrEqual(7);
      expect(await page.page.locator(".verdict").innerText()).toContain("Stage-1 acceptance");
      // The third outcome has its own, neutral (amber) box: neither the pass green nor the fail red.
      expect(await page.page.locator(".verdict").evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(255, 248, 197)");
      expect(await page.page.locator("h2").allInnerTexts()).toEqual(["Verdict", "Signal validation (docs/indicators.md §12)", "Data quality", "Paper trading", "Testnet trading", "A/B: plain rule against the model filter", "Inputs"]);
      // Every chart drew something: points, bars or lines beyond the axes.
      const marks = await page.page.locator("svg.chart").evaluateAll((els) => els.map((e) => e.querySelectorAll("circle, rect, path").length));
      expect(marks.every((n) => n > 0)).toBe(true);
    } finally {
      await browser.close();
    }
  }, 90_000);
});

test("a Parquet file that cannot be read is left out, and the report says so first: on stderr and above the verdict", async () => {
  const copy = tempDir("report-skipped");
  cpSync(join(dir, "raw"), join(copy, "raw"), { recursive: true });
  cpSync(join(dir, "preview"), join(copy, "preview"), { recursive: true });
  const cvd = listFiles(join(copy, "preview"), /kind=cvd\/.*\.parquet$/)[0]!;
  truncateSync(cvd, 100);
  const day = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const env = { OUTPUT_DIR: join(copy, "raw"), PREVIEW_DIR: join(copy, "preview"), NDJSON_DIR: join(dir, "ndjson"), ARTIFACTS_DIR: join(copy, "artifacts") };
  const r = await runBinary(["report", "--from", yesterday, "--to", day, "--config", join(REPO, "config.toml")], env);
  expect(r.exitCode).toBe(0);
  expect(r.stderr).toMatch(/report: warning: 1 of \d+ Parquet files could not be read and were left out: every figure of the report, the verdict included, is computed without them/);
  const md = readFileSync(r.stdout.trim().split("\n")[0]!, "utf8").split("\n");
  // The title, then the warning, before anything else.
  expect(md[2]).toMatch(/^> \*\*Warning:\*\* 1 of \d+ Parquet files could not be read/);
  // The file is named once in its line under Inputs.
  const listed = md.find((l) => l.includes(cvd))!;
  expect(listed.split(cvd).length).toBe(2);
}, 60_000);

test("a symbol asked for without Parquet in the range is left out of every table and said so; none with data is exit 1", async () => {
  const day = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const raw = join(dir, "raw");
  const preview = join(dir, "preview");
  const env = { OUTPUT_DIR: raw, PREVIEW_DIR: preview, NDJSON_DIR: join(dir, "ndjson"), ARTIFACTS_DIR: join(tempDir("report-absent"), "artifacts") };
  const args = ["report", "--from", yesterday, "--to", day, "--config", join(REPO, "config.toml")];
  // BTCUSDT named twice (any case) is reported once.
  const r = await runBinary([...args, "--symbols", "BTCUSDT,NOSUCHUSDT,btcusdt"], env);
  if (r.exitCode !== 0) console.error(r.stderr);
  expect(r.exitCode).toBe(0);
  const warning = `no Parquet for NOSUCHUSDT between ${yesterday} and ${day} under ${raw} or ${preview}; left out`;
  expect(r.stderr.split("\n").filter((l) => l.includes("NOSUCHUSDT"))).toEqual([`report: warning: ${warning}`]);
  expect(r.stderr).toMatch(/report: \d+ Parquet files for 1 symbol\n/);

  const [mdPath, jsonPath, htmlPath] = r.stdout.trim().split("\n");
  const data = JSON.parse(readFileSync(jsonPath!, "utf8"));
  expect(data.inputs.symbols_without_data).toEqual(["NOSUCHUSDT"]);
  expect(data.symbols).toEqual(["BTCUSDT"]);
  expect([...new Set(data.verdict.per_symbol.map((v: { symbol: string }) => v.symbol))]).toEqual(["BTCUSDT"]);
  expect(data.data_quality.map((q: { symbol: string }) => q.symbol)).toEqual(["BTCUSDT"]);
  expect([...new Set(data.hit_rates.map((h: { symbol: string }) => h.symbol))].sort()).toEqual(["ALL", "BTCUSDT"]);
  expect([...new Set(data.ic.map((h: { symbol: string }) => h.symbol))].sort()).toEqual(["ALL", "BTCUSDT"]);
  // NOSUCHUSDT is in the JSON only where it is said to have no data.
  expect(JSON.stringify(data).split("NOSUCHUSDT").length - 1).toBe(1);

  // The Markdown says so under the title and names the symbol nowhere else: no row, measured or not.
  const md = readFileSync(mdPath!, "utf8").split("\n");
  expect(md[2]).toBe(`> **Warning:** ${warning} of every table, figure and verdict below.`);
  expect(md.filter((l) => l.includes("NOSUCHUSDT"))).toEqual([md[2]]);
  expect(md.some((l) => l.startsWith("| BTCUSDT | fusion | "))).toBe(true);

  const html = readFileSync(htmlPath!, "utf8");
  expect(html).toContain(`<h1>harvestd data-quality and signal-validation report</h1>\n<p class="warning"><strong>Warning:</strong> ${warning} of every table, chart and verdict below.</p>`);
  expect(html.split("NOSUCHUSDT").length - 1).toBe(1);

  // Nothing asked for has data: no report, the existing error.
  const none = await runBinary([...args, "--symbols", "NOSUCHUSDT"], env);
  expect(none.exitCode).toBe(1);
  expect(none.stderr).toContain(`no prices or orderbook Parquet files for ${yesterday} … ${day} (NOSUCHUSDT) under ${raw}`);
  expect(none.stdout).toBe("");
}, 60_000);
