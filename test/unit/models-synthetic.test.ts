/**
 * Training on synthetic markets whose truth is known (models-support.ts), written as real Parquet:
 * - a random walk independent of order flow: every family scores AUC ≈ 0.5 out of sample on the
 *   purged walk-forward and the verdict is "no edge", while a random K-fold on the same data scores
 *   clearly higher (its training rows share label windows with its test rows): the purge matters;
 * - a planted regime-dependent edge the plain rule misses: trees and the MLP find it (AUC ≥ 0.6).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runTraining, type TrainReport, type TrainRequest } from "../../src/models/train.ts";
import { tempDir } from "../helpers/binary.ts";
import { makeMarket, syntheticTrainRequest, writeMarket } from "./models-support.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const START = Date.UTC(2026, 0, 5, 10);

async function train(edge: "none" | "regime", minutes: number, families: TrainRequest["families"], extra: Partial<TrainRequest> = {}): Promise<{ report: TrainReport; out: string }> {
  const root = tempDir(`models-${edge}`);
  dirs.push(root);
  const stores = writeMarket(root, "SYNUSDT", makeMarket({ symbol: "SYNUSDT", startMs: START, minutes, seed: 7, edge, tradeMs: 500 }));
  const out = join(root, "model");
  const { report } = await runTraining(
    syntheticTrainRequest(stores, out, families, extra),
    () => {},
  );
  return { report, out };
}

describe("a random walk independent of order flow", () => {
  test("every family: out-of-sample AUC within 0.45–0.55, verdict no edge; random K-fold scores higher", async () => {
    const { report, out } = await train("none", 240, ["logistic", "gbdt", "mlp", "lstm", "cnn"]);
    expect(report.dataset.samples).toBeGreaterThan(600);
    for (const r of report.results) {
      const a = r.walk_forward.auc!;
      expect(a.auc).toBeGreaterThanOrEqual(0.45);
      expect(a.auc).toBeLessThanOrEqual(0.55);
      expect(r.verdict).toBe("no edge");
    }
    expect(report.results.some((r) => r.family === "ensemble")).toBe(false);
    expect(report.verdict.startsWith("no edge")).toBe(true);
    const gbdt = report.results.find((r) => r.family === "gbdt")!;
    expect(gbdt.random_kfold_auc!).toBeGreaterThan(gbdt.walk_forward.auc!.auc + 0.04);
    // the files a user gets
    for (const f of ["model.json", "logistic.model.json", "cnn.model.json", "report.md", "report.json", "report.html"]) expect(existsSync(join(out, f))).toBe(true);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("**Verdict: no edge");
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("<svg");
  }, 240_000);
});

describe("a planted, regime-dependent edge", () => {
  test("trees and MLP find it (AUC ≥ 0.6) where the plain rule wins about half the time", async () => {
    const { report } = await train("regime", 240, ["gbdt", "mlp"], { randomKFold: [] });
    for (const f of ["gbdt", "mlp"]) {
      const r = report.results.find((x) => x.family === f)!;
      expect(r.walk_forward.auc!.auc).toBeGreaterThanOrEqual(0.6);
      expect(r.verdict).toBe("edge");
      // the plain rule on the same samples: no better than a coin
      expect(r.walk_forward.plain.hit_rate!).toBeLessThan(0.56);
      expect(r.walk_forward.taken.hit_rate!).toBeGreaterThan(r.walk_forward.plain.hit_rate! + 0.1);
    }
    expect(report.chosen.name).toBe("ensemble");
    expect(report.verdict.startsWith("edge")).toBe(true);
  }, 240_000);
});

describe("determinism", () => {
  test("the same seed gives the same model files (but the creation time)", async () => {
    const a = await train("regime", 40, ["logistic", "gbdt", "mlp"], { randomKFold: [], folds: 2, epochs: { mlp: 3 } });
    const b = await train("regime", 40, ["logistic", "gbdt", "mlp"], { randomKFold: [], folds: 2, epochs: { mlp: 3 } });
    for (const f of ["logistic", "gbdt", "mlp", "model"]) {
      const read = (out: string) => ({ ...JSON.parse(readFileSync(join(out, f === "model" ? "model.json" : `${f}.model.json`), "utf8")), created_at: null });
      expect(read(a.out)).toEqual(read(b.out));
    }
    const c = await train("regime", 40, ["mlp"], { randomKFold: [], folds: 2, epochs: { mlp: 3 }, seed: 2 });
    expect(JSON.parse(readFileSync(join(c.out, "mlp.model.json"), "utf8")).members).not.toEqual(JSON.parse(readFileSync(join(a.out, "mlp.model.json"), "utf8")).members);
  }, 120_000);
});

describe("barriers that make every signal lose", () => {
  test("refuse to train, saying the signals lost as trades (not as data) and which settings decide it", async () => {
    // A take-profit no move reaches and fees of 50 bps a leg: every round trip is a loss.
    const err = await train("none", 20, ["logistic"], { barrier: { stopBps: 10_000, takeProfit: [{ at_bps: 10_000, fraction: 1 }], maxHoldMs: 5_000, takerBps: 50, feeTier: "T" } }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/^every one of the \d+ labelled signals was a losing trade under the strategy's barriers \(stop 10000 bps, take-profit 10000 bps, time stop 5 s, taker fees on each leg\): nothing to learn\. /);
    expect(err).toContain("strategy.stop_bps / strategy.take_profit / strategy.max_hold_sec");
  }, 60_000);
});
