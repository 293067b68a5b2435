/**
 * Seeded mutations of real frames for the scanner's fuzz tests: byte flips, deletions, insertions,
 * truncation, whitespace, reordered / duplicated / removed / added members, escapes, other number and
 * numeric-string forms, other value types, wrapper changes.
 */
import { prng } from "./scanner-support.ts";

let rnd = prng(0x5ca77e5);

/** Restarts the sequence: each test file reseeds, so it checks the same frames however it is run. */
export function reseed(seed: number): void {
  rnd = prng(seed);
}

export const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (n: number) => Math.floor(rnd() * n);

const CHARS = [..."{}[]\":,\\ \t\n\r0123456789-+.eEabdflmnpqrstuTU", "\u0000", "\u001f", "\u007f", "\u00e9", "\u00a0", "\u2028", "\ud800", "\ud83d\ude00"];
const WHITESPACE = [" ", "\t", "\n", "\r"];
const INT_FORMS = [
  "0", "-0", "7", "-5", "01", "-01", "+1", "1e3", "1E+2", "1e-2", "1.0", "1.5", "-1.5e-3", ".5", "1.", "-", "0x10",
  "Infinity", "NaN", "123456789012345", "999999999999999", "1234567890123456", "9007199254740993", "12345678901234567890",
  '"123"', "null", "true", "false", "[]", "{}", "[1]", '""',
];
const STRING_FORMS = [
  "", " 1", "1 ", "1e3", "1E-3", "0x10", "0b1", "-0", "-0.0", "+1", "1.", ".5", "-.5", "Infinity", "-Infinity", "NaN", "1_0", "00.1", "007",
  "0.12345678901234567890", "123456789012345.6", "9007199254740993", "1e400", "-", ".", "abc", "\u0663", "\u00a01", "1\u2028",
  "0.1000000000000000055511151231257827", "4.35", "0.000001", "1234567.1234567", "99999999999999.9", "999999999999999.9",
];
const EXTRA_MEMBERS = [
  '"nq":"0.1"', '"st":1', '"ps":"BTCUSDT"', '"x":null', '"x":true', '"x":false', '"x":-1.5e-3', '"x":0', '"x":{"y":1}', '"x":[1]', '"":""',
  '"x":01', '"x":1.', '"x":-', '"x":"\\n"', '"x":tru', '"x":nul', '"E":1', '"T":1', '"a":1', '"b":[]', '"u":1', '"m":false', '"p":"1"', '"pu":3',
];

/** A random decimal string with 1–20 digits, maybe signed, maybe with a dot anywhere. */
export function randomDecimal(): string {
  const n = 1 + int(20);
  let d = "";
  for (let i = 0; i < n; i++) d += String(int(10));
  const dot = int(n + 3);
  if (dot > 0 && dot < n) d = `${d.slice(0, dot)}.${d.slice(dot)}`;
  return (rnd() < 0.1 ? "-" : "") + d;
}

/** Spans of the payload's members `"key":value` (top level only; values up to the next , or } at depth 0). */
function members(text: string): { start: number; end: number; key: string; valueStart: number }[] {
  const out: { start: number; end: number; key: string; valueStart: number }[] = [];
  const open = text.indexOf('"data":{');
  if (open < 0) return out;
  let p = open + 8;
  while (p < text.length && text[p] === '"') {
    const ke = text.indexOf('"', p + 1);
    const key = text.slice(p + 1, ke);
    let q = ke + 2;
    let depth = 0;
    let inStr = false;
    for (; q < text.length; q++) {
      const c = text[q];
      if (inStr) {
        if (c === "\\") q++;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === "[" || c === "{") depth++;
      else if (c === "]" || c === "}") {
        if (depth === 0) break;
        depth--;
      } else if (c === "," && depth === 0) break;
    }
    out.push({ start: p, end: q, key, valueStart: ke + 2 });
    if (text[q] !== ",") break;
    p = q + 1;
  }
  return out;
}

/** Positions of string contents inside the payload (after "data"), as [start, end). */
function stringSpans(text: string): [number, number][] {
  const out: [number, number][] = [];
  const from = text.indexOf('"data":') + 7;
  for (let p = from; p < text.length; p++) {
    if (text[p] !== '"') continue;
    const e = text.indexOf('"', p + 1);
    if (e < 0) break;
    if (text[e + 1] !== ":") out.push([p + 1, e]);
    p = e;
  }
  return out;
}

const splice = (t: string, s: number, e: number, ins: string) => t.slice(0, s) + ins + t.slice(e);

/** Payload members in another order, values kept verbatim. */
export function reorderMembers(t: string): string {
  const ms = members(t);
  if (ms.length < 2) return t;
  const texts = ms.map((m) => t.slice(m.start, m.end));
  for (let i = texts.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [texts[i], texts[j]] = [texts[j]!, texts[i]!];
  }
  return splice(t, ms[0]!.start, ms.at(-1)!.end, texts.join(","));
}

/** One payload member removed. */
export function removeMember(t: string): string {
  const ms = members(t);
  if (ms.length < 2) return t;
  const i = int(ms.length);
  const m = ms[i]!;
  return i === ms.length - 1 ? splice(t, ms[i - 1]!.end, m.end, "") : splice(t, m.start, ms[i + 1]!.start, "");
}

/** A numeric string (p, q, a level's price or quantity) in another form, or a random decimal. */
export function otherNumericString(t: string): string {
  const spans = stringSpans(t).filter(([s, e]) => /^[0-9.]+$/.test(t.slice(s, e)));
  if (spans.length === 0) return t;
  const [s, e] = pick(spans);
  return splice(t, s, e, rnd() < 0.5 ? pick(STRING_FORMS) : randomDecimal());
}

const MUTATIONS: readonly ((t: string) => string)[] = [
  // byte flip, deletion, insertion, truncation
  (t) => {
    const i = int(t.length);
    return splice(t, i, i + 1, pick(CHARS));
  },
  (t) => {
    const i = int(t.length);
    return splice(t, i, i + 1, "");
  },
  (t) => {
    const i = int(t.length + 1);
    return splice(t, i, i, pick(CHARS));
  },
  (t) => t.slice(0, int(t.length)),
  // whitespace next to a structural character
  (t) => {
    const spots: number[] = [];
    for (let i = 0; i < t.length; i++) if ('{}[]:,'.includes(t[i]!)) spots.push(i + (rnd() < 0.5 ? 0 : 1));
    const i = pick(spots);
    return splice(t, i, i, pick(WHITESPACE));
  },
  reorderMembers,
  // duplicated member, with its own or another value
  (t) => {
    const ms = members(t);
    if (ms.length === 0) return t;
    const m = pick(ms);
    const dup = rnd() < 0.5 ? t.slice(m.start, m.end) : `"${m.key}":${pick(INT_FORMS)}`;
    const at = pick([ms[0]!.start, m.end]);
    return at === m.end ? splice(t, at, at, `,${dup}`) : splice(t, at, at, `${dup},`);
  },
  removeMember,
  // added member
  (t) => {
    const ms = members(t);
    if (ms.length === 0) return t;
    const m = pick(ms);
    return splice(t, m.end, m.end, `,${pick(EXTRA_MEMBERS)}`);
  },
  // escape inside a string (same decoded text, or a different one)
  (t) => {
    const spans = stringSpans(t);
    if (spans.length === 0) return t;
    const [s, e] = pick(spans);
    if (e === s) return splice(t, s, s, "\\/");
    const i = s + int(e - s);
    const ch = t.charCodeAt(i).toString(16).padStart(4, "0");
    return splice(t, i, i + 1, pick([`\\u${ch}`, `\\u${ch.toUpperCase()}`, "\\\"", "\\\\", "\\n", "\\x"]));
  },
  // another number form for an integer member value
  (t) => {
    const ms = members(t).filter((m) => /^-?\d/.test(t.slice(m.valueStart, m.valueStart + 2)));
    if (ms.length === 0) return t;
    const m = pick(ms);
    return splice(t, m.valueStart, m.end, pick(INT_FORMS));
  },
  otherNumericString,
  // another value type for a member
  (t) => {
    const ms = members(t);
    if (ms.length === 0) return t;
    const m = pick(ms);
    return splice(t, m.valueStart, m.end, pick(['null', '"x"', '""', "[]", "{}", "true", "[[\"1\",\"2\"]]", '[["1"]]', '[["1","2","3"]]', "[[1,2]]", '[["1","2"],]', "1"]));
  },
  // wrapper: stream name, extra keys, layout
  (t) => {
    const i = t.indexOf('","data":');
    const name = t.slice(11, i);
    const sym = name.slice(0, name.indexOf("@"));
    switch (int(8)) {
      case 0:
        return splice(t, 11, i, pick([`${sym}@bookTicker`, `${sym}@aggTrades`, `${sym}@depth`, `${sym}@depth@0ms`, "@aggTrade", "@depth5", sym, `${sym.toUpperCase()}@aggTrade`, `${sym}@aggTrade@x`, `${sym}@trade`]));
      case 1:
        return splice(t, t.length - 1, t.length, pick([',"x":1}', ',"stream":"a@aggTrade"}', ',"data":{}}', "} ", "}}"]));
      case 2:
        return `{"data":${t.slice(i + 9, -1)},"stream":"${name}"}`;
      case 3:
        return splice(t, i + 9, t.length - 1, pick(["null", "[]", '"x"', "{}", "1"]));
      case 4:
        return pick([` ${t}`, `${t} `, `${t}\n`, `\ufeff${t}`]);
      case 5:
        return splice(t, 1, 1, '"id":1,');
      case 6:
        return splice(t, 11, 11, pick(["\\u0062", "\u00e9", "\t", " "]));
      default:
        return t.replace('"stream":', pick(['"stream" :', '"Stream":', '"stream":"",']));
    }
  },
];

export function mutate(text: string): string {
  let t = text;
  const n = 1 + int(3);
  for (let i = 0; i < n; i++) t = pick(MUTATIONS)(t);
  return t;
}

