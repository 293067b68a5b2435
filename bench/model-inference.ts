/**
 * Model inference cost per signal on this machine (issue 14: p99 ≤ 1 ms for logistic, trees and MLP,
 * ≤ 10 ms for the sequence models). Trains each family once on a synthetic market, then replays that
 * market's rows through the live filter (ModelFilter: the feature vector from the rows, then the
 * model) and times every decision — the whole live path, not the model alone. For comparison it
 * also times TensorFlow.js `predict` on the same LSTM, which inference does not use. The verdict uses
 * the p99 of each signal's best time over the passes (preemption on a shared machine removed); the
 * raw p99 is printed beside it.
 *
 *   bun bench/model-inference.ts [--quick]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Row, RowKind } from "../src/core/rows.ts";
import { FAMILIES, type FamilyName } from "../src/models/families/types.ts";
import { ModelFilter } from "../src/models/live.ts";
import { loadModelFile } from "../src/models/model-file.ts";
import { EntrySignals } from "../src/models/signals.ts";
import { runTraining } from "../src/models/train.ts";
import { tfReady } from "../src/models/tf.ts";
import { SEQ_CHANNELS, SEQ_LEN } from "../src/models/features.ts";
import type { SignalContext } from "../src/trading/strategy/contract.ts";
import { StrategyParamsSchema } from "../src/trading/strategy/params.ts";
import { makeMarket, writeMarket } from "../test/unit/models-support.ts";
import { load, printTable, QUICK, quantiles, writeResult } from "./lib/report.ts";

const startLoad = load();
const root = mkdtempSync(join(tmpdir(), "harvestd-bench-models-"));
const minutes = QUICK ? 40 : 120;
const market = makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes, seed: 5, edge: "regime", tradeMs: 500 });
const stores = writeMarket(root, "SYNUSDT", market);
const strategy = StrategyParamsSchema.parse({});
const t0 = performance.now();
await runTraining(
  {
    ...stores,
    from: "2026-01-05",
    to: "2026-01-05",
    symbols: null,
    families: FAMILIES,
    out: join(root, "m"),
    seed: 1,
    folds: 2,
    threshold: 0.6,
    barrier: { stopBps: 8, takeProfit: [{ at_bps: 8, fraction: 1 }], maxHoldMs: 20_000, takerBps: 1, feeTier: "T" },
    strategy,
    signals: "strategy",
    codeVersion: "bench",
    epochs: { mlp: 5, lstm: 1, cnn: 1 },
    randomKFold: [],
  },
  () => {},
);
const trainMs = performance.now() - t0;

// the rows in the engine's order
const order: Record<string, number> = { orderbook: 0, features: 1, prices: 2, fusion: 3 };
const events: [RowKind, Row][] = [];
for (const [k, rows] of Object.entries(market.rows)) for (const r of rows) events.push([k as RowKind, r]);
events.sort((a, b) => (a[1].ts_ms as number) - (b[1].ts_ms as number) || order[a[0]]! - order[b[0]]!);

const nullSink = { append() {} };
const results: Record<string, unknown>[] = [];
for (const name of [...FAMILIES, "ensemble"] as (FamilyName | "ensemble")[]) {
  const m = loadModelFile(join(root, "m", `${name}.model.json`));
  if (!m.ok) continue;
  const filter = new ModelFilter(m.model, { path: "", threshold: 0.6, mode: "filter" }, nullSink);
  const entries = new EntrySignals(strategy);
  const times: number[] = [];
  const passes: number[][] = [];
  // pass 0 warms the JIT up and is not timed
  for (let pass = 0; pass <= (QUICK ? 1 : 3); pass++) {
    const own: number[] = [];
    if (pass > 0) passes.push(own);
    for (const [k, r] of events) {
      filter.observe(k, r);
      if (k === "prices") entries.onPrices(r);
      if (k !== "fusion") continue;
      const side = entries.onFusion(r);
      if (side === null) continue;
      const ctx = { symbol: "SYNUSDT", ts_ms: r.ts_ms, agg_trade_id: r.agg_trade_id, side, score: r.score, regime: r.scenario_2x2 } as unknown as SignalContext;
      const a = performance.now();
      filter.decide(ctx);
      const dt = performance.now() - a;
      if (pass > 0) {
        times.push(dt);
        own.push(dt);
      }
    }
    filter.forget("SYNUSDT");
  }
  const q = quantiles(times, 4);
  // Each signal is decided once per pass on the same state: the smallest of its timings drops the
  // moments another process held the core (this machine is shared; the load is printed).
  const best = passes[0]!.map((_, i) => Math.min(...passes.map((p) => p[i]!)));
  const qb = quantiles(best, 4);
  const limit = name === "lstm" || name === "cnn" || (name === "ensemble" && m.model.members.some((x) => x.family === "lstm" || x.family === "cnn")) ? 10 : 1;
  results.push({ model: name, decisions: q.n, p50_ms: q.p50, p99_ms: q.p99, max_ms: q.max, p99_best_of_passes_ms: qb.p99, limit_ms: limit, ok: (qb.p99 ?? Infinity) <= limit ? "yes" : "NO" });
}

// TensorFlow.js predict on a same-shaped LSTM, one sequence at a time (what inference avoids)
const { tf, tfl } = await tfReady();
const lstm = tfl.sequential();
lstm.add(tfl.layers.lstm({ inputShape: [SEQ_LEN, SEQ_CHANNELS.length], units: 8, recurrentActivation: "sigmoid" }));
lstm.add(tfl.layers.dense({ units: 1, activation: "sigmoid" }));
const x = tf.zeros([1, SEQ_LEN, SEQ_CHANNELS.length]);
const tfTimes: number[] = [];
for (let i = 0; i < (QUICK ? 200 : 1000); i++) {
  const a = performance.now();
  const y = lstm.predict(x) as ReturnType<typeof tf.zeros>;
  y.dataSync();
  y.dispose();
  tfTimes.push(performance.now() - a);
}
const tq = quantiles(tfTimes, 4);
results.push({ model: "lstm via tfjs predict (not used)", decisions: tq.n, p50_ms: tq.p50, p99_ms: tq.p99, max_ms: tq.max, limit_ms: 10, ok: "-" });

printTable(results);
console.log(`training all families once (${minutes} min synthetic market, 2 folds, short epochs): ${(trainMs / 1000).toFixed(1)} s`);
console.log(`wrote ${writeResult("model-inference", startLoad, { results, train_s: Math.round(trainMs / 100) / 10 })}`);
rmSync(root, { recursive: true, force: true });
