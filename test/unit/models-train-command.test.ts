/**
 * `harvestd train`'s arguments (the command line's shared parse, then train's checks of the values)
 * and its run around the models: a symbol named twice is read once;
 * an --out that is a file is refused before any data is read; a reused --out loses an earlier run's
 * files (only those); --signals strategy with every regime's entry rule off says so; and a model that
 * ranks signals well but whose trades lose after fees is not headlined as a plain "edge", its model
 * files record that the trades lose, and the start check of `[model]` warns for it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "../../src/cli/main.ts";
import { trainArgs, type TrainArgs } from "../../src/models/command.ts";
import { trainingHeadline } from "../../src/models/headline.ts";
import { modelConfigProblem } from "../../src/models/live.ts";
import { scores, verdictOf } from "../../src/models/metrics.ts";
import { runTraining, type TrainReport } from "../../src/models/train.ts";
import { StrategyParamsSchema } from "../../src/trading/strategy/params.ts";
import { tempDir } from "../helpers/binary.ts";
import { prng } from "../helpers/prng.ts";
import { makeMarket, syntheticTrainRequest, writeMarket } from "./models-support.ts";

const root = tempDir("models-train-command");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const BASE = ["--from", "2026-01-05", "--to", "2026-01-05"];

/** `harvestd train ARGV` as the command line reads it: the shared parse, then train's own checks of the values. */
const trainArgsOf = (argv: readonly string[]): TrainArgs | string => trainArgs(parse(["train", ...argv]));

describe("train arguments", () => {
  test("a symbol named twice, in any case, is read once", () => {
    const a = trainArgsOf([...BASE, "--out", join(root, "m"), "--symbols", "btcusdt,BTCUSDT, ethusdt,BtcUsdt"]) as TrainArgs;
    expect(typeof a).toBe("object");
    expect(a.symbols).toEqual(["BTCUSDT", "ETHUSDT"]);
    expect((trainArgsOf([...BASE, "--out", join(root, "m"), "--symbols", "all"]) as TrainArgs).symbols).toBeNull();
  });

  test("the shared parse reads every train option; defaults fill what is not given", () => {
    const out = join(root, "m");
    expect(trainArgsOf([...BASE, "--out", out])).toEqual({ from: "2026-01-05", to: "2026-01-05", symbols: null, families: ["logistic", "gbdt", "mlp", "lstm", "cnn"], out, seed: 1, folds: 5, signals: "fusion" });
    const given = trainArgsOf(["--from=2026-01-04", "--to", "2026-01-05", "--out", out, "--models", "GBDT, logistic,gbdt", "--seed", "7", "--folds", "3", "--signals", "strategy"]);
    expect(given).toEqual({ from: "2026-01-04", to: "2026-01-05", symbols: null, families: ["gbdt", "logistic"], out, seed: 7, folds: 3, signals: "strategy" });
    // a negative value is the option's (joined by the shared parse), then refused by train's check
    expect(trainArgsOf([...BASE, "--out", out, "--folds", "-3"])).toBe('train --folds must be a whole number from 2 to 20 (got "-3")');
    // what the shared parse refuses never reaches train's checks
    expect(() => parse(["train", ...BASE, "--out", out, "--threads", "2"])).toThrow("train does not take --threads (it takes --config, --symbols, --set, --from, --to, --out, --models, --seed, --folds, --signals)");
    expect(() => parse(["train", ...BASE, "--out", out, "--symbols", "BTC_USDT"])).toThrow('--symbols: "BTC_USDT" is not a symbol');
    expect(() => parse(["report", ...BASE, "--seed", "3"])).toThrow("report does not take --seed");
  });

  test("--out naming a file (or a path under one) is a one-line problem; a folder, or none yet, is fine", () => {
    const file = join(root, "taken.json");
    writeFileSync(file, "{}");
    expect(trainArgsOf([...BASE, "--out", file])).toBe(`train --out ${file} is a file, not a folder (the model files and the report are written into a folder)`);
    const under = trainArgsOf([...BASE, "--out", join(file, "m1")]);
    expect(under).toBe(`train --out ${join(file, "m1")}: ${file} is a file, not a folder (the model files and the report are written into a folder)`);
    expect(typeof trainArgsOf([...BASE, "--out", root])).toBe("object");
    expect(typeof trainArgsOf([...BASE, "--out", join(root, "new", "deeper")])).toBe("object");
  });
});

describe("train with --signals strategy and every regime's entry rule off", () => {
  test("says no regime's entry rule is enabled, naming the keys, instead of asking for more data", async () => {
    const stores = writeMarket(join(root, "off"), "SYNUSDT", makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 10, seed: 7, edge: "none", tradeMs: 500 }));
    const off = StrategyParamsSchema.parse({ regimes: Object.fromEntries(["A_H", "A_L", "Q_H", "Q_L"].map((k) => [k, { enable: false }])) });
    const err = await runTraining(syntheticTrainRequest(stores, join(root, "off", "m"), ["logistic"], { signals: "strategy", strategy: off }), () => {}).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toContain("no regime's entry rule is enabled");
    for (const k of ["A_H", "A_L", "Q_H", "Q_L"]) expect(err).toContain(`strategy.regimes.${k}.enable`);
    expect(err).not.toContain("collect more data");
    expect(existsSync(join(root, "off", "m"))).toBe(false);
  });
});

describe("a ranking edge whose trades lose after fees, trained into a reused --out", () => {
  const out = join(root, "lose", "m");
  const lines: string[] = [];
  let report: TrainReport;
  beforeAll(async () => {
    // A planted regime edge the trees find, under barriers whose wins are small and losses large:
    // most taken trades win, yet on average they lose after a 1 bps taker fee a leg.
    const stores = writeMarket(join(root, "lose"), "SYNUSDT", makeMarket({ symbol: "SYNUSDT", startMs: Date.UTC(2026, 0, 5, 10), minutes: 60, seed: 7, edge: "regime", tradeMs: 500 }));
    mkdirSync(out, { recursive: true });
    for (const stale of ["lstm.model.json", "ensemble.model.json", "report.html", "notes.txt"]) writeFileSync(join(out, stale), "earlier\n");
    ({ report } = await runTraining(
      syntheticTrainRequest(stores, out, ["gbdt"], { randomKFold: [], threshold: 0.5, barrier: { stopBps: 40, takeProfit: [{ at_bps: 3, fraction: 1 }], maxHoldMs: 20_000, takerBps: 1, feeTier: "T" } }),
      (l) => lines.push(l),
    ));
  }, 30_000);

  test("the headline says the trades lose, with the report's own figure", () => {
    const gbdt = report.results[0];
    expect(gbdt.verdict).toBe("edge");
    const taken = gbdt.walk_forward.taken;
    expect(taken.hit_rate!).toBeGreaterThan(0.5);
    expect(taken.mean_ret_bps!).toBeLessThan(0);
    const want = `but the ${taken.n} trades it takes (p ≥ 0.5) lose ${(-taken.mean_ret_bps!).toFixed(1)} bps on average after fees: do not trade on it yet`;
    expect(report.verdict.startsWith("edge in ranking (gbdt out-of-sample AUC")).toBe(true);
    expect(report.verdict).toContain(want);
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain(want);
    expect(lines.at(-1)).toContain(want);
  });

  test("the model files record that its trades lose (next to the verdict), and the start check warns once for model.json", () => {
    const gbdt = report.results[0];
    const taken = gbdt.walk_forward.taken;
    const want = { verdict: "lose", threshold: 0.5, n: taken.n, wins: taken.wins, mean_ret_bps: taken.mean_ret_bps };
    for (const name of ["gbdt.model.json", "model.json"]) {
      const m = JSON.parse(readFileSync(join(out, name), "utf8"));
      expect({ name, verdict: m.verdict, trades: m.trades }).toEqual({ name, verdict: "edge", trades: want });
    }
    const model = join(out, "model.json");
    const warnings: string[] = [];
    expect(modelConfigProblem({ path: model, threshold: 0.5, mode: "filter" }, undefined, (w) => void warnings.push(w))).toBeNull();
    expect(warnings).toEqual([
      `model file ${model}: its own verdict is "edge" in ranking, but out of sample the ${taken.n} trades it takes (p ≥ 0.5) lose ${(-taken.mean_ret_bps!).toFixed(1)} bps on average after fees: it is used only because it is configured — test it, do not trade on it`,
    ]);
  });

  test("an earlier run's files in --out are removed and named on the progress lines; a file train does not write stays", () => {
    expect(existsSync(join(out, "lstm.model.json"))).toBe(false);
    expect(existsSync(join(out, "ensemble.model.json"))).toBe(false);
    // written anew by this run
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("<svg");
    expect(readFileSync(join(out, "notes.txt"), "utf8")).toBe("earlier\n");
    expect(lines).toContain(`train: removed 3 files of an earlier run from ${out}: lstm.model.json, ensemble.model.json, report.html`);
  });
});

describe("the headline's other cases (scores of constructed predictions)", () => {
  test("trades that earn: a plain edge; no signal at the threshold: says so", () => {
    const r = prng(4);
    const y = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const p = y.map((w) => 0.3 * r() + (w === 1 ? 0.35 : 0.2));
    const ret = y.map((w) => (w === 1 ? 5 : -4));
    const result = (threshold: number) => {
      const s = scores(y, p, ret, threshold);
      return { family: "logistic" as const, folds: [], walk_forward: s, random_kfold_auc: null, verdict: verdictOf(s.auc), file: "" };
    };
    const earning = result(0.5);
    expect(earning.walk_forward.taken.mean_ret_bps!).toBeGreaterThan(0);
    expect(trainingHeadline(earning, 0.5)).toMatch(/^edge: logistic out-of-sample AUC 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] lies above 0\.5$/);
    const none = result(0.9);
    expect(none.walk_forward.taken.n).toBe(0);
    expect(trainingHeadline(none, 0.9)).toContain("but no signal reached the threshold 0.9, so it would take no trades: do not trade on it yet");
  });
});
