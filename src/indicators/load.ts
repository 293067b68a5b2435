/**
 * Loads the custom indicator modules named in `[[indicators.custom]]` and checks them, once per
 * thread (the collector, each replay worker): the file is imported at run time by the Bun runtime
 * inside the compiled executable, which transpiles TypeScript itself, so no Bun, node_modules or
 * rebuild is needed on the server. A module may import only relative files and `node:` built-ins.
 *
 * Every problem names the entry, the file and what is wrong; `validate`, `run` and `replay` print one
 * line per problem and exit 78. Modules that pass are registered as Parquet kinds `custom_<name>`
 * (core/rows.ts), which the sinks need before they start.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { registerCustomSchema, type ColumnDef } from "../core/rows.ts";
import {
  COLUMN_TYPES,
  kindOf,
  MAX_NAME_LENGTH,
  NAME_PATTERN,
  RESERVED_COLUMNS,
  type Indicator,
  type IndicatorColumnType,
  type LoadedIndicator,
} from "./contract.ts";
import type { CustomIndicatorEntry } from "./params.ts";
import { withPlace } from "./where-thrown.ts";

export interface IndicatorProblem {
  /** `indicators.custom[i]`. */
  readonly entry: string;
  readonly file: string;
  readonly message: string;
}

export type IndicatorLoad =
  | { readonly ok: true; readonly indicators: readonly LoadedIndicator[] }
  | { readonly ok: false; readonly problems: readonly IndicatorProblem[] };

export function formatIndicatorProblem(p: IndicatorProblem): string {
  return `${p.entry} (${p.file}): ${p.message}`;
}

/** Bun's BuildMessage / ResolveMessage carry where the problem is. */
interface Positioned {
  readonly position?: { readonly file?: string; readonly line?: number; readonly column?: number } | null;
}

/** One line for a failed import: syntax errors with their position, resolution errors as they are. */
function importError(e: unknown, file: string): string {
  // Several syntax errors come as one AggregateError of BuildMessages: the first one is reported.
  const all = (e as { errors?: unknown }).errors;
  const err = (Array.isArray(all) && all.length > 0 ? all[0] : e) as Error & Positioned;
  const msg = String(err?.message ?? e).split("\n")[0]!;
  const pos = err?.position;
  if (pos !== null && pos !== undefined && typeof pos.line === "number") {
    const where = pos.file !== undefined && resolve(pos.file) !== file ? `${pos.file}:` : "line ";
    return `cannot load: ${msg} (${where}${pos.line}:${pos.column ?? 0})`;
  }
  if (err?.name === "ResolveMessage") return `cannot load: ${msg} (a module may import only relative files and node: built-ins)`;
  return withPlace(`cannot load: the module threw while loading: ${msg}`, err, file);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Checks a default export against the contract; returns the first problem found, or the columns. */
function checkExport(def: unknown): { columns: LoadedIndicator["columns"] } | { problem: string } {
  if (!isPlainObject(def)) return { problem: "the module has no default export object ({ name, columns, create })" };
  const name = def.name;
  if (typeof name !== "string" || !NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) {
    return { problem: `name ${JSON.stringify(name)} must be a string matching [a-z][a-z0-9_]*, at most ${MAX_NAME_LENGTH} characters` };
  }
  if (typeof def.create !== "function") return { problem: "create must be a function (ctx) => ({ onTrade?, onBook? })" };
  if (def.validateParams !== undefined && typeof def.validateParams !== "function") return { problem: "validateParams must be a function when present" };
  const cols = def.columns;
  if (!isPlainObject(cols)) return { problem: 'columns must be an object such as { vwap: "double", n: "int64" }' };
  const columns: { name: string; type: IndicatorColumnType }[] = [];
  for (const [col, type] of Object.entries(cols)) {
    if (!NAME_PATTERN.test(col) || col.length > 64) return { problem: `column ${JSON.stringify(col)}: names must match [a-z][a-z0-9_]*, at most 64 characters` };
    if (RESERVED_COLUMNS.includes(col)) return { problem: `column ${JSON.stringify(col)} is added by harvestd; choose another name` };
    if (typeof type !== "string" || !Object.hasOwn(COLUMN_TYPES, type)) {
      return { problem: `column ${JSON.stringify(col)} has type ${JSON.stringify(type)}; expected "double", "int64", "string" or "bool"` };
    }
    columns.push({ name: col, type: type as IndicatorColumnType });
  }
  if (columns.length === 0) return { problem: "columns must declare at least one column" };
  return { columns };
}

/** The module's verdict on its params: null = accepted. */
function checkParams(mod: Indicator, params: Readonly<Record<string, unknown>>): string | null {
  if (mod.validateParams === undefined) return null;
  let verdict: unknown;
  try {
    verdict = mod.validateParams(params);
  } catch (e) {
    return `validateParams threw: ${(e as Error)?.message ?? String(e)}`;
  }
  if (verdict === null || verdict === undefined || verdict === "") return null;
  return `params rejected by the module: ${String(verdict)}`;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export function schemaOfColumns(columns: LoadedIndicator["columns"]): ColumnDef[] {
  return [
    { name: "symbol", type: "str", nullable: false },
    { name: "ts_ms", type: "ts", nullable: false },
    ...columns.map((c): ColumnDef => ({ name: c.name, type: COLUMN_TYPES[c.type], nullable: true })),
  ];
}

/**
 * Imports and checks every entry (all of them, so one `validate` lists every problem). On success the
 * kinds are registered in this thread. Relative module paths resolve against the working directory
 * (config/load.ts has already made the configured ones absolute, relative to the config file).
 */
export async function loadIndicators(entries: readonly CustomIndicatorEntry[]): Promise<IndicatorLoad> {
  const problems: IndicatorProblem[] = [];
  const loaded: LoadedIndicator[] = [];
  for (const [i, entry] of entries.entries()) {
    const file = resolve(entry.module);
    const at = `indicators.custom[${i}]`;
    const problem = (message: string) => problems.push({ entry: at, file, message });
    if (!existsSync(file)) {
      problem("file not found");
      continue;
    }
    if (!statSync(file).isFile()) {
      problem("not a file");
      continue;
    }
    let ns: Record<string, unknown>;
    try {
      ns = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (e) {
      problem(importError(e, file));
      continue;
    }
    const checked = checkExport(ns.default);
    if ("problem" in checked) {
      problem(checked.problem);
      continue;
    }
    const mod = ns.default as unknown as Indicator;
    // A copy: modules must not share (or change) the configuration's objects.
    const params = deepFreeze(structuredClone(entry.params)) as Readonly<Record<string, unknown>>;
    const rejected = checkParams(mod, params);
    if (rejected !== null) {
      problem(rejected);
      continue;
    }
    const name = entry.name ?? mod.name;
    if (loaded.some((l) => l.name === name)) {
      problem(`the name ${name} is already used by another [[indicators.custom]] entry; give this one its own name`);
      continue;
    }
    loaded.push({ name, kind: kindOf(name), file, module: mod, columns: checked.columns, schema: schemaOfColumns(checked.columns), params });
  }
  if (problems.length > 0) return { ok: false, problems };
  for (const l of loaded) registerCustomSchema(l.kind, l.schema);
  return { ok: true, indicators: loaded };
}
