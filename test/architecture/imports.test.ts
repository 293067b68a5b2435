/**
 * The import rule of docs/architecture.md, checked on the source itself: every folder of src/ has a
 * layer, and a module may import only its own folder or folders of lower layers; no module imports
 * itself through a cycle. A new folder must be given its layer here and in the document.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "..", "..", "src");

/** Lower layers first; a folder may import its own layer's folder and every lower layer. */
export const LAYERS: Readonly<Record<string, number>> = {
  util: 0,
  // Neutral contracts: market events, row schemas, the adapter seam, the raw-log line format.
  core: 1,
  // Components: each owns its settings schema; none knows config, pipeline, http or cli.
  exchange: 2,
  calc: 2,
  sinks: 2,
  indicators: 3,
  trading: 3,
  models: 4,
  report: 4,
  config: 5,
  pipeline: 6,
  http: 7,
  cli: 8,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : /\.(ts|js)$/.test(name) ? [p] : [];
  });
}

/** Relative imports of a module (static, dynamic and type-only), as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) out.push(resolve(dirname(file), m[1]!));
  return out;
}

const folderOf = (abs: string): string => relative(SRC, abs).split("/")[0]!;
const files = sourceFiles(SRC);

describe("imports follow the layers (docs/architecture.md)", () => {
  test("every folder of src/ has a layer", () => {
    const folders = [...new Set(files.map(folderOf))].filter((f) => !f.endsWith(".ts"));
    expect(folders.filter((f) => !(f in LAYERS))).toEqual([]);
  });

  test("no module imports a folder of a higher layer, or a sibling folder of its own layer", () => {
    const wrong: string[] = [];
    for (const f of files) {
      const from = folderOf(f);
      for (const target of importsOf(f)) {
        if (!target.startsWith(SRC)) continue;
        const to = folderOf(target);
        if (to === from) continue;
        if (!(LAYERS[to]! < LAYERS[from]!)) wrong.push(`${relative(SRC, f)} → ${relative(SRC, target)} (${from} layer ${LAYERS[from]}, ${to} layer ${LAYERS[to]})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("of pipeline/'s modules (store/ included) only venue.ts names the exchange (docs/extending.md)", () => {
    const named = files
      .filter((f) => folderOf(f) === "pipeline" && f !== join(SRC, "pipeline", "venue.ts"))
      .flatMap((f) => importsOf(f).filter((t) => folderOf(t) === "exchange").map((t) => `${relative(SRC, f)} → ${relative(SRC, t)}`));
    expect(named).toEqual([]);
  });

  test("trading/ never names the exchange: it trades through core/execution.ts (docs/extending.md)", () => {
    const named = files
      .filter((f) => folderOf(f) === "trading")
      .flatMap((f) => importsOf(f).filter((t) => folderOf(t) === "exchange").map((t) => `${relative(SRC, f)} → ${relative(SRC, t)}`));
    expect(named).toEqual([]);
  });

  test("no import cycle between modules", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(SRC))]));
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(" → "));
        return;
      }
      state.set(f, "open");
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, "done");
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
