/**
 * Just enough of TOML's lexical rules to read a configuration file line by line, beside the real
 * parser (Bun.TOML): where a line's comment starts (a `#` outside strings), and what a line leaves
 * open (a multi-line string, a list or an inline table that goes on). Interpolation needs the first,
 * so that `${VAR}` in a comment is left alone; placing a parse error on its line needs the second,
 * because Bun's error carries no position in the TOML text.
 */

/** What the lines so far leave open, carried from one line to the next. */
export interface LineState {
  /** The delimiter of a multi-line string still open, or null. */
  readonly string: '"""' | "'''" | null;
  /** Lists and inline tables still open. */
  readonly depth: number;
}

export const START: LineState = { string: null, depth: 0 };

export interface LineScan {
  /** Index of the comment's `#`, or the line's length: what comes before is TOML, what follows is not. */
  readonly codeEnd: number;
  readonly next: LineState;
  /** Index of the innermost string, list or table this line opened and did not close, or null. */
  readonly unclosed: number | null;
}

/**
 * `${VAR}` and `${VAR:-default}`. Skipped whole outside strings, so that a `#` in a default is not
 * taken for a comment (the value it stands for has not been substituted yet).
 */
export const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const VARIABLE_HERE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/;

/** Scans one line, given what the lines before it left open. */
export function scanLine(line: string, state: LineState): LineScan {
  let quote: string | null = state.string;
  let quoteAt: number | null = null;
  let depth = state.depth;
  const opened: number[] = [];
  let i = 0;
  const result = (codeEnd: number): LineScan => {
    // A one-line string ends with its line (TOML refuses the newline): only a multi-line one goes on.
    const string = quote === '"""' || quote === "'''" ? quote : null;
    const unclosed = quote !== null && quoteAt !== null ? quoteAt : (opened.at(-1) ?? null);
    return { codeEnd, next: { string, depth }, unclosed };
  };
  while (i < line.length) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === "\\" && quote[0] === '"') i += 2;
      else if (line.startsWith(quote, i)) {
        i += quote.length;
        quote = null;
        quoteAt = null;
      } else i++;
      continue;
    }
    if (c === "#") return result(i);
    if (c === '"' || c === "'") {
      quote = line.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      quoteAt = i;
      i += quote.length;
      continue;
    }
    const variable = c === "$" ? VARIABLE_HERE.exec(line.slice(i)) : null;
    if (variable !== null) {
      i += variable[0].length;
      continue;
    }
    if (c === "[" || c === "{") {
      opened.push(i);
      depth++;
    } else if ((c === "]" || c === "}") && depth > 0) {
      opened.pop();
      depth--;
    }
    i++;
  }
  return result(line.length);
}

/** Each line's scan, in order. */
export function scanLines(lines: readonly string[]): LineScan[] {
  let state = START;
  return lines.map((line) => {
    const scan = scanLine(line, state);
    state = scan.next;
    return scan;
  });
}

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
/** `key =`, `a.b."c" =`: a key/value line; the key is group 1. */
export const KEY_LINE = new RegExp(String.raw`^\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*=`);
/** `[table]`, `[[array.of.tables]]`, alone on the line but for a comment; the name is group 1. */
export const HEADER_LINE = new RegExp(String.raw`^\s*\[\[?\s*(${KEY_PART}(?:\s*\.\s*${KEY_PART})*)\s*\]\]?\s*(?:#.*)?$`);

/**
 * The line (1-based) where each key of a TOML file is set, by its path as problems name it
 * (`storage.output_dir`, `strategy.regimes.A_L.exit`, `indicators.custom[1].module`,
 * `strategy.take_profit[0].at_bps`): key/value lines under a `[table]` or `[[array of tables]]`
 * header, dotted keys, inline tables and lists (one line each, or spread over lines). A table's own
 * path maps to its header, or to the first line that set a key under it. Read only after the real
 * parser accepted the (interpolated) text; `${VAR}` is skipped whole, as interpolation would replace
 * it. Whatever this cannot follow ends the map there: a missing path falls back to the file alone.
 */
export function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const n = text.length;
  let i = 0;
  let line = 1;
  const note = (path: string, at: number): void => {
    if (path !== "" && !out.has(path)) out.set(path, at);
  };
  const join = (prefix: string, key: string): string => (prefix === "" ? key : `${prefix}.${key}`);
  /** Each prefix of `prefix` + `keys` is noted (dotted keys make the tables above them); returns the full path. */
  const noteAll = (prefix: string, keys: readonly string[], at: number): string => {
    let p = prefix;
    for (const k of keys) note((p = join(p, k)), at);
    return p;
  };
  const advance = (to: number): void => {
    for (; i < to && i < n; i++) if (text[i] === "\n") line++;
  };
  /** Spaces and tabs; with `newlines`, also line ends and comments (inside a list). */
  const skip = (newlines: boolean): void => {
    while (i < n) {
      const c = text[i]!;
      if (c === " " || c === "\t" || c === "\r") i++;
      else if (newlines && c === "\n") advance(i + 1);
      else if (newlines && c === "#") while (i < n && text[i] !== "\n") i++;
      else break;
    }
  };
  /** A string at `i` (any of TOML's four kinds); returns its text roughly unescaped. */
  const string = (): string => {
    const q = text.startsWith('"""', i) ? '"""' : text.startsWith("'''", i) ? "'''" : text[i]!;
    const start = i + q.length;
    let j = start;
    while (j < n && !text.startsWith(q, j)) j += text[j] === "\\" && q[0] === '"' ? 2 : 1;
    if (j >= n) throw new Error("unterminated string");
    const body = text.slice(start, j);
    advance(j + q.length);
    // A closing `"""` may be followed by up to two more quotes that belong to the string.
    while (q.length === 3 && text[i] === q[0]) i++;
    return q[0] === '"' ? body.replace(/\\(.)/g, "$1") : body;
  };
  /** A dotted key at `i`: its parts. */
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skip(false);
      const c = text[i];
      if (c === '"' || c === "'") parts.push(string());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i, i + 200));
        if (m === null) throw new Error("no key");
        parts.push(m[0]);
        i += m[0].length;
      }
      skip(false);
      if (text[i] !== ".") return parts;
      i++;
    }
  };
  /** A value at `i` for the key at `path`: notes the keys of inline tables and the entries of lists. */
  const value = (path: string): void => {
    skip(false);
    const c = text[i];
    if (c === '"' || c === "'") {
      string();
      return;
    }
    if (c === "[") {
      i++;
      for (let k = 0; ; k++) {
        skip(true);
        if (text[i] === "]") break;
        note(`${path}[${k}]`, line);
        value(`${path}[${k}]`);
        skip(true);
        if (text[i] === ",") i++;
        else if (text[i] !== "]") throw new Error("list");
      }
      i++;
      return;
    }
    if (c === "{") {
      i++;
      for (;;) {
        skip(true);
        if (text[i] === "}") break;
        const at = line;
        const sub = noteAll(path, key(), at);
        if (text[i] !== "=") throw new Error("inline table");
        i++;
        value(sub);
        skip(true);
        if (text[i] === ",") i++;
        else if (text[i] !== "}") throw new Error("inline table");
      }
      i++;
      return;
    }
    // A number, a date, true/false or `${VAR}`: up to what ends a value.
    while (i < n && !",]}\n#".includes(text[i]!)) {
      const variable = text[i] === "$" ? VARIABLE_HERE.exec(text.slice(i)) : null;
      i += variable === null ? 1 : variable[0].length;
    }
  };

  let table = "";
  /** How many entries each array of tables has so far, by its path. */
  const arrays = new Map<string, number>();
  /** A header's parts as a path, each array of tables above it at its latest entry. */
  const resolveHeader = (parts: readonly string[], last: boolean): string => {
    let p = "";
    for (const [k, part] of parts.entries()) {
      p = join(p, part);
      const count = arrays.get(p);
      if (count !== undefined && (k < parts.length - 1 || !last)) p = `${p}[${count - 1}]`;
    }
    return p;
  };
  try {
    while (i < n) {
      skip(true);
      if (i >= n) break;
      const at = line;
      if (text[i] === "[") {
        const many = text[i + 1] === "[";
        i += many ? 2 : 1;
        const parts = key();
        i += many ? 2 : 1;
        if (many) {
          const arrayPath = resolveHeader(parts, true);
          const count = arrays.get(arrayPath) ?? 0;
          arrays.set(arrayPath, count + 1);
          noteAll("", arrayPath.split("."), at);
          table = `${arrayPath}[${count}]`;
          note(table, at);
        } else {
          table = resolveHeader(parts, false);
          // The tables above it too (`[a.b]` makes `a`), unless a line already set them.
          noteAll("", table.split("."), at);
        }
      } else {
        const path = noteAll(table, key(), at);
        if (text[i] !== "=") throw new Error("key/value");
        i++;
        value(path);
      }
      // The rest of the line is a comment or nothing.
      while (i < n && text[i] !== "\n") i++;
    }
  } catch {
    // Not followed: what was mapped so far stands.
  }
  return out;
}
