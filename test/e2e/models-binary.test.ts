/**
 * Issue 14 end to end with the compiled binary: record real traffic from the fake exchange, replay
 * the raw log into a fresh store, `harvestd train` on that store, run again with the model as the
 * strategy's filter (decisions written as kind=model_decisions, read back by DuckDB), check that every
 * live probability equals the one training code computes from the stored rows, refuse a model whose
 * features differ (exit 78), warn once at start for a model whose trades lose after fees, and find the
 * A/B section in `harvestd report`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, runBinary, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { query } from "../helpers/duckdb.ts";
import { buildDataset } from "../../src/models/dataset.ts";
import { barrierParams } from "../../src/models/labels.ts";
import { loadModelFile } from "../../src/models/model-file.ts";
import { modelPredictor } from "../../src/models/predictor.ts";
import { ConfigSchema } from "../../src/config/schema.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
const TODAY = new Date().toISOString().slice(0, 10);
// Low entry thresholds, no cooldown, short barriers, no fees: many signals, and both wins and losses,
// within a short recording.
const CONFIG = `
[regime]
fee_tier = "ZERO"
[paper]
enable = true
[paper.fee_tiers.ZERO]
taker_bps = 0
maker_bps = 0
[strategy]
min_consistency = 0.0
stop_bps = 3
take_profit = [{ at_bps = 3, fraction = 1 }]
max_hold_sec = 10
[strategy.regimes.Q_H]
entry = 0.3
exit = 0.1
cooldown_sec = 0
max_spread_bps = 50
[strategy.regimes.A_H]
entry = 0.3
exit = 0.1
cooldown_sec = 0
max_spread_bps = 50
[strategy.regimes.A_L]
entry = 0.3
exit = 0.1
cooldown_sec = 0
max_spread_bps = 50
[strategy.regimes.Q_L]
entry = 0.3
exit = 0.1
cooldown_sec = 0
max_spread_bps = 50
[risk]
max_orders_per_min = 1000
[risk.cost]
enable = false
`;

let fake: FakeExchange;
let dir: string;
let config: string;
let train: RunResult;
let live: RunResult;
let report: RunResult;
let refused: RunResult;
let losing: RunResult;

async function collect(sub: string, extra: string, seconds: number): Promise<RunResult> {
  const cfgPath = join(dir, `${sub}.toml`);
  writeFileSync(cfgPath, CONFIG + extra);
  const run = startBinary(["run", "--config", cfgPath], collectorEnv(fake, SYMBOLS, join(dir, sub), freePort(), { PARQUET_ROTATE_SEC: "2", ORDERBOOK_ROTATE_SEC: "2" }));
  await waitFor("both routes connected", () => (fake.openConnections().length >= 2 ? true : undefined), 15_000);
  await Bun.sleep(seconds * 1000);
  return run.stop("SIGTERM");
}

beforeAll(async () => {
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 8 });
  dir = tempDir("models-e2e");
  config = join(dir, "train.toml");
  writeFileSync(config, CONFIG);
  // 1. a recording, replayed into a fresh store
  const rec = await collect("rec", "", 14);
  if (rec.exitCode !== 0) throw new Error(`recording run failed: ${rec.stderr}`);
  const rep = await runBinary(["replay", join(dir, "rec", "ndjson"), "--out", join(dir, "store"), "--config", config], { ARTIFACTS_DIR: join(dir, "store", "artifacts") });
  if (rep.exitCode !== 0) throw new Error(`replay failed: ${rep.stderr}`);
  // 2. training on the replayed store
  train = await runBinary(["train", "--from", TODAY, "--to", TODAY, "--models", "logistic,gbdt,mlp", "--folds", "3", "--signals", "strategy", "--out", join(dir, "models", "m1"), "--config", config], {
    OUTPUT_DIR: join(dir, "store", "raw"),
    PREVIEW_DIR: join(dir, "store", "preview"),
  });
  if (train.exitCode !== 0) throw new Error(`train failed: ${train.stderr}`);
  // 3. a run with the model as the filter (threshold 0.5 so that some signals are taken and some not)
  const model = join(dir, "models", "m1", "model.json");
  live = await collect("live", `[model]\npath = "${model}"\nthreshold = 0.5\n`, 8);
  // 4. the report of that run
  const liveCfg = join(dir, "live.toml");
  report = await runBinary(["report", "--from", TODAY, "--to", TODAY, "--config", liveCfg], collectorEnv(fake, SYMBOLS, join(dir, "live"), freePort()));
  // 5. a model whose feature order is not this binary's
  const bad = JSON.parse(readFileSync(model, "utf8"));
  [bad.features.flat[0], bad.features.flat[1]] = [bad.features.flat[1], bad.features.flat[0]];
  writeFileSync(join(dir, "bad.json"), JSON.stringify(bad));
  writeFileSync(join(dir, "bad.toml"), `${CONFIG}[model]\npath = "${join(dir, "bad.json")}"\n`);
  refused = await runBinary(["run", "--config", join(dir, "bad.toml")], collectorEnv(fake, SYMBOLS, join(dir, "bad"), freePort()));
  // 6. the trained model as if it ranked well but its trades lost after fees: run warns once at start
  const lose = { ...JSON.parse(readFileSync(model, "utf8")), verdict: "edge", trades: { verdict: "lose", threshold: 0.5, n: 120, wins: 80, mean_ret_bps: -1.24 } };
  writeFileSync(join(dir, "lose.json"), JSON.stringify(lose));
  losing = await collect("lose", `[model]\npath = "${join(dir, "lose.json")}"\nthreshold = 0.5\n`, 1);
}, 400_000);

afterAll(async () => {
  await fake?.stop();
});

describe("harvestd train → run with [model] → report (compiled binary, fake exchange)", () => {
  test("train writes model files and a report with a verdict, progress on stderr", () => {
    const out = join(dir, "models", "m1");
    for (const f of ["model.json", "logistic.model.json", "gbdt.model.json", "mlp.model.json", "report.md", "report.json", "report.html"]) expect(existsSync(join(out, f))).toBe(true);
    expect(train.stdout.split("\n").filter(Boolean).length).toBeGreaterThanOrEqual(7);
    expect(train.stderr).toContain("walk-forward fold 1/3");
    const r = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(r.dataset.samples).toBeGreaterThanOrEqual(40);
    expect(r.verdict).toMatch(/^(edge|no edge)/);
    const m = loadModelFile(join(out, "model.json"));
    expect(m.ok).toBe(true);
    expect(m.ok && m.model.training.data_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("run with the model exits 0 and writes one model_decisions row per asked signal", async () => {
    if (live.exitCode !== 0) console.error(live.stderr);
    expect(live.exitCode).toBe(0);
    const rows = await query(`SELECT symbol, agg_trade_id, probability, threshold, taken, size_factor, mode, model FROM read_parquet('${join(dir, "live", "preview")}/**/kind=model_decisions/*.parquet', hive_partitioning = false) ORDER BY symbol, agg_trade_id`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.mode).toBe("filter");
      if (r.probability !== null) expect(r.taken).toBe((r.probability as number) >= 0.5);
    }
  });

  test("live probabilities equal those computed by the training code from the stored rows", async () => {
    const rows = await query(`SELECT symbol, agg_trade_id, probability FROM read_parquet('${join(dir, "live", "preview")}/**/kind=model_decisions/*.parquet', hive_partitioning = false) WHERE probability IS NOT NULL`);
    const m = loadModelFile(join(dir, "models", "m1", "model.json"));
    if (!m.ok) throw new Error(m.error);
    const predict = modelPredictor(m.model.members);
    const cfg = ConfigSchema.parse({ paper: { enable: true } });
    const ds = await buildDataset(
      {
        rawDir: join(dir, "live", "raw"),
        previewDir: join(dir, "live", "preview"),
        from: TODAY,
        to: TODAY,
        symbols: SYMBOLS,
        barrier: barrierParams({ stop_bps: 1e9, take_profit: [], max_hold_sec: 0.001 }, 0, "T"),
        signals: "strategy",
        strategy: { ...cfg.strategy, min_consistency: 0, regimes: Object.fromEntries(["Q_H", "A_H", "A_L", "Q_L"].map((k) => [k, { enable: true, entry: 0.3, exit: 0.1, cooldown_sec: 0, max_spread_bps: 50 }])) as typeof cfg.strategy.regimes },
      },
      () => {},
    );
    const offline = new Map(ds.samples.map((s) => [`${s.symbol}:${s.aggTradeId}`, predict(s)]));
    let compared = 0;
    for (const r of rows) {
      const p = offline.get(`${r.symbol}:${r.agg_trade_id}`);
      if (p === undefined) continue; // at the very end of the data (no label window)
      expect(r.probability as number).toBeCloseTo(p, 12);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    expect(compared).toBeGreaterThanOrEqual(rows.length - 2 * SYMBOLS.length);
  });

  test("the report has the A/B section with the acceptance rule", () => {
    if (report.exitCode !== 0) console.error(report.stderr);
    expect(report.exitCode).toBe(0);
    const md = readFileSync(report.stdout.split("\n").find((l) => l.endsWith(".md"))!, "utf8");
    expect(md).toContain("## A/B: plain rule against the model filter");
    expect(md).toContain("more than 5 %");
    expect(md).toMatch(/\| all \| model-filtered \|/);
    const json = JSON.parse(readFileSync(report.stdout.split("\n").find((l) => l.endsWith(".json"))!, "utf8"));
    expect(json.ab.per_symbol.length).toBeGreaterThan(0);
    expect(json.ab.out_of_sample).toContain("NOT out of sample");
    const html = readFileSync(report.stdout.split("\n").find((l) => l.endsWith(".html"))!, "utf8");
    expect(html).toContain("A/B: plain rule against the model filter");
  });

  test("train records in each model file what its taken trades did after fees, next to the verdict", () => {
    const m = JSON.parse(readFileSync(join(dir, "models", "m1", "model.json"), "utf8"));
    const r = JSON.parse(readFileSync(join(dir, "models", "m1", "report.json"), "utf8"));
    const chosen = r.results.find((x: { family: string }) => x.family === r.chosen.name);
    const taken = chosen.walk_forward.taken;
    expect(m.trades).toEqual({ verdict: taken.n === 0 ? "none" : taken.mean_ret_bps > 0 ? "earn" : "lose", threshold: r.request.threshold, n: taken.n, wins: taken.wins, mean_ret_bps: taken.mean_ret_bps });
  });

  test("run with a model whose own verdict is edge but whose trades lose after fees warns once at start, and runs", () => {
    if (losing.exitCode !== 0) console.error(losing.stderr);
    expect(losing.exitCode).toBe(0);
    const warnings = losing.stderr.split("\n").filter((l) => l.startsWith("harvestd: warning: model.path:"));
    expect(warnings).toEqual([
      `harvestd: warning: model.path: model file ${join(dir, "lose.json")}: its own verdict is "edge" in ranking, but out of sample the 120 trades it takes (p ≥ 0.5) lose 1.2 bps on average after fees: it is used only because it is configured — test it, do not trade on it`,
    ]);
  });

  test("a model whose feature order differs is refused at start with exit 78", () => {
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr).toContain("model.path");
    expect(refused.stderr).toContain("flat features differ at position 0");
  });
});
