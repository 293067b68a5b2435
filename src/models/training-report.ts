/**
 * The training report as Markdown and as one self-contained HTML page with inline SVG charts (per-fold
 * AUC of each family, calibration of the chosen model). The JSON form is the TrainReport itself.
 */
import type { CalibrationBin, HitRate } from "./metrics.ts";
import type { FamilyResult, TrainReport } from "./report-types.ts";

const f3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(3));
const f1 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(1));
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function tiers(r: TrainReport): string {
  return r.barrier.take_profit.map((t) => `${t.fraction * 100} % at ${t.at_bps} bps`).join(", ") || "none";
}

function hr(h: HitRate): string {
  return h.n === 0 ? "none taken" : `${f3(h.hit_rate)} of ${h.n} [${f3(h.wilson_lo)}, ${f3(h.wilson_hi)}], mean ${f1(h.mean_ret_bps)} bps`;
}

function summaryRows(r: TrainReport): string[][] {
  return r.results.map((x) => {
    const s = x.walk_forward;
    return [
      x.family,
      `${f3(s.auc?.auc)} [${f3(s.auc?.lo)}, ${f3(s.auc?.hi)}]`,
      f3(s.log_loss),
      f3(s.precision_at_threshold),
      hr(s.taken),
      hr(s.plain),
      f3(x.random_kfold_auc),
      x.verdict,
    ];
  });
}

const SUMMARY_HEAD = ["model", "OOS AUC [95 %]", "log loss", `precision at threshold`, "taken: hit rate [Wilson 95 %]", "plain rule, same samples", "random K-fold AUC (leaks)", "verdict"];

function foldRows(x: FamilyResult): string[][] {
  return x.folds.map((f) => [String(f.fold), String(f.train), String(f.purged), String(f.test), f.test_from ?? "", f.test_to ?? "", f3(f.auc), f3(f.log_loss), f3(f.precision_at_threshold)]);
}
const FOLD_HEAD = ["fold", "train", "purged", "test", "test from", "test to", "AUC", "log loss", "precision"];

function mdTable(head: readonly string[], rows: readonly string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function renderTrainingMarkdown(r: TrainReport): string {
  const out: string[] = [];
  out.push(`# Training report ${r.request.from} … ${r.request.to}`, "");
  out.push(`**Verdict: ${r.verdict}.**`, "");
  out.push(`Model written as model.json: **${r.chosen.name}** (${r.chosen.reason}).`, "");
  out.push(`- Symbols: ${r.request.symbols.join(", ")}; families: ${r.request.families.join(", ")}; seed ${r.request.seed}; ${r.request.folds} walk-forward folds; threshold ${r.request.threshold}`);
  out.push(`- Samples: ${r.dataset.samples} ${r.request.signals === "strategy" ? "entry signals of the strategy's rule" : "changes of the fusion signal to buy/sell"} (${r.dataset.wins} won), ${r.dataset.unlabelled} without a label; ${r.dataset.first_signal} … ${r.dataset.last_signal}`);
  out.push(`- Labels: paper trading's exit rules — take-profit ${tiers(r)}, stop ${r.barrier.stop_bps} bps, max hold ${r.barrier.max_hold_ms / 1000} s, taker ${r.barrier.taker_bps} bps per leg (${r.barrier.fee_tier}); a win is a positive net PnL`);
  out.push(`- Validation: purged walk-forward, embargo ${r.embargo_ms / 1000} s (≥ the maximum hold); training rows whose label window reaches the test block are dropped`);
  out.push(`- Data hash ${r.dataset.data_hash}; code ${r.code_version}; features ${r.features.feature_set} (${r.features.flat.length} flat, ${r.features.seq_len} s × ${r.features.seq_channels.length} channels)`, "");
  out.push("## Out of sample (all walk-forward test folds together)", "");
  out.push(mdTable(SUMMARY_HEAD, summaryRows(r)), "");
  out.push(`Design effect (signals per independent outcome, from overlapping label windows): ${r.results.map((x) => `${x.family} ${x.walk_forward.design_effect.toFixed(2)}`).join(", ")}; the AUC intervals are widened by its square root.`, "");
  out.push("\"no edge\" means the AUC's 95 % interval contains 0.5 (or lies below it). The random K-fold column trains on the neighbours of each test signal, whose label windows overlap: a higher figure there and not in walk-forward is leakage, not skill.", "");
  for (const x of r.results) {
    if (x.folds.length === 0) continue;
    out.push(`## ${x.family}: folds`, "", mdTable(FOLD_HEAD, foldRows(x)), "");
    out.push(`Calibration (bins of predicted probability): ${x.walk_forward.calibration.filter((b) => b.n > 0).map((b) => `${b.lo.toFixed(1)}–${b.hi.toFixed(1)}: ${f3(b.win_rate)} of ${b.n}`).join("; ")}`, "");
  }
  return `${out.join("\n")}\n`;
}

function htmlTable(head: readonly string[], rows: readonly string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

const W = 560;
const H = 220;
const PAD = 36;

/** AUC per fold for each family, with the 0.5 line. */
function foldChart(r: TrainReport): string {
  const fams = r.results.filter((x) => x.folds.length > 0);
  const nf = Math.max(1, ...fams.map((x) => x.folds.length));
  const x = (i: number): number => PAD + ((W - 2 * PAD) * (i + 0.5)) / nf;
  const y = (v: number): number => H - PAD - ((H - 2 * PAD) * (v - 0.2)) / 0.8;
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
  const parts: string[] = [`<line x1="${PAD}" x2="${W - PAD}" y1="${y(0.5)}" y2="${y(0.5)}" stroke="#888" stroke-dasharray="4 3"/>`];
  for (const v of [0.2, 0.4, 0.5, 0.6, 0.8, 1.0]) parts.push(`<text x="4" y="${y(v) + 4}" font-size="10">${v.toFixed(1)}</text>`);
  fams.forEach((fam, k) => {
    const c = colours[k % colours.length];
    const pts = fam.folds.map((f, i) => (f.auc === null ? null : `${x(i).toFixed(1)},${y(Math.max(0.2, Math.min(1, f.auc))).toFixed(1)}`)).filter((p): p is string => p !== null);
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.join(" ")}"/>`);
    for (const p of pts) parts.push(`<circle cx="${p.split(",")[0]}" cy="${p.split(",")[1]}" r="3" fill="${c}"/>`);
    parts.push(`<text x="${W - PAD + 4}" y="${PAD + 12 * k}" font-size="10" fill="${c}">${esc(fam.family)}</text>`);
  });
  for (let i = 0; i < nf; i++) parts.push(`<text x="${x(i) - 8}" y="${H - PAD + 14}" font-size="10">fold ${i + 1}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W + 60}" height="${H}" role="img" aria-label="AUC per fold">${parts.join("")}</svg>`;
}

/** Win rate against predicted probability per bin; the diagonal is perfect calibration. */
function calibrationChart(bins: readonly CalibrationBin[]): string {
  const s = (v: number): number => PAD + (H - 2 * PAD) * v;
  const parts: string[] = [`<line x1="${s(0)}" y1="${H - s(0)}" x2="${s(1)}" y2="${H - s(1)}" stroke="#888" stroke-dasharray="4 3"/>`];
  for (const b of bins) {
    if (b.n === 0 || b.mean_p === null || b.win_rate === null) continue;
    parts.push(`<circle cx="${s(b.mean_p).toFixed(1)}" cy="${(H - s(b.win_rate)).toFixed(1)}" r="${Math.min(9, 2 + Math.sqrt(b.n) / 3).toFixed(1)}" fill="#1f77b4" fill-opacity="0.6"><title>${b.n} samples</title></circle>`);
  }
  parts.push(`<text x="${PAD}" y="${H - 6}" font-size="10">predicted probability →</text><text x="4" y="${PAD - 8}" font-size="10">win rate</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${H}" height="${H}" role="img" aria-label="calibration">${parts.join("")}</svg>`;
}

export function renderTrainingHtml(r: TrainReport): string {
  const chosen = r.results.find((x) => x.family === r.chosen.name) ?? r.results[0];
  const body: string[] = [];
  body.push(`<h1>Training report ${esc(r.request.from)} … ${esc(r.request.to)}</h1>`);
  body.push(`<p class="verdict"><b>Verdict: ${esc(r.verdict)}.</b></p>`);
  body.push(`<p>model.json = <b>${esc(r.chosen.name)}</b> (${esc(r.chosen.reason)}). ${r.dataset.samples} signals (${r.dataset.wins} won) from ${esc(r.request.symbols.join(", "))}; labels by paper trading's exit rules (take-profit ${tiers(r)}, stop ${r.barrier.stop_bps} bps, max hold ${r.barrier.max_hold_ms / 1000} s, taker ${r.barrier.taker_bps} bps per leg); purged walk-forward with a ${r.embargo_ms / 1000} s embargo. Data hash <code>${esc(r.dataset.data_hash.slice(0, 16))}</code>, code ${esc(r.code_version)}.</p>`);
  body.push(`<h2>Out of sample</h2>${htmlTable(SUMMARY_HEAD, summaryRows(r))}`);
  body.push(`<h2>AUC per walk-forward fold</h2>${foldChart(r)}`);
  body.push(`<h2>Calibration of ${esc(chosen.family)}</h2>${calibrationChart(chosen.walk_forward.calibration)}`);
  for (const x of r.results) if (x.folds.length > 0) body.push(`<h3>${esc(x.family)}</h3>${htmlTable(FOLD_HEAD, foldRows(x))}`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>harvestd training report</title><style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}.verdict{font-size:1.2em}</style></head><body>${body.join("\n")}</body></html>\n`;
}
