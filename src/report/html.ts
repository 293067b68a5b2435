/**
 * The self-contained HTML report: inline CSS and inline SVG charts, no script and no external
 * resource (it opens from a file, offline). Figures come from ReportData, like the Markdown.
 */
import type { ReportData } from "./build.ts";
import { DQ_KINDS, type DqHour } from "./data-quality.ts";
import { absentWarning, DASH, fix, int, outcomeWord, signalLabel, skippedWarning, utcHour, utcMinute, verdictHeadline, verdictSentence } from "./format.ts";
import { DQ_HEAD, DQ_HOUR_HEAD, dqCells, dqHourCells, HIT_HEAD, hitCells, PAPER_HEAD, paperCells } from "./markdown.ts";
import { ALL, SIGNALS } from "./signals.ts";
import { barChart, esc, PALETTE, xyChart, type XYSeries } from "./svg.ts";
import { TRADING_EMPTY, TRADING_HEAD, TRADING_NOTE, tradingCells } from "./trading-section.ts";
import { AB_EMPTY, AB_HEAD, AB_NOTE, abRows, abVerdict } from "./ab-section.ts";

const SIGNAL_COLOR: Record<string, string> = { fusion: PALETTE[0], ofi: PALETTE[1], cvd: PALETTE[2] };

const CSS = `
:root{--fg:#1b1f24;--muted:#5b6672;--line:#d8dee4;--bg:#fff;--pass:#116329;--passbg:#dafbe1;--fail:#a40e26;--failbg:#ffebe9;--unjudged:#7d4e00;--unjudgedbg:#fff8c5}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1180px;padding:20px 24px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:20px 0 6px}
.meta,.muted,.note{color:var(--muted)}.note{font-size:12.5px;max-width:95ch}
.verdict{border-radius:8px;padding:12px 16px;margin:12px 0;border:1px solid}.verdict.pass{background:var(--passbg);border-color:var(--pass)}.verdict.fail{background:var(--failbg);border-color:var(--fail)}.verdict.insufficient_data{background:var(--unjudgedbg);border-color:var(--unjudged)}.warning{background:var(--failbg);border:1px solid var(--fail);border-radius:8px;padding:8px 12px}
.verdict strong{font-size:15px}.verdict ul{margin:8px 0 0;padding-left:20px}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-weight:600;font-size:12px}.tag.pass{background:var(--passbg);color:var(--pass)}.tag.fail{background:var(--failbg);color:var(--fail)}
.scroll{overflow-x:auto;margin:6px 0 10px}table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:right;white-space:nowrap}th{background:#f6f8fa;position:sticky;top:0}td:first-child,th:first-child{text-align:left}
tr.all td{font-weight:600}.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:8px 18px}
svg.chart{width:100%;height:auto;display:block;margin:6px 0}svg .ctitle{font-size:13px;font-weight:600;fill:var(--fg)}svg .tick{font-size:10.5px;fill:var(--muted)}
svg .alabel{font-size:11px;fill:var(--muted)}svg .plabel{font-size:10px}svg .grid{stroke:#eef1f4}svg .axis{stroke:#8c959f}svg .muted{fill:var(--muted);font-size:12px}
details{margin:4px 0}summary{cursor:pointer;color:var(--muted)}
`;

function table(head: readonly string[], rows: readonly (readonly string[])[], rowClass?: (i: number) => string): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r, i) => `<tr${rowClass ? ` class="${rowClass(i)}"` : ""}>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("");
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** UTC tick labels with as much precision as the time span needs. */
function timeFormat(spanMs: number): (x: number) => string {
  if (spanMs > 36 * 3_600_000) return (x) => `${new Date(x).toISOString().slice(5, 13).replace("T", " ")}h`;
  if (spanMs > 2 * 3_600_000) return (x) => new Date(x).toISOString().slice(11, 16);
  return (x) => new Date(x).toISOString().slice(11, 19);
}

export function renderHtml(d: ReportData): string {
  const p = d.params;
  const ph = p.primary_horizon_s;
  const s: string[] = [];
  s.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`);
  s.push(`<link rel="icon" href="data:,"><title>${esc(`harvestd report ${d.from} … ${d.to}`)}</title><style>${CSS}</style></head><body>`);
  s.push(`<h1>${esc(d.title)}</h1>`);
  const skipped = skippedWarning(d);
  if (skipped !== null) s.push(`<p class="warning"><strong>Warning:</strong> ${esc(skipped)}</p>`);
  const absent = absentWarning(d);
  if (absent !== null) s.push(`<p class="warning"><strong>Warning:</strong> ${esc(`${absent} of every table, chart and verdict below.`)}</p>`);
  s.push(`<div class="meta">UTC dates ${esc(d.from)} … ${esc(d.to)} · symbols: ${esc(d.symbols.join(", ") || "none")} · generated ${esc(d.generated_at)} · harvestd ${esc(d.version)}</div>`);

  // ---- verdict
  s.push(`<h2>Verdict</h2><div class="verdict ${d.verdict.outcome}"><strong>${esc(verdictHeadline(d))}</strong><ul>`);
  for (const l of d.verdict.lines) s.push(`<li>${esc(verdictSentence(l))}</li>`);
  s.push(`</ul></div>`);
  s.push(
    `<details><summary>Per symbol at H = ${ph} s</summary>${table(
      ["symbol", "signal", "verdict", "HR", "n_eval", "Wilson lower"],
      d.verdict.per_symbol.map((v) => [v.symbol, signalLabel(v.signal), outcomeWord(v.outcome), fix(v.hr), int(v.n_eval), fix(v.wilson_lo)]),
    )}</details>`,
  );

  // ---- signal validation
  s.push(`<h2>Signal validation (docs/indicators.md §12)</h2>`);
  s.push(
    `<p class="note">Labels r_H = 1e4·ln(mid(t+H)/mid(t)) bps from valid books; excluded when a reconnect or full OFI reset lies in (t, t+H] or t+H is beyond the data. ` +
      `OFI and CVD signal at |z| ≥ ${p.z_sig}. Non-overlap thinning per symbol and H; flats |r_H| ≤ ${p.flat_bps} bps excluded. Whiskers: Wilson 95 % intervals. ` +
      `Net = gross − round-trip taker fee ${fix(p.round_trip_fee_bps, 2)} bps (FEE_TIER ${esc(p.fee_tier)}).</p>`,
  );
  const allRows = d.hit_rates.filter((r) => r.symbol === ALL && r.scenario === ALL);
  const hrSeries: XYSeries[] = SIGNALS.map((sig) => {
    const rows = p.horizons_s.map((h) => allRows.find((r) => r.signal === sig && r.horizon_s === h));
    return {
      name: signalLabel(sig),
      color: SIGNAL_COLOR[sig],
      points: p.horizons_s.map((h, i) => [h, rows[i]?.hr ?? null] as const),
      errors: rows.map((r) => (r && r.wilson_lo !== null && r.wilson_hi !== null ? ([r.wilson_lo, r.wilson_hi] as const) : null)),
      labels: rows.map((r) => (r && r.n_eval > 0 ? `n=${r.n_eval}` : null)),
    };
  });
  const regimes = [...new Set(d.hit_rates.filter((r) => r.scenario !== ALL).map((r) => r.scenario))].sort();
  const atPh = d.hit_rates.filter((r) => r.horizon_s === ph && r.symbol === ALL);
  s.push(`<div class="grid2">`);
  s.push(
    xyChart({
      title: "Hit rate by horizon (thinned, all symbols)",
      xLabel: "horizon H (s, log scale)",
      yLabel: "hit rate",
      series: hrSeries,
      xLog: true,
      xTicks: p.horizons_s,
      refLines: [
        { y: 0.5, label: "0.50 coin flip", color: "#8c959f" },
        { y: 0.55, label: "0.55 OFI/CVD bar", color: SIGNAL_COLOR.ofi },
        { y: 0.6, label: "0.60 fusion bar", color: SIGNAL_COLOR.fusion },
      ],
      yRange: [0, 1],
      yFormat: (y) => y.toFixed(2),
    }),
  );
  s.push(
    barChart({
      title: `Hit rate per regime at H = ${ph} s (thinned, all symbols)`,
      yLabel: "hit rate",
      categories: regimes,
      series: SIGNALS.map((sig) => ({ name: signalLabel(sig), color: SIGNAL_COLOR[sig], values: regimes.map((rg) => atPh.find((r) => r.signal === sig && r.scenario === rg)?.hr ?? null) })),
      yFormat: (y) => y.toFixed(2),
    }),
  );
  s.push(`</div>`);
  s.push(`<h3>All symbols, all regimes, every horizon</h3>${table(HIT_HEAD, allRows.map(hitCells))}`);
  const perSymbolRows = d.hit_rates.filter((r) => r.horizon_s === ph && r.scenario === ALL);
  s.push(`<h3>Per symbol at H = ${ph} s</h3>${table(HIT_HEAD, perSymbolRows.map(hitCells), (i) => (perSymbolRows[i].symbol === ALL ? "all" : ""))}`);
  s.push(`<h3>Per regime at H = ${ph} s, all symbols</h3>${table(HIT_HEAD, atPh.filter((r) => r.scenario !== ALL).map(hitCells))}`);
  s.push(`<p class="note">Every symbol × regime × horizon row is in the JSON file (<code>hit_rates</code>).</p>`);

  // ---- IC
  s.push(`<h3>Information coefficient (Spearman, 1 s grid, per ${p.ic_period})</h3>`);
  const icAll = d.ic.filter((r) => r.symbol === ALL);
  const periodPts = d.ic.filter((r) => r.symbol !== ALL && r.horizon_s === ph);
  const span = Math.max(1, ...d.data_quality.map((q) => (q.last_ts_ms ?? 0) - (q.first_ts_ms ?? 0)));
  s.push(`<div class="grid2">`);
  s.push(
    xyChart({
      title: "Mean IC by horizon (all symbols' periods)",
      xLabel: "horizon H (s, log scale)",
      yLabel: "mean Spearman IC",
      xLog: true,
      xTicks: p.horizons_s,
      series: SIGNALS.map((sig) => ({ name: signalLabel(sig), color: SIGNAL_COLOR[sig], points: p.horizons_s.map((h) => [h, icAll.find((r) => r.signal === sig && r.horizon_s === h)?.mean_ic ?? null] as const) })),
      refLines: [{ y: 0, label: "0", color: "#8c959f" }],
      yFormat: (y) => y.toFixed(3),
    }),
  );
  s.push(
    xyChart({
      title: `IC per ${p.ic_period} at H = ${ph} s (each symbol)`,
      xLabel: `${p.ic_period} start (UTC)`,
      yLabel: "Spearman IC",
      xFormat: timeFormat(span),
      series: SIGNALS.map((sig) => ({
        name: signalLabel(sig),
        color: SIGNAL_COLOR[sig],
        dotsOnly: true,
        points: periodPts.filter((r) => r.signal === sig).flatMap((r) => r.periods.map((q) => [q.start_ms, q.ic] as const)),
      })),
      refLines: [{ y: 0, label: "0", color: "#8c959f" }],
      yFormat: (y) => y.toFixed(2),
    }),
  );
  s.push(`</div>`);
  const icRows = d.ic.filter((r) => r.symbol === ALL || r.horizon_s === ph);
  s.push(
    table(
      ["signal (score)", "H s", "symbol", "periods", "samples", "mean IC", "std", "IC_IR", "t", "pooled IC"],
      icRows.map((r) => [`${signalLabel(r.signal)} (${r.score})`, String(r.horizon_s), r.symbol, int(r.n_periods), int(r.n_samples), fix(r.mean_ic), fix(r.std_ic), fix(r.ic_ir, 3), fix(r.t_stat, 2), fix(r.pooled_ic)]),
      (i) => (icRows[i].symbol === ALL ? "all" : ""),
    ),
  );

  // ---- data quality
  s.push(`<h2>Data quality</h2>`);
  const fmtT = timeFormat(span);
  const perSym = d.data_quality.slice(0, PALETTE.length);
  const color = (i: number) => PALETTE[i % PALETTE.length];
  s.push(`<div class="grid2">`);
  s.push(
    xyChart({
      title: "Receive rate per hour (live trades + book messages per s)",
      xLabel: "hour (UTC, event time)",
      yLabel: "messages / s",
      xFormat: fmtT,
      series: perSym.map((q, i) => ({ name: q.symbol, color: color(i), points: q.hours.map((h) => [h.hour_start_ms, h.covered_s > 0 ? (h.trades_per_s ?? 0) + (h.books_per_s ?? 0) : null] as const) })),
    }),
  );
  s.push(
    xyChart({
      title: "Event latency p99 per hour (receipt − exchange E)",
      xLabel: "hour (UTC, event time)",
      yLabel: "ms",
      xFormat: fmtT,
      series: perSym.map((q, i) => ({ name: q.symbol, color: color(i), points: q.hours.map((h) => [h.hour_start_ms, h.latency_p99_ms] as const) })),
    }),
  );
  const hoursAll = [...new Set(d.data_quality.flatMap((q) => q.hours.map((h) => h.hour_start_ms)))].sort((a, b) => a - b);
  const sumAt = (h: number, f: (x: DqHour) => number) =>
    d.data_quality.reduce((a, q) => {
      const x = q.hours.find((y) => y.hour_start_ms === h);
      return a + (x === undefined ? 0 : f(x));
    }, 0);
  s.push(
    barChart({
      title: "Gaps, resyncs and reconnects per hour (all symbols)",
      yLabel: "count",
      categories: hoursAll.map((h) => utcHour(h).slice(5)),
      series: [
        { name: "trade-id gaps", color: PALETTE[1], values: hoursAll.map((h) => sumAt(h, (x) => x.trade_id_gaps)) },
        { name: "depth seq gaps", color: PALETTE[4], values: hoursAll.map((h) => sumAt(h, (x) => x.seq_gaps)) },
        { name: "reconnects", color: PALETTE[3], values: hoursAll.map((h) => sumAt(h, (x) => x.reconnects_public + x.reconnects_market)) },
        { name: "backfilled trades", color: PALETTE[5], values: hoursAll.map((h) => sumAt(h, (x) => x.trades_backfilled)) },
      ],
    }),
  );
  s.push(`</div>`);
  if (d.data_quality.length > perSym.length) s.push(`<p class="note">Charts show the first ${perSym.length} symbols; the tables list all.</p>`);
  s.push(
    table(
      DQ_HEAD,
      d.data_quality.map(dqCells),
    ),
  );
  for (const q of d.data_quality) {
    s.push(
      `<details><summary>${esc(q.symbol)} per hour</summary>${table(
        DQ_HOUR_HEAD,
        q.hours.map(dqHourCells),
      )}</details>`,
    );
  }

  // ---- paper trading
  s.push(`<h2>Paper trading</h2>`);
  if (d.paper.length === 0) s.push(`<p class="muted">No <code>kind=paper</code> rows in this range (paper trading was not enabled: PAPER_ENABLE=1).</p>`);
  else {
    s.push(
      xyChart({
        title: "Equity per symbol (realised PnL after each fill, fees included)",
        width: 1130,
        height: 320,
        xLabel: "time (UTC, event time)",
        yLabel: "USDT",
        xFormat: fmtT,
        series: d.paper.slice(0, PALETTE.length).map((r, i) => ({ name: r.symbol, color: color(i), points: r.equity_curve.map(([t, e]) => [t, e] as const) })),
        refLines: [{ y: 0, label: "0", color: "#8c959f" }],
      }),
    );
    s.push(
      table(
        PAPER_HEAD,
        d.paper.map(paperCells),
      ),
    );
    s.push(`<p class="note">PnL in USDT, positions sized by <code>[risk]</code>; taker fills at best_buy_fill/best_sell_fill with FEE_TIER taker fees on both legs. A trade is a round trip (take-profit tiers included); trades/day = trades per observed day (seconds with <code>features</code> rows). Sharpe = mean/std of per-trade net returns, not annualised.</p>`);
  }

  // ---- testnet trading
  s.push(`<h2>Testnet trading</h2>`);
  if (d.trading.length === 0) s.push(`<p class="muted">${esc(TRADING_EMPTY)}</p>`);
  else {
    s.push(
      xyChart({
        title: "Net PnL per symbol (venue fills, commissions included)",
        width: 1130,
        height: 320,
        xLabel: "time (UTC)",
        yLabel: "USDT",
        xFormat: fmtT,
        series: d.trading.slice(0, PALETTE.length).map((r, i) => ({ name: r.symbol, color: color(i), points: r.equity_curve.map(([t, e]) => [t, e] as const) })),
        refLines: [{ y: 0, label: "0", color: "#8c959f" }],
      }),
    );
    s.push(table(TRADING_HEAD, d.trading.map(tradingCells)));
    s.push(`<p class="note">${esc(TRADING_NOTE)}</p>`);
  }

  // ---- A/B
  s.push(`<h2>A/B: plain rule against the model filter</h2>`);
  if (d.ab === null) s.push(`<p class="muted">${esc(AB_EMPTY)}</p>`);
  else s.push(`<p><strong>${esc(abVerdict(d.ab))}</strong></p>`, table(AB_HEAD, abRows(d.ab)), `<p class="note">${esc(AB_NOTE)}</p>`);

  // ---- inputs
  s.push(`<h2>Inputs</h2><p class="note">Raw <code>${esc(d.inputs.output_dir)}</code>, preview <code>${esc(d.inputs.preview_dir)}</code>; read in ${(d.inputs.elapsed_ms / 1000).toFixed(1)} s.</p>`);
  s.push(table(["kind", "files", "rows"], Object.keys({ ...d.inputs.files, ...d.inputs.rows }).sort().map((k) => [k, int(d.inputs.files[k] ?? 0), int(d.inputs.rows[k] ?? 0)])));
  if (d.inputs.skipped_files.length > 0) s.push(`<p><strong>Skipped (unreadable) files:</strong></p><ul>${d.inputs.skipped_files.map((x) => `<li><code>${esc(x.path)}</code>: ${esc(x.error)}</li>`).join("")}</ul>`);
  s.push(`</body></html>\n`);
  return s.join("\n");
}
