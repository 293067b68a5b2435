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
