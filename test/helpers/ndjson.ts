/** Reads harvestd's NDJSON raw logs back (plain or gzip), independently of the collector's code. */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export function listFiles(dir: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (re.test(p)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Every line of a symbol's raw logs, in file (hour) order. */
export function readSymbolLines(ndjsonDir: string, symbol: string): Record<string, unknown>[] {
  const files = listFiles(ndjsonDir, new RegExp(`symbol=${symbol}/raw-\\d\\d\\.ndjson(\\.gz)?$`)).sort((a, b) => {
    const key = (p: string) => `${/date=([\d-]+)/.exec(p)![1]}/${/raw-(\d\d)/.exec(p)![1]}`;
    return key(a) < key(b) ? -1 : 1;
  });
  const lines: Record<string, unknown>[] = [];
  for (const f of files) {
    const buf = readFileSync(f);
    const text = f.endsWith(".gz") ? gunzipSync(buf).toString("utf8") : buf.toString("utf8");
    for (const l of text.split("\n")) if (l.length > 0) lines.push(JSON.parse(l) as Record<string, unknown>);
  }
  return lines;
}

/** The exact `data` payload text of each data line of a raw log file text. */
export function rawDataTexts(text: string): { stream: string; data: string }[] {
  const out: { stream: string; data: string }[] = [];
  for (const l of text.split("\n")) {
    if (!l.includes('"latency_event_ms"')) continue;
    const i = l.indexOf(',"data":');
    out.push({ stream: (JSON.parse(l) as { stream: string }).stream, data: l.slice(i + 8, -1) });
  }
  return out;
}

export function readSymbolText(ndjsonDir: string, symbol: string): string {
  return listFiles(ndjsonDir, new RegExp(`symbol=${symbol}/raw-\\d\\d\\.ndjson(\\.gz)?$`))
    .map((f) => {
      const buf = readFileSync(f);
      return f.endsWith(".gz") ? gunzipSync(buf).toString("utf8") : buf.toString("utf8");
    })
    .join("");
}

/**
 * Named pipes where the NDJSON sink will put SYMBOL's file for this hour and the next, under a data
 * folder `dir` (its `ndjson/`): nobody reads them, so once a pipe's buffer is full every write to that
 * file blocks for good — a real stuck writer, no hook.
 */
export function blockNdjson(dir: string, symbol: string): void {
  const now = Date.now();
  for (const t of [now, now + 3_600_000]) {
    const iso = new Date(t).toISOString();
    const folder = join(dir, "ndjson", `date=${iso.slice(0, 10)}`, `symbol=${symbol}`);
    mkdirSync(folder, { recursive: true });
    const r = Bun.spawnSync(["mkfifo", join(folder, `raw-${iso.slice(11, 13)}.ndjson`)]);
    if (r.exitCode !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
  }
}
