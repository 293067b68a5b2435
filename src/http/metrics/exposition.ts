/**
 * Prometheus text exposition format 0.0.4, written by hand (no client library: the format is small
 * and the collector already keeps every figure). Each family is written once with HELP and TYPE,
 * then its samples; label values are escaped; histograms come from util/histogram.ts (milliseconds)
 * and are exposed in seconds, the base unit.
 */
import type { Histogram } from "../../util/histogram.ts";

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Readonly<Record<string, string>>;

/** Metric and label names Prometheus accepts; we also insist on snake_case (lower case). */
const NAME_RE = /^[a-z_:][a-z0-9_:]*$/;
const LABEL_RE = /^[a-z_][a-z0-9_]*$/;

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** Rendered `k="v",…` of a labels object: one object is usually rendered for many families. */
const renderedLabels = new WeakMap<Labels, string>();

function labelPairs(labels: Labels): string {
  let text = renderedLabels.get(labels);
  if (text === undefined) {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL_RE.test(k)) throw new Error(`invalid Prometheus label name ${JSON.stringify(k)}`);
      parts.push(`${k}="${escapeLabelValue(v)}"`);
    }
    text = parts.join(",");
    renderedLabels.set(labels, text);
  }
  return text;
}

function labelText(labels: Labels | undefined, le?: string): string {
  const pairs = labels === undefined ? "" : labelPairs(labels);
  if (le !== undefined) return pairs === "" ? `{le="${le}"}` : `{${pairs},le="${le}"}`;
  return pairs === "" ? "" : `{${pairs}}`;
}

/** `le` of a millisecond bucket bound, in seconds. */
const leTexts = new Map<number, string>();
function leText(boundMs: number): string {
  let t = leTexts.get(boundMs);
  if (t === undefined) leTexts.set(boundMs, (t = formatValue(boundMs / 1000)));
  return t;
}

/** A sample whose value is null or undefined is left out (the figure is not known yet). */
export type Sample = readonly [Labels | undefined, number | null | undefined];

export class Exposition {
  private readonly lines: string[] = [];
  private readonly families = new Set<string>();

  private header(name: string, type: MetricType, help: string): void {
    if (!NAME_RE.test(name)) throw new Error(`invalid Prometheus metric name ${JSON.stringify(name)}`);
    if (this.families.has(name)) throw new Error(`metric family ${name} written twice`);
    if (type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name} must end in _total`);
    this.families.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  private samples(name: string, samples: readonly Sample[]): void {
    for (const [labels, value] of samples) {
      if (value === null || value === undefined) continue;
      this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
    }
  }

  counter(name: string, help: string, samples: readonly Sample[]): this {
    this.header(name, "counter", help);
    this.samples(name, samples);
    return this;
  }

  gauge(name: string, help: string, samples: readonly Sample[]): this {
    this.header(name, "gauge", help);
    this.samples(name, samples);
    return this;
  }

  /**
   * A histogram family from millisecond Histograms, exposed in seconds: cumulative `_bucket{le}`
   * series, `_sum` and `_count`.
   */
  histogramMs(name: string, help: string, series: readonly (readonly [Labels | undefined, Histogram])[]): this {
    if (!name.endsWith("_seconds")) throw new Error(`histogram ${name} is exposed in seconds and must end in _seconds`);
    this.header(name, "histogram", help);
    for (const [labels, h] of series) {
      let cumulative = 0;
      for (let i = 0; i < h.bounds.length; i++) {
        cumulative += h.counts[i]!;
        this.lines.push(`${name}_bucket${labelText(labels, leText(h.bounds[i]!))} ${cumulative}`);
      }
      this.lines.push(`${name}_bucket${labelText(labels, "+Inf")} ${h.count}`);
      this.lines.push(`${name}_sum${labelText(labels)} ${formatValue(h.sum / 1000)}`);
      this.lines.push(`${name}_count${labelText(labels)} ${h.count}`);
    }
    return this;
  }

  text(): string {
    return this.lines.length === 0 ? "" : this.lines.join("\n") + "\n";
  }
}
