/**
 * The Markdown summary of a report. Every figure comes from ReportData (the JSON file holds the same
 * numbers, plus the per symbol × regime × horizon rows this summary leaves out).
 */
import type { ReportData } from "./build.ts";
import { DQ_KINDS } from "./data-quality.ts";
import { absentWarning, DASH, fix, int, outcomeWord, pValue, signalLabel, skippedWarning, utcHour, utcMinute, verdictHeadline, verdictSentence } from "./format.ts";
import { ALL, type HitRateRow } from "./signals.ts";
import { TRADING_EMPTY, TRADING_HEAD, TRADING_NOTE, tradingCells } from "./trading-section.ts";
import { AB_EMPTY, AB_HEAD, AB_NOTE, abRows, abVerdict } from "./ab-section.ts";

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

export const DQ_HEAD = ["symbol", "first", "last", ...DQ_KINDS.map((k) => `${k} rows`), "backfilled", "id gaps", "missing ids", "seq gaps", "reconnects depth/trade", "OFI resets", "crossed", "one-sided", "latency p50/p95/p99 ms", "trades/s", "books/s", "empty hours"];

/** One symbol's data-quality summary row, shared by the Markdown and HTML reports. */
export function dqCells(q: ReportData["data_quality"][number]): string[] {
  const t = q.totals;
  return [
    q.symbol,
    utcMinute(q.first_ts_ms),
    utcMinute(q.last_ts_ms),
    ...DQ_KINDS.map((k) => int(t.rows[k])),
    int(t.trades_backfilled),
    int(t.trade_id_gaps),
    int(t.trade_ids_missing),
    int(t.seq_gaps),
    `${t.reconnects_public}/${t.reconnects_market}`,
    int(t.ofi_resets),
    int(t.crossed_books),
    int(t.one_sided_books),
    `${fix(t.latency_p50_ms, 0)}/${fix(t.latency_p95_ms, 0)}/${fix(t.latency_p99_ms, 0)}`,
    fix(t.trades_per_s, 2),
    fix(t.books_per_s, 2),
    int(q.empty_hours),
  ];
}

export const DQ_HOUR_HEAD = ["hour (UTC)", "trades", "backfilled", "books", "ofi", "cvd", "fusion", "events", "features", "id gaps", "missing ids", "seq gaps", "reconnects depth/trade", "OFI resets", "latency p50/p95/p99 ms", "trades/s", "books/s"];

/** One hour of a symbol's data quality, shared by the Markdown and HTML reports. */
export function dqHourCells(h: ReportData["data_quality"][number]["hours"][number]): string[] {
  return [
    utcHour(h.hour_start_ms),
    int(h.rows.prices),
    int(h.trades_backfilled),
    int(h.rows.orderbook),
    int(h.rows.ofi),
    int(h.rows.cvd),
    int(h.rows.fusion),
    int(h.rows.events),
    int(h.rows.features),
    int(h.trade_id_gaps),
    int(h.trade_ids_missing),
    int(h.seq_gaps),
    `${h.reconnects_public}/${h.reconnects_market}`,
    int(h.ofi_resets),
    `${fix(h.latency_p50_ms, 0)}/${fix(h.latency_p95_ms, 0)}/${fix(h.latency_p99_ms, 0)}`,
    fix(h.trades_per_s, 2),
    fix(h.books_per_s, 2),
  ];
}

export const PAPER_HEAD = ["symbol", "fee tier", "trades", "trades/day", "observed h", "wins", "win rate", "net PnL", "gross PnL", "fees", "max drawdown", "Sharpe (per trade)", "mean ret bps", "mean hold s", "exits"];

/** One symbol's paper-trading results, shared by the Markdown and HTML reports. */
export function paperCells(r: ReportData["paper"][number]): string[] {
  return [
    r.symbol,
    r.fee_tiers.join(", "),
    int(r.trades),
    fix(r.trades_per_day, 1),
    fix(r.observed_s / 3600, 2),
    int(r.wins),
    fix(r.win_rate, 3),
    fix(r.net_pnl, 2),
    fix(r.gross_pnl, 2),
    fix(r.fees, 2),
    fix(r.max_drawdown, 2),
    fix(r.sharpe, 3),
    fix(r.mean_ret_bps, 2),
    fix(r.mean_hold_s, 1),
    Object.entries(r.exits)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ") || DASH,
  ];
}

export const HIT_HEAD = ["signal", "H s", "symbol", "regime", "candidates", "thinned", "flats", "n_eval", "hits", "HR", "Wilson 95 %", "p (1-sided)", "HR buy", "HR sell", "p_up", "mean d·r bps", "median", "mean net", "median net", "HR all rows (n)"];

export function hitCells(r: HitRateRow): string[] {
  return [
    signalLabel(r.signal),
    String(r.horizon_s),
    r.symbol,
    r.scenario,
    int(r.n_candidates),
    int(r.n_thinned),
    int(r.n_flat),
    int(r.n_eval),
    int(r.hits),
    fix(r.hr),
    r.wilson_lo === null ? DASH : `[${fix(r.wilson_lo, 3)}, ${fix(r.wilson_hi, 3)}]`,
    pValue(r.p_value),
    fix(r.hr_buy, 3),
    fix(r.hr_sell, 3),
    fix(r.p_up, 3),
    fix(r.mean_gross_bps, 2),
    fix(r.median_gross_bps, 2),
    fix(r.mean_net_bps, 2),
    fix(r.median_net_bps, 2),
    r.all_rows.n_eval === 0 ? DASH : `${fix(r.all_rows.hr, 3)} (${int(r.all_rows.n_eval)})`,
  ];
}

export function renderMarkdown(d: ReportData): string {
  const p = d.params;
  const ph = p.primary_horizon_s;
  const out: string[] = [];
  out.push(`# ${d.title}`, "");
  const skipped = skippedWarning(d);
  if (skipped !== null) out.push(`> **Warning:** ${skipped}`, "");
  const absent = absentWarning(d);
  if (absent !== null) out.push(`> **Warning:** ${absent} of every table, figure and verdict below.`, "");
  out.push(`UTC dates ${d.from} … ${d.to}; symbols: ${d.symbols.join(", ") || "none"}. Generated ${d.generated_at} by harvestd ${d.version}.`, "");

  out.push("## Verdict", "", `**${verdictHeadline(d)}**`, "");
  for (const l of d.verdict.lines) out.push(`- ${verdictSentence(l)}`);
  out.push("", `Per symbol at H = ${ph} s (thinned samples, all regimes):`, "");
  out.push(
    table(
      ["symbol", "signal", "verdict", "HR", "n_eval", "Wilson lower"],
      d.verdict.per_symbol.map((v) => [v.symbol, signalLabel(v.signal), outcomeWord(v.outcome), fix(v.hr), int(v.n_eval), fix(v.wilson_lo)]),
    ),
    "",
  );

  out.push("## Signal validation (docs/indicators.md §12)", "");
  out.push(
    `Labels: r_H = 1e4·ln(mid(t+H)/mid(t)) bps from valid books; rows with a reconnect or full OFI reset in (t, t+H], or t+H beyond the data, are excluded. ` +
      `Signals: fusion \`signal\`; OFI \`ofi_z\` ≥ ${p.z_sig} / ≤ −${p.z_sig}; CVD \`z_cvd\` likewise. Non-overlap thinning per symbol and H; flats |r_H| ≤ ${p.flat_bps} bps excluded. ` +
      `Net = gross − round-trip taker fee ${fix(p.round_trip_fee_bps, 2)} bps (FEE_TIER ${p.fee_tier}). p_up: share of non-flat 1 s-grid returns that are positive.`,
    "",
  );
  const all = d.hit_rates.filter((r) => r.symbol === ALL && r.scenario === ALL);
  out.push("### All symbols, all regimes, every horizon", "", table(HIT_HEAD, all.map(hitCells)), "");
  out.push(`### Per symbol at H = ${ph} s`, "", table(HIT_HEAD, d.hit_rates.filter((r) => r.horizon_s === ph && r.symbol !== ALL && r.scenario === ALL).map(hitCells)), "");
  out.push(`### Per regime (scenario_2x2) at H = ${ph} s, all symbols`, "", table(HIT_HEAD, d.hit_rates.filter((r) => r.horizon_s === ph && r.symbol === ALL && r.scenario !== ALL).map(hitCells)), "");
  out.push("Per symbol × regime × horizon rows are in the JSON file (`hit_rates`).", "");

  out.push(`### Information coefficient (Spearman on a 1 s grid, per ${p.ic_period})`, "");
  out.push(
    table(
      ["signal (score)", "H s", "symbol", "periods", "samples", "mean IC", "std", "IC_IR", "t", "pooled IC"],
      d.ic
        .filter((r) => r.symbol === ALL || r.horizon_s === ph)
        .map((r) => [`${signalLabel(r.signal)} (${r.score})`, String(r.horizon_s), r.symbol, int(r.n_periods), int(r.n_samples), fix(r.mean_ic), fix(r.std_ic), fix(r.ic_ir, 3), fix(r.t_stat, 2), fix(r.pooled_ic)]),
    ),
    "",
    `Rows for every symbol list H = ${ph} s; the ALL rows (every symbol's periods together) list every horizon. A period needs ${p.ic_min_samples} grid samples.`,
    "",
  );

  out.push("## Data quality", "");
  out.push(
    table(
      DQ_HEAD,
      d.data_quality.map(dqCells),
    ),
    "",
  );
  for (const s of d.data_quality) {
    out.push(`### ${s.symbol} per hour (UTC, event time)`, "");
    out.push(
      table(
        DQ_HOUR_HEAD,
        s.hours.map(dqHourCells),
      ),
      "",
    );
  }

  out.push("## Paper trading", "");
  if (d.paper.length === 0) out.push("No `kind=paper` rows in this range (paper trading was not enabled: PAPER_ENABLE=1).", "");
  else {
    out.push(
      table(
        PAPER_HEAD,
        d.paper.map(paperCells),
      ),
      "",
      "PnL in quote currency (USDT), positions sized by `[risk]`, taker fees on both legs; a trade is a round trip (take-profit tiers included); trades/day = trades per observed day (seconds with `features` rows); Sharpe = mean/std of per-trade net returns, not annualised.",
      "",
    );
  }

  out.push("## Testnet trading", "");
  if (d.trading.length === 0) out.push(TRADING_EMPTY, "");
  else out.push(table(TRADING_HEAD, d.trading.map(tradingCells)), "", TRADING_NOTE, "");

  out.push("## A/B: plain rule against the model filter", "");
  if (d.ab === null) out.push(AB_EMPTY, "");
  else out.push(`**${abVerdict(d.ab)}**`, "", table(AB_HEAD, abRows(d.ab)), "", AB_NOTE, "");

  out.push("## Inputs", "");
  out.push(`Raw: \`${d.inputs.output_dir}\`; preview: \`${d.inputs.preview_dir}\`. Read in ${(d.inputs.elapsed_ms / 1000).toFixed(1)} s.`, "");
  out.push(table(["kind", "files", "rows"], Object.keys({ ...d.inputs.files, ...d.inputs.rows }).sort().map((k) => [k, int(d.inputs.files[k] ?? 0), int(d.inputs.rows[k] ?? 0)])), "");
  if (d.inputs.skipped_files.length > 0) {
    out.push("Skipped (unreadable) files:", "");
    for (const s of d.inputs.skipped_files) out.push(`- \`${s.path}\`: ${s.error}`);
    out.push("");
  }
  return out.join("\n");
}
