/**
 * Live and training build the same vector: the synthetic market's rows go through the real paper
 * tap (shared strategy, paper executor) with the ModelFilter in front, in the engine's order, and
 * every recorded probability must equal what the training code (dataset.ts) computes for that signal
 * from the same rows. The model has random weights on every input, so any input that differed would
 * show. Also: filter and size modes, and the decision rows' shape; and the warnings of the start
 * check for a model whose own verdict is not "edge", whose out-of-sample trades lose after fees, or
 * whose labels used other exits.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Row, RowKind, RowSink } from "../../src/core/rows.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { symbolSamples } from "../../src/models/dataset.ts";
import { barrierParams } from "../../src/models/labels.ts";
import { ModelFilter, modelConfigProblem, strategyExits } from "../../src/models/live.ts";
import type { ModelFile } from "../../src/models/model-file.ts";
import { modelPredictor } from "../../src/models/predictor.ts";
import { PaperTap, traderParams } from "../../src/trading/paper/paper-tap.ts";
import { tempDir } from "../helpers/binary.ts";
import { makeMarket, randomLogisticModel } from "./models-support.ts";

const KIND_ORDER: Record<string, number> = { orderbook: 0, features: 1, prices: 2, fusion: 3 };

/** Paper trading on, every regime trading without cooldown, no cost model: every signal becomes a question. */
const paperConfig = () =>
  ConfigSchema.parse({
    paper: { enable: true },
    strategy: { regimes: Object.fromEntries(["A_H", "A_L", "Q_H", "Q_L"].map((k) => [k, { cooldown_sec: 0, max_spread_bps: 50 }])) },
    risk: { max_orders_per_min: 1000, cost: { enable: false } },
  });

const randomModel = (seed: number): ModelFile => randomLogisticModel({ seed, threshold: 0.6, flatStd: 3, bias: 0.2 });

function runLive(mode: "filter" | "size"): { decisions: Row[]; paper: Row[]; rows: ReturnType<typeof makeMarket>["rows"]; cfg: ReturnType<typeof ConfigSchema.parse> } {
  const m = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 30, seed: 4, edge: "none" });
  const cfg = paperConfig();
  const decisions: Row[] = [];
  const paper: Row[] = [];
  const sink: RowSink = { append: (k: RowKind, r: Row) => void (k === "model_decisions" ? decisions.push(r) : k === "paper" ? paper.push({ ...r }) : 0) };
  const filter = new ModelFilter(randomModel(3), { path: "", threshold: 0.6, mode }, sink);
  const head = filter.tap(new PaperTap(sink, traderParams(cfg), filter));
  const events: [RowKind, Row][] = [];
  for (const [k, rs] of Object.entries(m.rows)) for (const r of rs) events.push([k as RowKind, r]);
  events.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || KIND_ORDER[a[0]] - KIND_ORDER[b[0]]);
  for (const [k, r] of events) head.append(k, r);
  return { decisions, paper, rows: m.rows, cfg };
}

describe("the model filter in the paper tap", () => {
  test("every live probability equals the training code's for the same signal", () => {
    const { decisions, rows, cfg } = runLive("filter");
    expect(decisions.length).toBeGreaterThan(30);
    const { samples } = symbolSamples("SYNUSDT", { ...rows }, { barrier: barrierParams({ stop_bps: 0, take_profit: [], max_hold_sec: 0.001 }, 0, "T"), strategy: cfg.strategy, signals: "strategy" });
    const predict = modelPredictor(randomModel(3).members);
    const offline = new Map(samples.map((s) => [s.aggTradeId, predict(s)]));
    let compared = 0;
    for (const d of decisions) {
      const p = offline.get(d.agg_trade_id as number);
      if (p === undefined) continue;
      expect(d.probability as number).toBe(p);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(decisions.length - 1);
    // the model decides: some taken, some not, and the decision follows the threshold
    expect(decisions.some((d) => d.taken === true)).toBe(true);
    expect(decisions.some((d) => d.taken === false)).toBe(true);
    for (const d of decisions) expect(d.taken).toBe((d.probability as number) >= 0.6);
  });

  test("skipped signals open no position; size mode scales between p = 0.5 and the threshold", () => {
    const f = runLive("filter");
    const taken = new Set(f.decisions.filter((d) => d.taken === true).map((d) => d.agg_trade_id));
    const opened = f.paper.filter((r) => r.event === "open").map((r) => r.signal_agg_trade_id);
    expect(opened.length).toBeGreaterThan(0);
    for (const id of opened) expect(taken.has(id)).toBe(true);
    const s = runLive("size");
    for (const d of s.decisions) {
      const p = d.probability as number;
      expect(d.size_factor).toBeCloseTo(p >= 0.6 ? 1 : p < 0.5 ? 0 : (p - 0.5) / 0.1, 12);
      expect(d.taken).toBe((d.size_factor as number) > 0);
    }
  });
});

describe("a second strategy in front (the testnet trader's place)", () => {
  test("asks about signals whose rows the filter has already seen, and gets the paper strategy's answer", async () => {
    const { SharedStrategy } = await import("../../src/trading/strategy/strategy.ts");
    const { PaperTrader } = await import("../../src/trading/paper/trader.ts");
    const m = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 20, seed: 6, edge: "none" });
    const cfg = paperConfig();
    const decisions: Row[] = [];
    const sink: RowSink = { append: (k: RowKind, r: Row) => void (k === "model_decisions" ? decisions.push(r) : 0) };
    const filter = new ModelFilter(randomModel(3), { path: "", threshold: 0.6, mode: "filter" }, sink);
    const below = filter.tap(new PaperTap(sink, traderParams(cfg), filter));
    // like the testnet trader's tap: its own strategy decides on the row, then passes it down
    const other = new SharedStrategy({ strategy: cfg.strategy, risk: cfg.risk, takerBps: 5 });
    other.filter = filter.forExecutor("testnet");
    // its fills simulated too, so that it keeps asking (its own paper rows are dropped)
    const executor = new PaperTrader("SYNUSDT", other, { takerBps: 5, feeTier: "T" }, { append() {} });
    const head = filter.head({ append: (k: RowKind, r: Row) => { executor.onRow(k as "prices", r); below.append(k, r); } });
    const events: [RowKind, Row][] = [];
    for (const [k, rs] of Object.entries(m.rows)) for (const r of rs) events.push([k as RowKind, r]);
    events.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || KIND_ORDER[a[0]] - KIND_ORDER[b[0]]);
    for (const [k, r] of events) head.append(k, r);
    const testnet = decisions.filter((d) => d.executor === "testnet");
    const paper = new Map(decisions.filter((d) => d.executor === "paper").map((d) => [d.agg_trade_id, d.probability]));
    expect(testnet.length).toBeGreaterThan(10);
    for (const d of testnet) {
      expect(d.reason).toBeNull();
      if (paper.has(d.agg_trade_id)) expect(d.probability).toBe(paper.get(d.agg_trade_id)!);
    }
    // rows were observed once: the same probabilities as the training code computes
    const { samples } = symbolSamples("SYNUSDT", { ...m.rows }, { barrier: barrierParams({ stop_bps: 0, take_profit: [], max_hold_sec: 0.001 }, 0, "T"), strategy: cfg.strategy, signals: "strategy" });
    const predict = modelPredictor(randomModel(3).members);
    const offline = new Map(samples.map((x) => [x.aggTradeId, predict(x)]));
    let compared = 0;
    for (const d of decisions) {
      if (!offline.has(d.agg_trade_id as number)) continue;
      expect(d.probability as number).toBe(offline.get(d.agg_trade_id as number)!);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(decisions.length - 2);
  });
});

describe("the start check of [model] (validate, run, replay): accepted with warnings", () => {
  const dir = tempDir("models-live-warn");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let k = 0;
  type Editable = { -readonly [K in keyof ModelFile]: ModelFile[K] };
  /** The random model, changed by `edit`, in a file; the check's problem and the warnings it gave. */
  function check(edit: (m: Editable) => void): { path: string; problem: string | null; warnings: string[] } {
    const m: Editable = structuredClone(randomModel(3));
    edit(m);
    const path = join(dir, `m${k++}.json`);
    writeFileSync(path, JSON.stringify(m));
    const warnings: string[] = [];
    const problem = modelConfigProblem({ path, threshold: 0.6, mode: "filter" }, strategyExits(paperConfig()), (w) => void warnings.push(w));
    return { path, problem, warnings };
  }
  const exits = strategyExits(paperConfig());
  const sameExits = { stop_bps: exits.stopBps, take_profit: exits.takeProfit, max_hold_ms: exits.maxHoldMs, taker_bps: exits.takerBps, fee_tier: exits.feeTier };

  test("a model with an edge, trained on the strategy's exits: no warning", () => {
    const r = check((m) => {
      m.verdict = "edge";
      m.training = { ...m.training, barrier: sameExits };
    });
    expect(r.problem).toBeNull();
    expect(r.warnings).toEqual([]);
  });

  test("its own verdict \"no edge\": accepted, one warning naming the file, the verdict and its AUC", () => {
    const r = check((m) => {
      m.oos = { ...m.oos, auc: 0.512, auc_lo: 0.47, auc_hi: 0.554 };
      m.training = { ...m.training, barrier: sameExits };
    });
    expect(r.problem).toBeNull();
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toStartWith(`model file ${r.path}: its own verdict is "no edge", out-of-sample AUC 0.512 [0.470, 0.554]`);
  });

  test("its own verdict \"edge\" but its out-of-sample trades lose after fees, or it took none: accepted, one warning each", () => {
    const lose = check((m) => {
      m.verdict = "edge";
      m.trades = { verdict: "lose", threshold: 0.5, n: 236, wins: 160, mean_ret_bps: -1.04 };
      m.training = { ...m.training, barrier: sameExits };
    });
    expect(lose.problem).toBeNull();
    expect(lose.warnings).toEqual([
      `model file ${lose.path}: its own verdict is "edge" in ranking, but out of sample the 236 trades it takes (p ≥ 0.5) lose 1.0 bps on average after fees: it is used only because it is configured — test it, do not trade on it`,
    ]);
    const none = check((m) => {
      m.verdict = "edge";
      m.trades = { verdict: "none", threshold: 0.9, n: 0, wins: 0, mean_ret_bps: null };
      m.training = { ...m.training, barrier: sameExits };
    });
    expect(none.warnings).toEqual([
      `model file ${none.path}: its own verdict is "edge" in ranking, but out of sample no signal reached the threshold 0.9, so it would take no trades: it is used only because it is configured — test it, do not trade on it`,
    ]);
  });

  test("trades that earn, a \"no edge\" file (its one warning says enough) and a file from before `trades`: no trades warning", () => {
    const earn = check((m) => {
      m.verdict = "edge";
      m.trades = { verdict: "earn", threshold: 0.6, n: 50, wins: 30, mean_ret_bps: 2.5 };
      m.training = { ...m.training, barrier: sameExits };
    });
    expect({ problem: earn.problem, warnings: earn.warnings }).toEqual({ problem: null, warnings: [] });
    const noEdge = check((m) => {
      m.trades = { verdict: "lose", threshold: 0.6, n: 50, wins: 20, mean_ret_bps: -3 };
      m.training = { ...m.training, barrier: sameExits };
    });
    expect(noEdge.warnings).toHaveLength(1);
    expect(noEdge.warnings[0]).toContain('its own verdict is "no edge"');
    const before = check((m) => {
      m.verdict = "edge";
      delete m.trades;
      m.training = { ...m.training, barrier: sameExits };
    });
    expect({ problem: before.problem, warnings: before.warnings }).toEqual({ problem: null, warnings: [] });
  });

  test("trained on other exits than the strategy's now: one warning naming each setting that differs", () => {
    const r = check((m) => {
      m.verdict = "edge";
      m.training = { ...m.training, barrier: { ...sameExits, stop_bps: exits.stopBps + 7, max_hold_ms: exits.maxHoldMs + 5000 } };
    });
    expect(r.problem).toBeNull();
    expect(r.warnings).toEqual([
      `model file ${r.path} was trained on labels with other exits than the strategy's now (stop ${exits.stopBps + 7} bps, now ${exits.stopBps} bps; time stop ${exits.maxHoldMs / 1000 + 5} s, now ${exits.maxHoldMs / 1000} s): its probabilities are for those trades, not these`,
    ]);
  });

  test("a file that cannot be used is a problem, with no warning", () => {
    const r = check((m) => delete (m.members[0].body as Record<string, unknown>).weights);
    expect(r.problem).toContain("members[0].body.weights");
    expect(r.warnings).toEqual([]);
  });
});
