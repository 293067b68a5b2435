/**
 * Client order ids derived from the strategy's intent keys, so the same intent always maps to the
 * same id (a resend after a lost answer, or the same signal seen again after a restart, is
 * recognised by the venue as a duplicate instead of becoming a second order). Binance allows 36
 * characters of `[.A-Z:/a-z0-9_-]`: "hd" + a 30-hex digest of the key, with a retry number when an
 * earlier order of the key ended unfilled and the strategy asks again.
 */
import { createHash } from "node:crypto";

export function clientOrderId(key: string, retry = 0): string {
  const h = createHash("sha256").update(retry === 0 ? key : `${key}#${retry}`).digest("hex").slice(0, 30);
  return `hd${retry === 0 ? "" : retry.toString(36)}-${h}`.slice(0, 36);
}

/** The protective stop of one position (per symbol and entry key). */
export function stopClientId(symbol: string, entryKey: string): string {
  return `hs-${createHash("sha256").update(`${symbol}|${entryKey}`).digest("hex").slice(0, 30)}`;
}
