/**
 * `harvestd report`: reads the Parquet tree for a UTC date range and builds the report data — data
 * quality per symbol and hour, signal validation per docs/indicators.md §12, paper-trading results.
 * Symbols are processed one at a time so memory stays bounded by the largest symbol.
 */
import { dirname } from "node:path";
import type { ReportConfig } from "./params.ts";
import { feeTierOf } from "../trading/paper/params.ts";
import { PREVIEW_KINDS, type RowKind } from "../core/rows.ts";
import { DQ_COLUMNS, symbolDataQuality, type DqKind, type SymbolDq } from "./data-quality.ts";
import { ForwardReturns, lastAtOrBefore, MidSeries } from "./forward-returns.ts";
import { ACCEPTANCE, labelCandidates, NO_SCENARIO, pooledOutcome, verdict, type Outcome, type SignalName } from "./hit-rate.ts";
import { effectiveTimes, gridSamples, icByPeriod } from "./ic.ts";
import { PAPER_COLUMNS, paperResult, type PaperSymbolResult } from "./paper-results.ts";
import { FILL_COLUMNS, ORDER_COLUMNS, tradingResult, type TradingSymbolResult } from "./trading-results.ts";
import { concatColumns, listPartFiles, readPartition, type Columns, type PartFile } from "./parquet-tree.ts";
import type { Progress } from "./progress.ts";
import { AB_COLUMNS, AB_RULE, abResult, judge, type AbJudgement, type AbSymbolResult } from "./ab-results.ts";
import { readFileSync } from "node:fs";
import { ALL, HitRateTable, IcTable, SIGNAL_COLUMNS, SIGNALS, signalSeries, type HitRateRow, type IcRow } from "./signals.ts";

export interface ReportRequest {
  /** UTC dates, YYYY-MM-DD, inclusive. */
  readonly from: string;
  readonly to: string;
  /** null = every symbol found in the tree. */
  readonly symbols: readonly string[] | null;
}

export interface VerdictLine {
  readonly signal: SignalName;
  readonly horizon_s: number;
  readonly outcome: Outcome;
  /** outcome === "pass". */
  readonly pass: boolean;
  readonly min_hr: number;
  readonly hr: number | null;
  readonly n_eval: number;
  readonly hits: number;
  readonly wilson_lo: number | null;
  readonly wilson_hi: number | null;
  readonly p_value: number | null;
  readonly unmet: readonly string[];
}

export interface ReportData {
  readonly title: string;
  readonly version: string;
  readonly generated_at: string;
  readonly from: string;
  readonly to: string;
  /** The symbols reported on: those asked for (or found) that have Parquet files in the range. */
  readonly symbols: readonly string[];
  readonly params: {
    readonly horizons_s: readonly number[];
    readonly primary_horizon_s: number;
    readonly z_sig: number;
    readonly flat_bps: number;
    readonly ic_period: "day" | "hour";
    readonly ic_min_samples: number;
    readonly fee_tier: string;
    readonly taker_bps: number;
    readonly round_trip_fee_bps: number;
    readonly acceptance: typeof ACCEPTANCE;
  };
  readonly inputs: {
    readonly output_dir: string;
    readonly preview_dir: string;
    readonly files: Readonly<Record<string, number>>;
    readonly rows: Readonly<Record<string, number>>;
    readonly skipped_files: readonly { readonly path: string; readonly error: string }[];
    /** Symbols asked for with --symbols that have no Parquet file in the range: in no table. */
    readonly symbols_without_data: readonly string[];
    readonly elapsed_ms: number;
  };
  readonly verdict: { readonly outcome: Outcome; readonly pass: boolean; readonly horizon_s: number; readonly lines: readonly VerdictLine[]; readonly per_symbol: readonly (VerdictLine & { readonly symbol: string })[] };
  readonly data_quality: readonly SymbolDq[];
  readonly hit_rates: readonly HitRateRow[];
  readonly ic: readonly IcRow[];
  readonly paper: readonly PaperSymbolResult[];
  readonly trading: readonly TradingSymbolResult[];
  /** Plain strategy against model-filtered (docs/models.md "A/B"); null without model decisions. */
  readonly ab: {
    readonly rule: string;
    readonly per_symbol: readonly AbSymbolResult[];
    readonly overall: AbJudgement | null;
    /** Whether the period lies after the model's training range, in words. */
    readonly out_of_sample: string;
  } | null;
}

const DAY_MS = 86_400_000;
const RAW: ReadonlySet<RowKind> = new Set(["prices", "orderbook"]);

export interface BuildContext {
  readonly cfg: ReportConfig;
  readonly version: string;
  readonly progress: Progress;
  readonly now?: () => number;
}

export async function buildReport(req: ReportRequest, ctx: BuildContext): Promise<ReportData> {
  const now = ctx.now ?? Date.now;
  const t0 = now();
  const cfg = ctx.cfg;
  const rp = cfg.report;
  const fromMs = Date.parse(`${req.from}T00:00:00Z`);
  const toMs = Date.parse(`${req.to}T00:00:00Z`) + DAY_MS;
  const wanted = req.symbols === null ? null : new Set(req.symbols);
  const files = [
    ...listPartFiles(cfg.storage.output_dir, ["prices", "orderbook"], req.from, req.to, wanted),
    ...listPartFiles(cfg.storage.preview_dir, PREVIEW_KINDS, req.from, req.to, wanted),
  ];
  const found = new Set(files.map((f) => f.symbol));
  // An asked-for symbol without files was not measured: reporting it would show zeros as if it had been.
  const symbols = req.symbols !== null ? req.symbols.filter((s) => found.has(s)) : [...found].sort();
  const withoutData = req.symbols === null ? [] : req.symbols.filter((s) => !found.has(s));
  const days = new Set(files.filter((f) => RAW.has(f.kind)).map((f) => f.date)).size;
  const period = rp.ic_period === "auto" ? (days >= 3 ? "day" : "hour") : rp.ic_period;
  const periodMs = period === "day" ? DAY_MS : 3_600_000;
  const tier = feeTierOf(cfg.paper.fee_tiers, cfg.regime.fee_tier);
  const takerBps = tier?.taker_bps ?? 0;
  const roundTrip = 2 * takerBps;

  const fileCounts: Record<string, number> = {};
  const rowCounts: Record<string, number> = {};
  for (const f of files) fileCounts[f.kind] = (fileCounts[f.kind] ?? 0) + 1;
  const skipped: { path: string; error: string }[] = [];
  ctx.progress.start(files.length, symbols.length);

  const hits = new HitRateTable(rp.flat_bps, roundTrip);
  const ics = new IcTable(period);
  const dq: SymbolDq[] = [];
  const paper: PaperSymbolResult[] = [];
  const trading: TradingSymbolResult[] = [];
  const ab: AbSymbolResult[] = [];
  const abCloses = { plain: [] as (readonly [number, number])[], filtered: [] as (readonly [number, number])[] };
  // The A/B reads prices, orderbook, fusion and features again for other columns: a partition is
  // counted, and its unreadable files reported, on its first read only, or progress passes its total
  // (read 48/32) and a skipped file is named twice.
  const counted = new Set<string>();

  for (const symbol of symbols) {
    const mine = files.filter((f) => f.symbol === symbol);
    const read = async (kind: RowKind, names: readonly string[]): Promise<Columns> => {
      const parts: Columns[] = [];
      const partitions = new Map<string, PartFile[]>();
      for (const f of mine) {
        if (f.kind !== kind) continue;
        const list = partitions.get(dirname(f.path));
        if (list === undefined) partitions.set(dirname(f.path), [f]);
        else list.push(f);
      }
      for (const [dir, listed] of partitions) {
        const r = await readPartition(dir, listed, names);
        parts.push(...r.parts);
        if (counted.has(dir)) continue;
        counted.add(dir);
        // The files listed, not those read: compaction may have merged them into one meanwhile.
        ctx.progress.file(symbol, kind, r.read.reduce((n, f) => n + f.rows, 0), listed.length);
        for (const b of r.unreadable) {
          // The reader's message may begin with the path: it is kept once, in `path`.
          skipped.push({ path: b.path, error: b.error.startsWith(`${b.path}: `) ? b.error.slice(b.path.length + 2) : b.error });
          ctx.progress.warn(b.error);
        }
      }
      const c = concatColumns(kind, names, parts);
      rowCounts[kind] = (rowCounts[kind] ?? 0) + c.rows;
      return c;
    };

    const cols: Partial<Record<DqKind, Columns>> = {};
    // prices and signal kinds need more than the data-quality columns: read each kind once.
    cols.prices = await read("prices", [...DQ_COLUMNS.prices, "scenario_2x2"]);
    cols.orderbook = await read("orderbook", DQ_COLUMNS.orderbook);
    cols.events = await read("events", DQ_COLUMNS.events);
    const sig: Partial<Record<SignalName, Columns>> = {};
    for (const s of SIGNALS) sig[s] = cols[s] = await read(s, SIGNAL_COLUMNS[s]);
    cols.features = await read("features", DQ_COLUMNS.features);
    const paperCols = await read("paper", PAPER_COLUMNS);
    cols.paper = paperCols;
    dq.push(symbolDataQuality(symbol, cols, fromMs, toMs));

    const ob = cols.orderbook;
    const mids = MidSeries.fromBooks(ob.num("ts_ms"), ob.num("mid"), ob.num("spread_bps"));
    const fwd = new ForwardReturns(mids, breakTimes(cols.events));
    for (const s of SIGNALS) {
      // Hive dates are the rows' UTC event dates, so every row read lies in [fromMs, toMs).
      const series = signalSeries(s, sig[s]!, rp.z_sig);
      const tsEff = effectiveTimes(series.ts);
      for (const h of rp.horizons_s) {
        const hMs = h * 1000;
        hits.add(s, h, symbol, labelCandidates(series, fwd, hMs));
        const x = gridSamples(tsEff, series.score, fwd, hMs);
        ics.add(s, h, symbol, x, icByPeriod(x, periodMs, rp.ic_min_samples));
      }
    }
    const prices = cols.prices;
    const pTs = effectiveTimes(prices.num("ts_ms"));
    const pScen = prices.str("scenario_2x2");
    const scenarioAt = (t: number): string => {
      const i = lastAtOrBefore(pTs, t);
      return i < 0 ? NO_SCENARIO : (pScen[i] ?? NO_SCENARIO);
    };
    if (mids.ts.length > 0) for (const h of rp.horizons_s) hits.addBaseRate(h, symbol, fwd, mids.ts[0], scenarioAt);
    const pr = paperResult(symbol, paperCols, fromMs, toMs, cols.features.rows);
    if (pr !== null) paper.push(pr);
    const tr = tradingResult(symbol, await read("fills", FILL_COLUMNS), await read("orders", ORDER_COLUMNS), fromMs, toMs);
    if (tr !== null) trading.push(tr);
    const decisions = await read("model_decisions", AB_COLUMNS.model_decisions);
    if (decisions.rows > 0) {
      const r = abResult(
        symbol,
        {
          prices: await read("prices", AB_COLUMNS.prices),
          orderbook: await read("orderbook", AB_COLUMNS.orderbook),
          fusion: await read("fusion", AB_COLUMNS.fusion),
          features: await read("features", AB_COLUMNS.features),
          model_decisions: decisions,
        },
        { strategy: cfg.strategy, risk: cfg.risk, takerBps },
        { takerBps, feeTier: cfg.regime.fee_tier },
      );
      if (r !== null) {
        const { closes, ...rest } = r;
        ab.push(rest);
        abCloses.plain.push(...closes.plain);
        abCloses.filtered.push(...closes.filtered);
      }
    }
    ctx.progress.symbolDone(symbol);
  }
  ctx.progress.done();

  const hitRows = hits.rows();
  const ph = rp.primary_horizon_s;
  const line = (s: SignalName, symbol: string): VerdictLine => {
    const row = hitRows.find((r) => r.signal === s && r.horizon_s === ph && r.symbol === symbol && r.scenario === ALL);
    const counts = row ?? { n_candidates: 0, n_flat: 0, n_eval: 0, hits: 0, n_buy: 0, hits_buy: 0, n_sell: 0, hits_sell: 0 };
    const v = verdict(s, counts);
    return {
      signal: s,
      horizon_s: ph,
      outcome: v.outcome,
      pass: v.pass,
      min_hr: ACCEPTANCE[s].minHr,
      hr: row?.hr ?? null,
      n_eval: counts.n_eval,
      hits: counts.hits,
      wilson_lo: row?.wilson_lo ?? null,
      wilson_hi: row?.wilson_hi ?? null,
      p_value: row?.p_value ?? null,
      unmet: v.unmet,
    };
  };
  const lines = SIGNALS.map((s) => line(s, ALL));
  const pooled = pooledOutcome(lines.map((l) => l.outcome));
  const perSymbol = symbols.flatMap((sym) => SIGNALS.map((s) => ({ symbol: sym, ...line(s, sym) })));

  return {
    title: "harvestd data-quality and signal-validation report",
    version: ctx.version,
    generated_at: new Date(now()).toISOString(),
    from: req.from,
    to: req.to,
    symbols,
    params: {
      horizons_s: rp.horizons_s,
      primary_horizon_s: ph,
      z_sig: rp.z_sig,
      flat_bps: rp.flat_bps,
      ic_period: period,
      ic_min_samples: rp.ic_min_samples,
      fee_tier: cfg.regime.fee_tier,
      taker_bps: takerBps,
      round_trip_fee_bps: roundTrip,
      acceptance: ACCEPTANCE,
    },
    inputs: {
      output_dir: cfg.storage.output_dir,
      preview_dir: cfg.storage.preview_dir,
      files: fileCounts,
      rows: rowCounts,
      skipped_files: skipped,
      symbols_without_data: withoutData,
      elapsed_ms: now() - t0,
    },
    verdict: { outcome: pooled, pass: pooled === "pass", horizon_s: ph, lines, per_symbol: perSymbol },
    data_quality: dq,
    hit_rates: hitRows,
    ic: ics.rows(),
    paper,
    trading,
    ab: ab.length === 0 ? null : { rule: AB_RULE, per_symbol: ab, overall: judge(abCloses.plain, abCloses.filtered), out_of_sample: outOfSample(cfg.model.path, req.from) },
  };
}

/** Whether the report period starts after the configured model's training range, in words. */
function outOfSample(path: string, from: string): string {
  if (path === "") return "Out of sample: unknown (no [model] path configured to read the training range from).";
  let t: { from?: unknown; to?: unknown } | undefined;
  try {
    t = (JSON.parse(readFileSync(path, "utf8")) as { training?: { from?: unknown; to?: unknown } }).training;
  } catch (e) {
    return `Out of sample: unknown (model file ${path}: ${(e as Error).message}).`;
  }
  if (typeof t?.from !== "string" || typeof t.to !== "string") return `Out of sample: unknown (model file ${path} has no training range).`;
  return t.to < from ? `Out of sample: yes — the model was trained on ${t.from} … ${t.to}.` : `NOT out of sample: the model was trained on ${t.from} … ${t.to}, which this period overlaps or follows too closely; judge on later days.`;
}

/** Reconnects (either route) and full OFI resets (§12.1), sorted. */
function breakTimes(events: Columns): Float64Array {
  const ts = events.num("ts_ms");
  const type = events.str("type");
  const out: number[] = [];
  for (let i = 0; i < events.rows; i++) if (type[i] === "reconnect" || type[i] === "ofi_reset") out.push(ts[i]);
  return Float64Array.from(out).sort();
}
