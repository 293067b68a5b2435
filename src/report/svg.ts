/**
 * Inline SVG charts for the self-contained HTML report: line/dot charts with optional error bars and
 * reference lines, and grouped bar charts. Output is plain markup (no script, no external resource),
 * sized by a viewBox so it scales with the page. Every text goes through `esc`.
 */

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Colour-blind-safe palette (Okabe–Ito). */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"] as const;

export interface XYSeries {
  readonly name: string;
  readonly color: string;
  /** [x, y]; y null = gap. */
  readonly points: readonly (readonly [number, number | null])[];
  /** Per point [lo, hi] drawn as a whisker. */
  readonly errors?: readonly (readonly [number, number] | null)[];
  /** Draw markers only (no connecting line). */
  readonly dotsOnly?: boolean;
  /** Label next to each point. */
  readonly labels?: readonly (string | null)[];
}

export interface RefLine {
  readonly y: number;
  readonly label: string;
  readonly color: string;
}

export interface XYChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly XYSeries[];
  readonly refLines?: readonly RefLine[];
  readonly xFormat?: (x: number) => string;
  readonly yFormat?: (y: number) => string;
  /** Explicit x tick positions (e.g. the horizons); default: 6 even ticks. */
  readonly xTicks?: readonly number[];
  /** Log-scaled x axis (positive x only). */
  readonly xLog?: boolean;
  /** Fixed y range; default: data (and reference lines) with 8 % padding. */
  readonly yRange?: readonly [number, number];
  readonly width?: number;
  readonly height?: number;
}

const M = { top: 48, right: 28, bottom: 46, left: 64 };

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

const num = (v: number): string => (Math.round(v * 100) / 100).toString();

function empty(title: string, w: number, h: number, why: string): string {
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}"><text x="${w / 2}" y="22" class="ctitle" text-anchor="middle">${esc(title)}</text><text x="${w / 2}" y="${h / 2}" text-anchor="middle" class="muted">${esc(why)}</text></svg>`;
}

export function xyChart(c: XYChart): string {
  const w = c.width ?? 720;
  const h = c.height ?? 300;
  const fx = c.xFormat ?? ((x: number) => num(x));
  const fy = c.yFormat ?? ((y: number) => num(y));
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of c.series) {
    s.points.forEach(([x, y], i) => {
      if (y === null || !Number.isFinite(y)) return;
      xs.push(x);
      ys.push(y);
      const e = s.errors?.[i];
      if (e) ys.push(e[0], e[1]);
    });
  }
  if (xs.length === 0) return empty(c.title, w, h, "no data");
  for (const r of c.refLines ?? []) ys.push(r.y);
  const tx = (x: number) => (c.xLog ? Math.log10(x) : x);
  // Explicit ticks (e.g. every horizon) belong on the axis even where a series has no value.
  const xDomain = [...xs, ...(c.xTicks ?? [])].map(tx);
  let x0 = Math.min(...xDomain);
  let x1 = Math.max(...xDomain);
  // A single x value (one hour, one period) sits in the middle with one tick under it.
  const single = x0 === x1;
  if (single) {
    x0 -= 1;
    x1 += 1;
  }
  let [y0, y1] = c.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!c.yRange) {
    const pad = (y1 - y0) * 0.08 || Math.abs(y0) * 0.1 || 1;
    y0 -= pad;
    y1 += pad;
  }
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const X = (x: number) => M.left + ((tx(x) - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => M.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${w / 2}" y="17" class="ctitle" text-anchor="middle">${esc(c.title)}</text>`);
  for (const t of niceTicks(y0, y1, 5)) {
    parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${num(Y(t))}" y2="${num(Y(t))}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${num(Y(t) + 4)}" text-anchor="end" class="tick">${esc(fy(t))}</text>`);
  }
  const xt = c.xTicks ?? (single ? [xs[0]] : c.xLog ? [] : niceTicks(x0, x1, 6));
  for (const t of xt) {
    parts.push(`<line x1="${num(X(t))}" x2="${num(X(t))}" y1="${M.top + ph}" y2="${M.top + ph + 4}" class="axis"/>`);
    parts.push(`<text x="${num(X(t))}" y="${M.top + ph + 17}" text-anchor="middle" class="tick">${esc(fx(t))}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" class="axis"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" class="axis"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${h - 8}" text-anchor="middle" class="alabel">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" class="alabel">${esc(c.yLabel)}</text>`);
  // Reference-line labels sit at the right end; one too close to the previous moves left.
  let prevLabelY = Number.NaN;
  let labelX = w - M.right - 4;
  for (const r of [...(c.refLines ?? [])].sort((a, b) => b.y - a.y)) {
    const y = Y(r.y);
    parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${num(y)}" y2="${num(y)}" stroke="${r.color}" stroke-dasharray="5 4" stroke-width="1.2"/>`);
    labelX = Math.abs(y - prevLabelY) < 12 ? labelX - 6.2 * r.label.length - 14 : w - M.right - 4;
    prevLabelY = y;
    parts.push(`<text x="${num(labelX)}" y="${num(y - 4)}" text-anchor="end" class="tick" fill="${r.color}">${esc(r.label)}</text>`);
  }
  const n = c.series.length;
  c.series.forEach((s, si) => {
    // Spread overlapping series sideways a little so whiskers stay readable.
    const dx = s.errors && n > 1 ? (si - (n - 1) / 2) * 6 : 0;
    let path = "";
    let pen = false;
    s.points.forEach(([x, y]) => {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${num(X(x) + dx)} ${num(Y(y))}`;
      pen = true;
    });
    if (!s.dotsOnly && path !== "") parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.points.forEach(([x, y], i) => {
      if (y === null || !Number.isFinite(y)) return;
      const e = s.errors?.[i];
      const cx = num(X(x) + dx);
      if (e) parts.push(`<line x1="${cx}" x2="${cx}" y1="${num(Y(e[0]))}" y2="${num(Y(e[1]))}" stroke="${s.color}" stroke-width="1.5"/>`);
      const tip = `${s.name}: ${fx(x)} → ${fy(y)}${e ? ` [${fy(e[0])}, ${fy(e[1])}]` : ""}`;
      parts.push(`<circle cx="${cx}" cy="${num(Y(y))}" r="${s.dotsOnly || s.errors ? 3.5 : 2.2}" fill="${s.color}"><title>${esc(tip)}</title></circle>`);
      const label = s.labels?.[i];
      // Near the right edge the label goes to the left of its point.
      const right = X(x) > M.left + pw * 0.85;
      if (label) parts.push(`<text x="${num(X(x) + dx + (right ? -5 : 5))}" y="${num(Y(y) - 5)}" text-anchor="${right ? "end" : "start"}" class="plabel" fill="${s.color}">${esc(label)}</text>`);
    });
  });
  parts.push(legend(c.series.map((s) => [s.name, s.color]), M.left, 36));
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(c.title)}">${parts.join("")}</svg>`;
}

function legend(items: readonly (readonly [string, string])[], x: number, y: number): string {
  let cx = x;
  const out: string[] = [];
  for (const [name, color] of items) {
    out.push(`<rect x="${num(cx)}" y="${y - 8}" width="10" height="10" fill="${color}"/><text x="${num(cx + 14)}" y="${y + 1}" class="tick">${esc(name)}</text>`);
    cx += 24 + name.length * 6.2;
  }
  return out.join("");
}

export interface BarChart {
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly { readonly name: string; readonly color: string; readonly values: readonly (number | null)[] }[];
  readonly yFormat?: (y: number) => string;
  readonly width?: number;
  readonly height?: number;
}

/** Grouped bars per category (categories thinned on the axis when there are many). */
export function barChart(c: BarChart): string {
  const w = c.width ?? 720;
  const h = c.height ?? 260;
  const fy = c.yFormat ?? ((y: number) => num(y));
  const vals = c.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (vals.length === 0 || c.categories.length === 0) return empty(c.title, w, h, "no data");
  let y0 = Math.min(0, ...vals);
  let y1 = Math.max(0, ...vals);
  if (y0 === y1) y1 = y0 + 1;
  const pad = (y1 - y0) * 0.08;
  if (y0 < 0) y0 -= pad;
  y1 += pad;
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const Y = (y: number) => M.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const band = pw / c.categories.length;
  const bw = Math.max(1, (band * 0.8) / c.series.length);
  const parts: string[] = [`<text x="${w / 2}" y="17" class="ctitle" text-anchor="middle">${esc(c.title)}</text>`];
  for (const t of niceTicks(y0, y1, 5)) {
    parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${num(Y(t))}" y2="${num(Y(t))}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${num(Y(t) + 4)}" text-anchor="end" class="tick">${esc(fy(t))}</text>`);
  }
  const every = Math.ceil(c.categories.length / 12);
  c.categories.forEach((cat, i) => {
    const bx = M.left + i * band + band * 0.1;
    c.series.forEach((s, si) => {
      const v = s.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const top = Y(Math.max(v, 0));
      const height = Math.max(0.5, Math.abs(Y(v) - Y(0)));
      parts.push(`<rect x="${num(bx + si * bw)}" y="${num(top)}" width="${num(bw)}" height="${num(height)}" fill="${s.color}"><title>${esc(`${s.name} ${cat}: ${fy(v)}`)}</title></rect>`);
    });
    if (i % every === 0) parts.push(`<text x="${num(M.left + i * band + band / 2)}" y="${M.top + ph + 17}" text-anchor="middle" class="tick">${esc(cat)}</text>`);
  });
  parts.push(`<line x1="${M.left}" x2="${w - M.right}" y1="${num(Y(0))}" y2="${num(Y(0))}" class="axis"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" class="axis"/>`);
  parts.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" class="alabel">${esc(c.yLabel)}</text>`);
  parts.push(legend(c.series.map((s) => [s.name, s.color]), M.left, 36));
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(c.title)}">${parts.join("")}</svg>`;
}
