/**
 * The configuration's wording for zod's generic messages ("Invalid input: expected number, received
 * string"), so a problem reads the same from the file, a flag or the environment (whose conversions
 * already say `expected an integer, got "abc"`): what the key takes and what it got. A message a
 * schema gives itself (a symbol's pattern, a URL's form) is kept: zod prefers it to this one. What it
 * got is shown as redact.ts allows: never a secret key's value, never a URL's user info.
 */
import type { z } from "zod";
import { KINDS, shownValue } from "./redact.ts";

export const configIssueMessage: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type":
      return `expected ${KINDS[iss.expected] ?? iss.expected}, got ${shownValue(iss.path ?? [], iss.input)}`;
    case "too_small":
      return bound(iss.origin, iss.minimum, iss.inclusive ?? true, "min");
    case "too_big":
      return bound(iss.origin, iss.maximum, iss.inclusive ?? true, "max");
    case "invalid_value": {
      const values = iss.values.map((v) => JSON.stringify(v));
      return `expected ${values.length === 1 ? values[0] : `one of ${values.join(", ")}`}, got ${shownValue(iss.path ?? [], iss.input)}`;
    }
    case "invalid_key":
      // A table keyed by symbol: say what the key's own schema says (its pattern), and which key.
      return `key ${JSON.stringify(iss.input)}: ${iss.issues[0]?.message ?? "not a valid key here"}`;
    default:
      return undefined;
  }
};

function bound(origin: string, limit: number | bigint, inclusive: boolean, side: "min" | "max"): string | undefined {
  if (origin === "number") return `must be ${side === "min" ? (inclusive ? "≥" : ">") : inclusive ? "≤" : "<"} ${limit}`;
  if (origin === "string") return side === "min" && Number(limit) === 1 ? "must not be empty" : `must be at ${side === "min" ? "least" : "most"} ${limit} characters`;
  if (origin === "array") return `must have at ${side === "min" ? "least" : "most"} ${limit} entries`;
  return undefined;
}
