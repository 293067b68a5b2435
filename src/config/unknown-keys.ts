/**
 * What to say about a key the configuration does not have: the settings it has at that level, and
 * the nearest of them when the key looks like a misspelling (`parquet_rotate_secs`,
 * `ndjson_compres`), so a typo is one edit away from fixed instead of a hunt through the docs.
 */
import type { z } from "zod";

/** At most this many edits apart for a known key to be offered as the one meant. */
const MAX_EDITS = 2;

/**
 * The known keys of the object at `path` in `schema` (through defaults, optionals and pipes, the
 * entries of lists such as `[[indicators.custom]]` and the values of tables keyed by symbol), or null.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] | null {
  let s: unknown = schema;
  let rest = path;
  for (;;) {
    // zod 4's `def`: an object has its shape, an array its element, a record its value type; default,
    // prefault, optional and nullable wrap an inner type, a pipe its input.
    const def = (s as { def?: { type?: string; innerType?: unknown; element?: unknown; valueType?: unknown; in?: unknown } }).def;
    if (def === undefined) return null;
    if (def.type === "object") {
      const shape = (s as { shape: Record<string, z.ZodType> }).shape;
      if (rest.length === 0) return Object.keys(shape);
      s = shape[String(rest[0])];
      if (s === undefined) return null;
      rest = rest.slice(1);
    } else if ((def.type === "array" || def.type === "record") && rest.length > 0) {
      s = def.type === "array" ? def.element : def.valueType;
      rest = rest.slice(1);
    } else if (def.type === "pipe") {
      s = def.in;
    } else if (def.innerType !== undefined) {
      s = def.innerType;
    } else {
      return null;
    }
  }
}

/** `unknown key "x"`, with the nearest known key when one is close enough. */
export function unknownKeyMessage(key: string, known: readonly string[] | null): string {
  const near = known === null ? null : nearest(key, known);
  return near === null ? `unknown key "${key}"` : `unknown key "${key}" (did you mean "${near}"?)`;
}

function nearest(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = MAX_EDITS + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
