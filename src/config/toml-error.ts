/**
 * Where a TOML parse error is, and what to show of it. Bun.TOML's error gives a message only (its
 * `line` and `column` are those of the JavaScript call), and the message can name the wrong cause:
 * a list left open on line 1 is reported as "Strings must be quoted" at whatever key comes next. So
 * the text is parsed again line by line: the error is on the first line whose prefix of the file
 * fails for a reason other than running out of text, unless that line starts a new key while a
 * list, table or string of an earlier line is still open; then the earlier line is the cause.
 */
import { hideUserInfo } from "../util/user-info.ts";
import { isSecretKey, NOT_SHOWN } from "./redact.ts";
import { HEADER_LINE, KEY_LINE, scanLines, type LineScan } from "./toml-lines.ts";

export interface TomlErrorPlace {
  /** 1-based. */
  readonly line: number;
  /** 1-based; null when `${VAR}` changed the line (a column in the substituted text would mislead). */
  readonly column: number | null;
  readonly message: string;
  /** The line as the file has it, shortened; a secret key's value is not shown. */
  readonly text: string;
}

type Parse = (text: string) => unknown;

/** Bun's words for "the text ended first": the line after may complete what this one opened. */
const RAN_OUT = /^Unterminated (array|string$|escape sequence)|but found end of file$/;
const MAX_SHOWN = 80;

/**
 * `original`: the file's lines; `interpolated`: the same lines after `${VAR}` substitution (what was
 * parsed; one entry per original line, even if a value brought newlines). Call only when parsing
 * `interpolated.join("\n")` failed.
 */
export function locateTomlError(original: readonly string[], interpolated: readonly string[], parse: Parse = (t) => Bun.TOML.parse(t)): TomlErrorPlace {
  const scans = scanLines(interpolated);
  const file: File = { original, interpolated, scans };
  const failure = (k: number): string | null => {
    try {
      parse(interpolated.slice(0, k).join("\n"));
      return null;
    } catch (e) {
      return (e as Error).message.replace(/^TOML Parse error: /, "");
    }
  };
  const [first, last] = failingSpan(scans, failure);
  let start = first;
  let ranOut: string | null = null;
  for (let k = first; k <= last; k++) {
    const message = failure(k);
    if (message === null) {
      // Only if the scan misread a line: the text up to here is whole, the cause is further on.
      [start, ranOut] = [k + 1, null];
      continue;
    }
    const open = scans[k - 1]!.next.string !== null || scans[k - 1]!.next.depth > 0;
    if (open && RAN_OUT.test(message)) {
      // The file ends inside what `start` opened: that line is the cause.
      if (k === last) return place(file, start, message, start);
      ranOut = message;
      continue;
    }
    if (k > start && ranOut !== null && startsStatement(interpolated[k - 1]!)) {
      // A new key while the earlier line's list, table or string is open: that line is the cause.
      return place(file, start, `${ranOut.replace(/ but found end of file$/, "")} (still open at line ${k})`, start);
    }
    return place(file, k, message, start);
  }
  return place(file, last, failure(last) ?? "", start);
}

/**
 * The lines [first, last] holding the error: `last` is the first line after which nothing is open
 * and the text up to it fails (or the last line), `first` the line after the one before that which
 * also closed everything. Parsing up to a line that closes everything succeeds until the error and
 * fails from then on, so a binary search over those lines finds it in a few parses, not one a line.
 */
function failingSpan(scans: readonly LineScan[], failure: (k: number) => string | null): readonly [number, number] {
  const closed = [0, ...scans.flatMap((s, i) => (s.next.string === null && s.next.depth === 0 ? [i + 1] : []))];
  if (closed.at(-1) !== scans.length) closed.push(scans.length);
  // closed[lo] parses (0 lines always does), closed[hi] fails (the whole text does).
  let lo = 0;
  let hi = closed.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (failure(closed[mid]!) === null) lo = mid;
    else hi = mid;
  }
  return [closed[lo]! + 1, closed[hi]!];
}

function startsStatement(line: string): boolean {
  return KEY_LINE.test(line) || HEADER_LINE.test(line);
}

interface File {
  readonly original: readonly string[];
  readonly interpolated: readonly string[];
  readonly scans: readonly LineScan[];
}

/** The error at `line`; `spanStart`: the line whose list or string it is in, if an earlier one. */
function place({ original, interpolated, scans }: File, line: number, message: string, spanStart: number): TomlErrorPlace {
  const text = original[line - 1] ?? "";
  const same = text === interpolated[line - 1];
  const column = same ? columnOf(text, scans[line - 1]!, message) : null;
  // The table the line is in, the keys it names, and those of the line whose list it continues.
  const keys = [tableAbove(original, line), ...keysOf(text), ...(line > spanStart ? keysOf(original[spanStart - 1] ?? "") : [])];
  const secret = isSecretKey(keys.filter((k): k is string => k !== null));
  return {
    line,
    column,
    message: secret ? withoutQuotedText(message) : message,
    text: secret ? secretLine(text) : shorten(hideUserInfo(text).trim(), column),
  };
}

/** 1-based column of what the message names (a bare word, a character, a key), else of the value. */
function columnOf(line: string, scan: LineScan, message: string): number {
  const code = line.slice(0, scan.codeEnd);
  if (message.startsWith("Unterminated") && scan.unclosed !== null) return scan.unclosed + 1;
  const keyEnd = KEY_LINE.exec(code)?.[0].length ?? 0;
  const valueAt = keyEnd + (/^\s*/.exec(code.slice(keyEnd))?.[0].length ?? 0);
  const redefined = /^Cannot redefine (?:key|table) '(.*?)'/.exec(message);
  if (redefined !== null) {
    const name = redefined[1]!.split(".").at(-1)!;
    const at = code.indexOf(name);
    return at >= 0 ? at + 1 : valueAt + 1;
  }
  const named = /(?:: "(.+)"|found '(.+)'|escape sequence: '(.)')$/.exec(message);
  const token = named === null ? null : (named[1] ?? named[2] ?? `\\${named[3]}`);
  const at = token === null ? -1 : code.indexOf(token, valueAt);
  return (at >= 0 ? at : valueAt) + 1;
}

/** The name of the table the line is in (`[storage]`, `[[indicators.custom]]`), or null. */
function tableAbove(lines: readonly string[], line: number): string | null {
  for (let i = line - 1; i >= 0; i--) {
    const m = HEADER_LINE.exec(lines[i]!);
    if (m !== null) return m[1]!;
  }
  return null;
}

/** A word or quoted key before `=`: more than the keys when a value holds `=`, which only hides more. */
const ASSIGNED = /([A-Za-z0-9_.-]+|"[^"]*"|'[^']*')\s*=/g;

/** Every key a line names: `a.b = …`, those of an inline table (`db = { password = … }`), a header's. */
function keysOf(line: string): string[] {
  const assigned = [...line.matchAll(ASSIGNED)].map((m) => m[1]!);
  const header = HEADER_LINE.exec(line)?.[1];
  return header === undefined ? assigned : [header, ...assigned];
}

function secretLine(line: string): string {
  const key = KEY_LINE.exec(line);
  return key === null ? "(line not shown: it may hold a secret)" : `${key[1]} = ${NOT_SHOWN}`;
}

/** Bun quotes the offending text ("Strings must be quoted: "abc"", "found 'x'"): not for a secret. */
function withoutQuotedText(message: string): string {
  return message.replace(/(: "|: '| but found ').*$/, "");
}

/** At most MAX_SHOWN characters, around the column when the line is longer. */
function shorten(text: string, column: number | null): string {
  if (text.length <= MAX_SHOWN) return text;
  const from = Math.max(0, Math.min(text.length - MAX_SHOWN, (column ?? 1) - MAX_SHOWN / 2));
  return `${from > 0 ? "…" : ""}${text.slice(from, from + MAX_SHOWN)}${from + MAX_SHOWN < text.length ? "…" : ""}`;
}
