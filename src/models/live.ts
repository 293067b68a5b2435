/**
 * The model filter in `run` and `replay`: the strategy's SignalFilter (trading/strategy/contract.ts).
 *
 * It sees every row the strategy sees, just before the strategy does (`tap`), and keeps per symbol
 * the same SymbolFeatureState that training used on the stored rows — so the vector a live signal is
 * judged on is built by the same code from the same rows. When the strategy asks about a signal (during
 * that signal's fusion row), the filter scores it and records one `model_decisions` row.
 *
 * - filter mode: take when p ≥ threshold.
 * - size mode: skip below p = 0.5; from 0.5 up to the threshold the position grows linearly from 0 to
 *   full size; at or above the threshold full size. (With a threshold ≤ 0.5 it is the filter.)
 * - A signal whose vector cannot be built (its own trade was backfilled, so the state never saw it)
 *   is skipped with reason `no_features`: a filter that cannot judge does not wave trades through.
 * - A model that throws or gives no probability in [0, 1] (the load check, model-check.ts, should
 *   make this impossible; this is the defence behind it): the signal is skipped with reason
 *   `model_error`, counted (`modelErrors`, /health names it), logged once. The collector goes on.
 */
import type { Row, RowKind, RowSink } from "../core/rows.ts";
import type { FilterDecision, SignalContext, SignalFilter } from "../trading/strategy/contract.ts";
import { SymbolFeatureState } from "./features.ts";
import type { StrategyParams } from "../trading/strategy/params.ts";
import { feeTierOf, type FeeTier } from "../trading/paper/params.ts";
import { barrierParams, type BarrierParams } from "./labels.ts";
import { tradesCaveat } from "./headline.ts";
import { loadModelFile, type ModelFile } from "./model-file.ts";
import type { ModelParams } from "./params.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { modelPredictor, type Predict } from "./predictor.ts";

const SKIP: FilterDecision = { probability: Number.NaN, take: false, sizeFactor: 0 };

/** Who asked: the paper simulator's strategy or the testnet trader's (each records its own decisions). */
export type Executor = "paper" | "testnet";

export class ModelFilter implements SignalFilter {
  private readonly states = new Map<string, SymbolFeatureState>();
  /** The fusion row being written (valid during its own append: the strategy asks within it). */
  private readonly lastFusion = new Map<string, Row>();
  /** The row `head` observed and is handing down; the tap below must not observe it twice. */
  private observedAbove: Row | null = null;
  private readonly predict: Predict;
  readonly name: string;
  decisions = 0;
  taken = 0;
  /** Signals skipped because the model threw or gave no probability in [0, 1]. */
  modelErrors = 0;
  /** The first such failure (for the log and /health). */
  firstModelError: string | null = null;

  constructor(
    readonly model: ModelFile,
    private readonly params: ModelParams,
    /** Where `model_decisions` rows go (the real sink, not the paper tap). */
    private readonly sink: RowSink,
    /** Where the first model error is logged (default: structured lines on stderr). */
    private readonly log: Logger = createLogger(),
  ) {
    this.predict = modelPredictor(model.members);
    this.name = `${model.name}@${model.training.data_hash.slice(0, 12)}`;
  }

  /** One of a symbol's rows, before the strategy sees it. */
  observe(kind: RowKind | string, row: Row): void {
    if (kind !== "prices" && kind !== "orderbook" && kind !== "fusion" && kind !== "features") return;
    const symbol = row.symbol as string;
    let st = this.states.get(symbol);
    if (st === undefined) {
      st = new SymbolFeatureState(symbol);
      this.states.set(symbol, st);
    }
    st.onRow(kind, row);
    if (kind === "fusion") {
      st.observeFusion(row);
      this.lastFusion.set(symbol, row);
    }
  }

  /** A symbol's input ended (restart boundary): its state starts fresh, as the strategy's does. */
  forget(symbol: string): void {
    this.states.delete(symbol);
    this.lastFusion.delete(symbol);
  }

  /** The filter as one executor's strategy sees it: its decisions are recorded under its name. */
  forExecutor(executor: Executor): SignalFilter {
    return { decide: (ctx) => this.decideFor(ctx, executor) };
  }

  decide(ctx: SignalContext): FilterDecision {
    return this.decideFor(ctx, "paper");
  }

  private decideFor(ctx: SignalContext, executor: Executor): FilterDecision {
    const st = this.states.get(ctx.symbol);
    const fusion = this.lastFusion.get(ctx.symbol);
    const v = st !== undefined && fusion !== undefined && fusion.agg_trade_id === ctx.agg_trade_id ? st.vector(fusion, ctx.side) : null;
    let d: FilterDecision = SKIP;
    const p = v === null ? Number.NaN : this.score(v, ctx.symbol);
    if (!Number.isNaN(p)) {
      const th = this.params.threshold;
      if (this.params.mode === "filter" || th <= 0.5) d = { probability: p, take: p >= th, sizeFactor: p >= th ? 1 : 0 };
      else {
        const f = p >= th ? 1 : p < 0.5 ? 0 : (p - 0.5) / (th - 0.5);
        d = { probability: p, take: f > 0, sizeFactor: f };
      }
    }
    this.decisions++;
    if (d.take) this.taken++;
    this.sink.append("model_decisions", {
      symbol: ctx.symbol,
      ts_ms: ctx.ts_ms,
      agg_trade_id: ctx.agg_trade_id,
      side: ctx.side,
      score: ctx.score,
      probability: Number.isNaN(d.probability) ? null : d.probability,
      threshold: this.params.threshold,
      taken: d.take,
      size_factor: d.sizeFactor,
      mode: this.params.mode,
      model: this.name,
      reason: v === null ? "no_features" : Number.isNaN(p) ? "model_error" : null,
      scenario_2x2: ctx.regime,
      executor,
    });
    return d;
  }

  /** The model's probability for a vector, or NaN (counted, logged once) when it throws or gives none in [0, 1]. */
  private score(v: NonNullable<ReturnType<SymbolFeatureState["vector"]>>, symbol: string): number {
    let p: number;
    let why: string;
    try {
      p = this.predict(v);
      if (p >= 0 && p <= 1) return p;
      why = `probability ${p} is not in [0, 1]`;
    } catch (e) {
      why = `${(e as Error).name}: ${(e as Error).message}`;
    }
    this.modelErrors++;
    if (this.firstModelError === null) {
      this.firstModelError = why;
      this.log.log("error", "model error: signals are skipped (reason model_error) until the model file is fixed and the collector restarted", { model: this.name, symbol, error: why });
    }
    return Number.NaN;
  }

  /** /health: a model that failed at a signal fails health, naming the model and the first failure. */
  healthReasons(): readonly string[] {
    if (this.modelErrors === 0) return [];
    return [`model ${this.name} failed at ${this.modelErrors} signal${this.modelErrors === 1 ? "" : "s"} (skipped, reason model_error): ${this.firstModelError}`];
  }

  /**
   * The filter's observer at the head of the row path, above taps put in front of `tap` later (the
   * testnet trader's): every strategy below then asks about a signal whose rows the filter has seen.
   * The tap below skips the rows observed here.
   */
  head(inner: RowSink): RowSink {
    return {
      append: (kind: RowKind, row: Row) => {
        this.observe(kind, row);
        this.observedAbove = row;
        try {
          inner.append(kind, row);
        } finally {
          this.observedAbove = null;
        }
      },
    };
  }

  /** A RowSink in front of `inner` (the paper tap): rows reach the filter first, then the strategy. */
  tap(inner: RowSink & { finish?(symbol: string): void }): RowSink & { finish(symbol: string): void } {
    return {
      append: (kind: RowKind, row: Row) => {
        if (row !== this.observedAbove) this.observe(kind, row);
        inner.append(kind, row);
      },
      finish: (symbol: string) => {
        inner.finish?.(symbol);
        this.forget(symbol);
      },
    };
  }
}

/**
 * Opens `[model].path` for a run: the model file, checked against the features this binary computes.
 * An error string (one line naming the file and what is wrong) is a configuration error: exit 78.
 */
export function openModelFilter(params: ModelParams, sink: RowSink, log?: Logger): { readonly ok: true; readonly filter: ModelFilter | null } | { readonly ok: false; readonly error: string } {
  if (params.path === "") return { ok: true, filter: null };
  const r = loadModelFile(params.path);
  if (!r.ok) return r;
  return { ok: true, filter: new ModelFilter(r.model, params, sink, log) };
}

/** The configuration sections that decide the strategy's exits (the composed Config has them). */
export interface ExitSettings {
  readonly paper: { readonly fee_tiers: Readonly<Record<string, FeeTier>> };
  readonly regime: { readonly fee_tier: string };
  readonly strategy: Pick<StrategyParams, "stop_bps" | "take_profit" | "max_hold_sec">;
}

/** The barriers a label would have under these settings: what the strategy's trades exit by now. */
export function strategyExits(cfg: ExitSettings): BarrierParams {
  // the config schema refuses an unknown tier; a caller that skipped it gets no fee rather than a throw
  const tier = feeTierOf(cfg.paper.fee_tiers, cfg.regime.fee_tier);
  return barrierParams(cfg.strategy, tier?.taker_bps ?? 0, cfg.regime.fee_tier);
}

// rounded: 0.3 × 100 would print as 30.000000000000004
const takeProfitText = (tiers: readonly { readonly at_bps: number; readonly fraction: number }[]): string => tiers.map((t) => `${Number((t.fraction * 100).toFixed(4))} % at ${t.at_bps} bps`).join(", ") || "none";

/** Each exit setting whose value differs between the model's labels and the strategy now ("stop 3 bps, now 20 bps"). */
function exitDifferences(trained: ModelFile["training"]["barrier"], now: BarrierParams): string[] {
  const pairs: readonly (readonly [string, string, string])[] = [
    ["stop", `${trained.stop_bps} bps`, `${now.stopBps} bps`],
    ["take-profit", takeProfitText(trained.take_profit), takeProfitText(now.takeProfit)],
    ["time stop", `${trained.max_hold_ms / 1000} s`, `${now.maxHoldMs / 1000} s`],
    ["taker fee", `${trained.taker_bps} bps a leg`, `${now.takerBps} bps a leg`],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what} ${a}, now ${b}`);
}

/** A file's `trades` record as training writes it (files written before it have none; a hand-edited one is not trusted). */
const isTrades = (t: unknown): t is NonNullable<ModelFile["trades"]> => {
  const r = t as Partial<NonNullable<ModelFile["trades"]>> | null | undefined;
  return typeof r === "object" && r !== null && typeof r.verdict === "string" && typeof r.threshold === "number" && typeof r.n === "number" && (r.mean_ret_bps === null || typeof r.mean_ret_bps === "number");
};

const isBarrier = (b: unknown): b is ModelFile["training"]["barrier"] => typeof b === "object" && b !== null && Array.isArray((b as { take_profit?: unknown }).take_profit);

/**
 * What a usable model file should make its user think twice about, one phrase each: its own training
 * verdict is not "edge", or it is but the trades it took out of sample lost after fees (or it took
 * none) — a user may still want to try it, so it is accepted — and, given the strategy's exits now,
 * labels made with other barriers than the trades it will filter.
 */
function modelWarnings(model: ModelFile, path: string, now?: BarrierParams): string[] {
  const out: string[] = [];
  if (model.verdict !== "edge") {
    const o = model.oos;
    const auc = o !== undefined && typeof o.auc === "number" ? `, out-of-sample AUC ${o.auc.toFixed(3)} [${o.auc_lo?.toFixed(3) ?? "n/a"}, ${o.auc_hi?.toFixed(3) ?? "n/a"}]` : "";
    out.push(`model file ${path}: its own verdict is ${JSON.stringify(model.verdict ?? null)}${auc}: it showed no edge in training and is used only because it is configured — test it, do not trade on it`);
  } else if (isTrades(model.trades) && model.trades.verdict !== "earn") {
    // an edge in ranking whose trades lost after fees (or took none): the training headline's caveat
    const caveat = tradesCaveat(model.trades, model.trades.threshold);
    out.push(`model file ${path}: its own verdict is "edge" in ranking, but out of sample ${caveat}: it is used only because it is configured — test it, do not trade on it`);
  }
  const trained = model.training.barrier;
  if (now !== undefined && isBarrier(trained)) {
    const diff = exitDifferences(trained, now);
    if (diff.length > 0) out.push(`model file ${path} was trained on labels with other exits than the strategy's now (${diff.join("; ")}): its probabilities are for those trades, not these`);
  }
  return out;
}

const toStderr = (warning: string): void => void process.stderr.write(`harvestd: warning: model.path: ${warning}\n`);

/**
 * The check of `[model]` every command makes at start (validate, run, store, replay, backfill): null,
 * or the problem with model.path (exit 78). A file that loads but deserves a second thought is
 * accepted, with one warning line each (modelWarnings) — printed here, once per command, because
 * this runs once while a parallel replay opens one filter per thread. `now`: the strategy's exits
 * (strategyExits), to compare with the model's labels.
 */
export function modelConfigProblem(params: ModelParams, now?: BarrierParams, warn: (warning: string) => void = toStderr): string | null {
  if (params.path === "") return null;
  const r = loadModelFile(params.path);
  if (!r.ok) return r.error;
  for (const w of modelWarnings(r.model, params.path, now)) warn(w);
  return null;
}
