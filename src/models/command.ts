/**
 * `harvestd train --from DATE --to DATE [--symbols A,B] [--models logistic,gbdt,mlp,lstm,cnn]
 * --out models/NAME [--seed N] [--folds K] [--signals fusion|strategy]`: trains on the stored Parquet of
 * the configured storage folders, one sample per fusion signal (or per entry of the strategy's rule),
 * with the configured strategy's exits and FEE_TIER's taker fee, and writes
 * the model files and the training report under --out. Progress on stderr, written paths on stdout.
 */
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { FeeTier } from "../trading/paper/params.ts";
import type { StrategyParams } from "../trading/strategy/params.ts";
import { versionInfo } from "../util/version.ts";
import { FAMILIES, type FamilyName } from "./families/types.ts";
import { strategyExits } from "./live.ts";
import type { ModelParams } from "./params.ts";
import { runTraining, type TrainRequest } from "./train.ts";
import { SIGNAL_RULES, type SignalRule } from "./signals.ts";

/** The configuration keys training uses (the composed Config has them; this layer does not import it). */
export interface TrainSettings {
  readonly storage: { readonly output_dir: string; readonly preview_dir: string };
  readonly paper: { readonly fee_tiers: Readonly<Record<string, FeeTier>> };
  readonly regime: { readonly fee_tier: string };
  readonly strategy: StrategyParams;
  readonly model: ModelParams;
}

/** The command line's part of a training request. */
export type TrainArgs = Pick<TrainRequest, "from" | "to" | "symbols" | "families" | "out" | "seed" | "folds" | "signals">;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(v: string): boolean {
  const ms = DATE.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === v;
}

/**
 * A problem with --out that would otherwise surface only at the first write, after all the data was
 * read: the nearest part of the path that exists must be a folder.
 */
function outProblem(out: string): string | null {
  const want = resolve(out);
  for (let p = want; ; p = dirname(p)) {
    try {
      if (statSync(p).isDirectory()) return null;
      return `train --out ${out}${p === want ? "" : `: ${p}`} is a file, not a folder (the model files and the report are written into a folder)`;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // not there yet (or under a file, found further up): train creates it
      if ((code !== "ENOENT" && code !== "ENOTDIR") || p === dirname(p)) return null;
    }
  }
}

/**
 * Train's options as the command line's shared parse read them (src/cli/main.ts: the one option
 * table, `--symbols` upper-cased, checked and de-duplicated there), each null when not given.
 */
export interface TrainOptions {
  readonly from: string | null;
  readonly to: string | null;
  readonly out: string | null;
  /** null: every symbol in the tree (not given, or ALL). */
  readonly symbols: readonly string[] | null;
  readonly models: string | null;
  readonly seed: string | null;
  readonly folds: string | null;
  readonly signals: string | null;
}

/** The training request's part from the parsed options (defaults filled in), or a one-line problem with them. */
export function trainArgs(o: TrainOptions): TrainArgs | string {
  const { from, to, out } = o;
  if (from === null || to === null) return "train needs --from YYYY-MM-DD and --to YYYY-MM-DD (UTC dates, inclusive)";
  if (!validDate(from)) return `train --from ${JSON.stringify(from)} is not a date YYYY-MM-DD`;
  if (!validDate(to)) return `train --to ${JSON.stringify(to)} is not a date YYYY-MM-DD`;
  if (from > to) return `train --from ${from} is after --to ${to}`;
  if (out === null || out.trim() === "") return "train needs --out DIR (e.g. --out models/btc-2026-11)";
  const badOut = outProblem(out);
  if (badOut !== null) return badOut;
  const models = (o.models ?? FAMILIES.join(",")).split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = models.filter((m) => !FAMILIES.includes(m as FamilyName));
  if (unknown.length > 0 || models.length === 0) return `train --models: unknown ${unknown.map((u) => JSON.stringify(u)).join(", ") || "(empty)"}; choose from ${FAMILIES.join(",")}`;
  const seedText = o.seed ?? "1";
  if (!/^\d{1,9}$/.test(seedText)) return `train --seed must be a whole number (got ${JSON.stringify(seedText)})`;
  const foldsText = o.folds ?? "5";
  if (!/^\d{1,2}$/.test(foldsText) || Number(foldsText) < 2 || Number(foldsText) > 20) return `train --folds must be a whole number from 2 to 20 (got ${JSON.stringify(foldsText)})`;
  const signals = o.signals ?? "fusion";
  if (!SIGNAL_RULES.includes(signals as SignalRule)) return `train --signals must be ${SIGNAL_RULES.join(" or ")} (got ${JSON.stringify(signals)})`;
  return { from, to, symbols: o.symbols, families: [...new Set(models)] as FamilyName[], out, seed: Number(seedText), folds: Number(foldsText), signals: signals as SignalRule };
}

export async function runTrain(cfg: TrainSettings, args: TrainArgs): Promise<number> {
  try {
    const { files } = await runTraining(
      {
        rawDir: cfg.storage.output_dir,
        previewDir: cfg.storage.preview_dir,
        from: args.from,
        to: args.to,
        symbols: args.symbols,
        families: args.families,
        out: args.out,
        seed: args.seed,
        folds: args.folds,
        threshold: cfg.model.threshold,
        // the same function the start check compares a model's labels with (live.ts)
        barrier: strategyExits(cfg),
        strategy: cfg.strategy,
        signals: args.signals,
        codeVersion: versionInfo().version,
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    for (const f of files) process.stdout.write(`${f}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`harvestd: train: ${(e as Error).message}\n`);
    return 1;
  }
}
