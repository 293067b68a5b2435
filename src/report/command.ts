/**
 * `harvestd report --from DATE --to DATE [--symbols A,B]`: builds the report and writes
 * ARTIFACTS_DIR/dq_reports/dq_<from>_<to>[_<symbols>].{md,json,html}, each replaced atomically.
 * Progress goes to stderr, the written paths to stdout.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { versionInfo } from "../util/version.ts";
import type { ReportConfig } from "./params.ts";
import { buildReport, type ReportRequest } from "./build.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import { Progress } from "./progress.ts";
import { absentWarning, outcomeWord, skippedWarning } from "./format.ts";

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks the command line's dates and symbols; returns a one-line problem or null. */
export function checkRequest(from: string | null, to: string | null): string | null {
  if (from === null || to === null) return "report needs --from YYYY-MM-DD and --to YYYY-MM-DD (UTC dates, inclusive)";
  for (const [name, v] of [["--from", from], ["--to", to]] as const) {
    const ms = DATE.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
    // A day that does not exist (2026-02-30) either fails to parse or rolls over into another date.
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v) return `report ${name} ${JSON.stringify(v)} is not a date YYYY-MM-DD`;
  }
  if (from > to) return `report --from ${from} is after --to ${to}`;
  return null;
}

/** File name stem: the range, plus the symbols when a subset was asked for. */
export function reportStem(req: ReportRequest): string {
  const base = `dq_${req.from}_${req.to}`;
  if (req.symbols === null) return base;
  const joined = req.symbols.join("-");
  if (joined.length <= 60) return `${base}_${joined}`;
  const hash = new Bun.CryptoHasher("sha256").update(joined).digest("hex").slice(0, 10);
  return `${base}_${req.symbols.length}symbols_${hash}`;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.partial`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function runReport(cfg: ReportConfig, req: ReportRequest): Promise<number> {
  const progress = new Progress((line) => process.stderr.write(`${line}\n`));
  const data = await buildReport(req, { cfg, version: versionInfo().version, progress });
  if (data.inputs.files.prices === undefined && data.inputs.files.orderbook === undefined) {
    process.stderr.write(`harvestd: no prices or orderbook Parquet files for ${req.from} … ${req.to}${req.symbols ? ` (${req.symbols.join(",")})` : ""} under ${cfg.storage.output_dir}\n`);
    return 1;
  }
  const dir = join(cfg.storage.artifacts_dir, "dq_reports");
  const stem = join(dir, reportStem(req));
  try {
    mkdirSync(dir, { recursive: true });
    writeAtomic(`${stem}.json`, `${JSON.stringify(data, null, 1)}\n`);
    writeAtomic(`${stem}.md`, renderMarkdown(data));
    writeAtomic(`${stem}.html`, renderHtml(data));
  } catch (e) {
    process.stderr.write(`harvestd: cannot write the report under ${dir}: ${(e as Error).message}\n`);
    return 1;
  }
  for (const ext of ["md", "json", "html"]) process.stdout.write(`${stem}.${ext}\n`);
  const skipped = skippedWarning(data, "every figure of the report");
  if (skipped !== null) process.stderr.write(`report: warning: ${skipped}\n`);
  const absent = absentWarning(data);
  if (absent !== null) process.stderr.write(`report: warning: ${absent}\n`);
  const v = data.verdict;
  process.stderr.write(`report: verdict at H = ${v.horizon_s} s: ${outcomeWord(v.outcome)} (${v.lines.map((l) => `${l.signal} ${outcomeWord(l.outcome).toLowerCase()} n_eval=${l.n_eval}`).join(", ")})\n`);
  return 0;
}
