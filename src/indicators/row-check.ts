/**
 * Checks a row emitted by a custom indicator against its declared columns and builds the row the
 * sinks get: `symbol`, `ts_ms`, then the columns in declared order. A row that does not fit is
 * refused with the reason (the host counts it as an error of the handler and drops it), so a module's
 * mistake never reaches a file as a wrong type or a silently missing value.
 */
import type { Cell, Row } from "../core/rows.ts";
import type { LoadedIndicator } from "./contract.ts";

export type RowCheck = { readonly row: Row } | { readonly refused: string };

const describe = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v === "number" || typeof v === "boolean" ? String(v) : typeof v);

export function checkRow(symbol: string, columns: LoadedIndicator["columns"], emitted: unknown): RowCheck {
  if (typeof emitted !== "object" || emitted === null || Array.isArray(emitted)) return { refused: `emit() needs a row object, got ${describe(emitted)}` };
  const e = emitted as Record<string, unknown>;
  const ts = e.ts_ms;
  if (!Number.isSafeInteger(ts) || (ts as number) < 0) return { refused: `ts_ms must be an integer epoch-ms time, got ${describe(ts)}` };
  const out: Record<string, Cell> = { symbol, ts_ms: ts as number };
  let seen = 1;
  for (const c of columns) {
    if (!Object.hasOwn(e, c.name)) return { refused: `column ${c.name} is missing (emit null when there is no value)` };
    seen++;
    const v = e[c.name];
    if (v === null) {
      out[c.name] = null;
      continue;
    }
    switch (c.type) {
      case "double":
        if (typeof v !== "number" || !Number.isFinite(v)) return { refused: `column ${c.name} (double) got ${describe(v)}; emit a finite number or null` };
        break;
      case "int64":
        if (!Number.isSafeInteger(v)) return { refused: `column ${c.name} (int64) got ${describe(v)}; emit an integer below 2^53 or null` };
        break;
      case "string":
        if (typeof v !== "string") return { refused: `column ${c.name} (string) got ${describe(v)}` };
        break;
      case "bool":
        if (typeof v !== "boolean") return { refused: `column ${c.name} (bool) got ${describe(v)}` };
        break;
    }
    out[c.name] = v as Cell;
  }
  if (Object.keys(e).length !== seen) {
    const extra = Object.keys(e).find((k) => k !== "ts_ms" && !columns.some((c) => c.name === k));
    return { refused: `${extra === "symbol" ? "symbol is added by harvestd" : `column ${extra} is not declared in columns`}` };
  }
  return { row: out };
}
