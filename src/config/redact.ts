/**
 * What a configuration problem may repeat of the value it is about. `validate` and `run` print
 * problems to a terminal, a CI log or a journal, so a problem must never carry a secret: not the value
 * of a key that holds one, and not the user info of a URL (`nats://user:password@host`), whatever key
 * the URL was given for.
 */
import { hideUserInfo } from "../util/user-info.ts";

/**
 * A key holds a secret when its name, or the name of a table above it, contains one of these words
 * (README.md, "Configuration"). A rule rather than a list of keys, so that a secret key added later,
 * or one under a free-form table such as `indicators.custom[].params`, is covered without an edit
 * here. `key_file`, `listen_key_*` and the like are not matched: they name files and settings.
 */
const SECRET_KEY = /token|passw(or)?d|secret|credential|creds|api_?key|private_?key/i;

/** Whether the key at `path` (or its text, for a `--set` that is not `key=value`) may hold a secret. */
export function isSecretKey(path: readonly PropertyKey[]): boolean {
  return path.some((k) => typeof k === "string" && SECRET_KEY.test(k));
}

/** Said instead of the value of a key that may hold a secret. */
export const NOT_SHOWN = "(value not shown: it may hold a secret)";
const MAX_SHOWN = 60;

/**
 * The offending value at `path`, short: a text quoted, a number as it is, a list or table by kind;
 * for a secret key only its kind. User info is hidden before shortening, which could cut off the `@`.
 */
export function shownValue(path: readonly PropertyKey[], input: unknown): string {
  if (input === undefined) return "nothing";
  if (isSecretKey(path)) return `${kindOf(input)} ${NOT_SHOWN}`;
  if (typeof input === "string") {
    const text = hideUserInfo(input);
    return JSON.stringify(text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text);
  }
  if (Array.isArray(input) || (input !== null && typeof input === "object")) return kindOf(input);
  return String(input);
}

/** The words for zod's type names, and for a value's own type (kindOf). */
export const KINDS: Readonly<Record<string, string>> = {
  number: "a number",
  int: "an integer",
  string: "text",
  boolean: "true or false",
  array: "a list",
  object: "a table",
};

function kindOf(input: unknown): string {
  const type = Array.isArray(input) ? "array" : input === null ? "null" : typeof input;
  return KINDS[type] ?? String(input);
}
