/**
 * `harvestd train`: dataset → purged walk-forward scores per family (and a random K-fold for
 * comparison) → final fits on every sample → model files and the training report under --out.
 * Progress lines go to stderr through `progress`; the same seed gives the same files (apart from
 * `created_at`).
 */
import { existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StrategyParams } from "../trading/strategy/params.ts";
import { buildDataset, dataHash, type Dataset, type Sample } from "./dataset.ts";
import type { BarrierParams } from "./labels.ts";
import type { SignalRule } from "./signals.ts";
import { featureSignature } from "./features.ts";
import { DEFAULT_EPOCHS, fitMember } from "./fit.ts";
import { FAMILIES, type FamilyName } from "./families/types.ts";
import { designEffect, scores, verdictOf, type Scores } from "./metrics.ts";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type FoldScore, type ModelFile, type ModelMember } from "./model-file.ts";
import { modelPredictor } from "./predictor.ts";
import type { FamilyResult, TrainReport } from "./report-types.ts";
import { trainingHeadline, tradesRecord } from "./headline.ts";
import { renderTrainingHtml, renderTrainingMarkdown } from "./training-report.ts";
import { randomKFoldSplits, walkForwardSplits, type Split } from "./validation.ts";

export interface TrainRequest {
  readonly rawDir: string;
  readonly previewDir: string;
  readonly from: string;
  readonly to: string;
  readonly symbols: readonly string[] | null;
  readonly families: readonly FamilyName[];
  readonly out: string;
  readonly seed: number;
  readonly folds: number;
  readonly threshold: number;
  readonly barrier: BarrierParams;
  readonly strategy: Pick<StrategyParams, "regimes" | "min_consistency" | "allow_degraded">;
  readonly signals: SignalRule;
  readonly codeVersion: string;
  /** Per-family epoch overrides (tests use few). */
  readonly epochs?: Partial<Record<FamilyName, number>>;
  /** Families also scored on a random K-fold for comparison (default: logistic and gbdt when requested, else the first family). */
  readonly randomKFold?: readonly FamilyName[];
}

export const MIN_SAMPLES = 40;

const iso = (ms: number): string | null => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** Every file a training run may write under --out, by name. */
const TRAINING_FILES: readonly string[] = [...FAMILIES, "ensemble"].map((f) => `${f}.model.json`).concat("model.json", "report.md", "report.json", "report.html");

/**
 * Removes what an earlier run left under `out` — only the names a run writes, so a folder reused
 * for a run of other families does not keep a stale lstm.model.json beside the new files. Returns
 * the names removed.
 */
function removeEarlierRun(out: string): string[] {
  const removed = TRAINING_FILES.filter((name) => existsSync(join(out, name)));
  for (const name of removed) unlinkSync(join(out, name));
  return removed;
}

/**
 * `--signals strategy` with every regime's entry rule switched off can find no sample: say that,
 * before reading the data, instead of "collect more data".
 */
function entryRuleProblem(req: Pick<TrainRequest, "signals" | "strategy">): string | null {
  if (req.signals !== "strategy") return null;
  const keys = Object.keys(req.strategy.regimes) as (keyof TrainRequest["strategy"]["regimes"])[];
  if (keys.some((k) => req.strategy.regimes[k].enable)) return null;
  const names = keys.map((k) => `strategy.regimes.${k}.enable`);
  return `--signals strategy takes the strategy's entry signals, but no regime's entry rule is enabled (${names.join(", ")} are all false): enable one, or train with --signals fusion`;
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.partial`, text);
  renameSync(`${path}.partial`, path);
}

/** Out-of-sample probabilities of one family over a set of splits (index → p; NaN where never tested). */
async function crossValidate(family: FamilyName, samples: readonly Sample[], splits: readonly Split[], seed: number, epochs: number, threshold: number, progress: (l: string) => void, what: string): Promise<{ p: Float64Array; folds: FoldScore[] }> {
  const p = new Float64Array(samples.length).fill(Number.NaN);
  const folds: FoldScore[] = [];
  for (const s of splits) {
    const train = s.train.map((i) => samples[i]);
    const ok = train.some((x) => x.label.win) && train.some((x) => !x.label.win);
    if (ok) {
      const predict = modelPredictor([await fitMember(family, train, seed + 101 * s.fold, epochs)]);
      for (const i of s.test) p[i] = predict(samples[i]);
    }
    const y = s.test.map((i) => (samples[i].label.win ? 1 : 0));
    const q = s.test.map((i) => p[i]);
    const sc = ok ? scores(y, q, s.test.map((i) => samples[i].label.retBps), threshold, designEffect(s.test.map((i) => windowOf(samples[i])))) : null;
    const a = sc?.auc ?? null;
    folds.push({
      fold: s.fold,
      train: s.train.length,
      test: s.test.length,
      purged: s.purged,
      test_from: iso(s.testFromMs),
      test_to: iso(s.testToMs),
      auc: a?.auc ?? null,
      log_loss: sc?.log_loss ?? Number.NaN,
      precision_at_threshold: sc?.precision_at_threshold ?? null,
    });
    progress(`train: ${family} ${what} fold ${s.fold}/${splits.length}: train ${s.train.length} (purged ${s.purged}), test ${s.test.length}, AUC ${a === null ? "n/a" : a.auc.toFixed(3)}`);
  }
  return { p, folds };
}

/** The random K-fold only illustrates leakage: the cheap families show it, the nets would double training time. */
function defaultKFold(families: readonly FamilyName[]): readonly FamilyName[] {
  const cheap = families.filter((f) => f === "logistic" || f === "gbdt");
  return cheap.length > 0 ? cheap : families.slice(0, 1);
}

const windowOf = (s: Sample) => ({ tsMs: s.tsMs, exitTsMs: s.label.exitTsMs });

function oosScores(samples: readonly Sample[], p: Float64Array, threshold: number): Scores {
  const idx = samples.map((_, i) => i).filter((i) => p[i] === p[i]);
  return scores(
    idx.map((i) => (samples[i].label.win ? 1 : 0)),
    idx.map((i) => p[i]),
    idx.map((i) => samples[i].label.retBps),
    threshold,
    designEffect(idx.map((i) => windowOf(samples[i]))),
  );
}

export async function runTraining(req: TrainRequest, progress: (line: string) => void): Promise<{ report: TrainReport; files: string[] }> {
  const noRule = entryRuleProblem(req);
  if (noRule !== null) throw new Error(noRule);
  progress(`train: reading ${req.from} … ${req.to}${req.symbols ? ` (${req.symbols.join(",")})` : ""}`);
  const ds: Dataset = await buildDataset(req, progress);
  const samples = ds.samples;
  if (samples.length < MIN_SAMPLES) throw new Error(`only ${samples.length} labelled signals in ${req.from} … ${req.to} (need at least ${MIN_SAMPLES}); collect more data or widen the range`);
  const wins = samples.filter((s) => s.label.win).length;
  if (wins === 0 || wins === samples.length) {
    // "Lost" is the trade's outcome, not missing data: say so, and which settings decide it.
    const b = req.barrier;
    throw new Error(
      `every one of the ${samples.length} labelled signals was a ${wins === 0 ? "losing" : "winning"} trade under the strategy's barriers ` +
        `(stop ${b.stopBps} bps, take-profit ${b.takeProfit.map((t) => t.at_bps).join("/")} bps, time stop ${b.maxHoldMs / 1000} s, taker fees on each leg): nothing to learn. ` +
        `Widen the range, or set strategy.stop_bps / strategy.take_profit / strategy.max_hold_sec to barriers this market reaches (--set or the config file; docs/models.md "Labels: paper trading's exits")`,
    );
  }
  const maxLabelMs = samples.reduce((m, s) => Math.max(m, s.label.exitTsMs - s.tsMs), 0);
  const embargoMs = Math.max(req.barrier.maxHoldMs, maxLabelMs);
  const hash = dataHash(samples);
  progress(`train: ${samples.length} samples (${wins} wins), embargo ${embargoMs} ms, data ${hash.slice(0, 12)}`);
  const timed = samples.map((s) => ({ tsMs: s.tsMs, exitTsMs: s.label.exitTsMs }));
  const wf = walkForwardSplits(timed, req.folds, embargoMs);
  const kf = randomKFoldSplits(timed, req.folds, req.seed);
  mkdirSync(req.out, { recursive: true });
  const removed = removeEarlierRun(req.out);
  if (removed.length > 0) progress(`train: removed ${removed.length} file${removed.length === 1 ? "" : "s"} of an earlier run from ${req.out}: ${removed.join(", ")}`);

  const barrier = { stop_bps: req.barrier.stopBps, take_profit: req.barrier.takeProfit, max_hold_ms: req.barrier.maxHoldMs, taker_bps: req.barrier.takerBps, fee_tier: req.barrier.feeTier };
  const training: ModelFile["training"] = {
    from: req.from,
    to: req.to,
    symbols: ds.symbols,
    samples: samples.length,
    wins,
    seed: req.seed,
    folds: req.folds,
    embargo_ms: embargoMs,
    signals: req.signals,
    data_hash: hash,
    barrier,
  };
  const createdAt = new Date().toISOString();
  const files: string[] = [];
  const writeModel = (name: string, members: readonly ModelMember[], folds: readonly FoldScore[], s: Scores, verdict: string): string => {
    const file: ModelFile = {
      format: MODEL_FORMAT,
      format_version: MODEL_FORMAT_VERSION,
      name,
      created_at: createdAt,
      code_version: req.codeVersion,
      features: featureSignature(),
      training,
      threshold: req.threshold,
      members,
      fold_metrics: folds,
      oos: { auc: s.auc?.auc ?? null, auc_lo: s.auc?.lo ?? null, auc_hi: s.auc?.hi ?? null, log_loss: s.log_loss, n: s.n },
      verdict,
      trades: tradesRecord(s.taken, req.threshold),
    };
    const path = join(req.out, `${name}.model.json`);
    writeAtomic(path, `${JSON.stringify(file)}\n`);
    files.push(path);
    return path;
  };

  const results: FamilyResult[] = [];
  const oosP = new Map<FamilyName, Float64Array>();
  const finals = new Map<FamilyName, ModelMember>();
  for (const [fi, family] of req.families.entries()) {
    const epochs = req.epochs?.[family] ?? DEFAULT_EPOCHS[family];
    const seed = req.seed * 1000 + fi;
    const w = await crossValidate(family, samples, wf, seed, epochs, req.threshold, progress, "walk-forward");
    const k = (req.randomKFold ?? defaultKFold(req.families)).includes(family) ? await crossValidate(family, samples, kf, seed, epochs, req.threshold, progress, "random K-fold") : null;
    const s = oosScores(samples, w.p, req.threshold);
    const ks = k === null ? null : oosScores(samples, k.p, req.threshold);
    progress(`train: ${family}: final fit on all ${samples.length} samples`);
    const member = await fitMember(family, samples, seed, epochs);
    const verdict = verdictOf(s.auc);
    const file = writeModel(family, [member], w.folds, s, verdict);
    oosP.set(family, w.p);
    finals.set(family, member);
    results.push({ family, folds: w.folds, walk_forward: s, random_kfold_auc: ks?.auc?.auc ?? null, verdict, file });
    progress(`train: ${family}: out-of-sample AUC ${s.auc ? `${s.auc.auc.toFixed(3)} [${s.auc.lo.toFixed(3)}, ${s.auc.hi.toFixed(3)}]` : "n/a"} → ${verdict}; random K-fold ${ks?.auc ? ks.auc.auc.toFixed(3) : "n/a"}`);
  }

  // the ensemble: the families whose out-of-sample AUC interval lies above 0.5
  const passing = results.filter((r) => r.verdict === "edge").map((r) => r.family as FamilyName);
  if (passing.length >= 2) {
    const p = new Float64Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      let sum = 0;
      for (const f of passing) sum += oosP.get(f)![i];
      p[i] = sum / passing.length;
    }
    const s = oosScores(samples, p, req.threshold);
    const verdict = verdictOf(s.auc);
    const file = writeModel("ensemble", passing.map((f) => finals.get(f)!), [], s, verdict);
    results.push({ family: "ensemble", folds: [], walk_forward: s, random_kfold_auc: null, verdict, file });
  }

  const best = [...results].sort((a, b) => (b.walk_forward.auc?.lo ?? -1) - (a.walk_forward.auc?.lo ?? -1))[0];
  const ens = results.find((r) => r.family === "ensemble");
  const chosen = ens !== undefined
    ? { result: ens, reason: `ensemble of the families that passed (${passing.join(", ")})` }
    : best.verdict === "edge"
      ? { result: best, reason: `the only family that passed, or the one with the highest lower AUC bound` }
      : { result: best, reason: `no family passed; the highest lower AUC bound is kept for reference only — do not trade on it` };
  const chosenFile = join(req.out, "model.json");
  writeAtomic(chosenFile, await Bun.file(chosen.result.file).text());
  files.push(chosenFile);

  const verdict = trainingHeadline(chosen.result, req.threshold);
  const report: TrainReport = {
    generated_at: createdAt,
    code_version: req.codeVersion,
    request: { from: req.from, to: req.to, symbols: ds.symbols, families: req.families, seed: req.seed, folds: req.folds, threshold: req.threshold, signals: req.signals },
    dataset: { samples: samples.length, wins, unlabelled: ds.unlabelled, files: ds.files, rows: ds.rows, data_hash: hash, first_signal: iso(samples[0].tsMs), last_signal: iso(samples[samples.length - 1].tsMs) },
    barrier,
    embargo_ms: embargoMs,
    features: featureSignature(),
    results,
    chosen: { name: chosen.result.family, reason: chosen.reason },
    verdict,
  };
  for (const [ext, text] of [["json", `${JSON.stringify(report, null, 1)}\n`], ["md", renderTrainingMarkdown(report)], ["html", renderTrainingHtml(report)]] as const) {
    const path = join(req.out, `report.${ext}`);
    writeAtomic(path, text);
    files.push(path);
  }
  progress(`train: ${verdict}`);
  return { report, files };
}

export { FAMILIES };
export type { FamilyResult, TrainReport };
