/**
 * The REST order book snapshot (`GET /fapi/v1/depth?symbol=&limit=`): its request weight and its
 * parsing into typed arrays. The same parser reads the live answer and the raw log's copy of it, so
 * replay loads exactly the book the live run loaded.
 */
import type { DepthSnapshotEvent } from "../../../core/market-events.ts";

/** Limits the endpoint accepts, and their request weight (docs/binance.md §6). */
export const SNAPSHOT_WEIGHT: Readonly<Record<number, number>> = { 5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20 };

export function snapshotWeight(limit: number): number {
  return SNAPSHOT_WEIGHT[limit] ?? 20;
}

export const DEPTH_SNAPSHOT_PATH = "/fapi/v1/depth";

/** A parsed snapshot: levels best first, as sent (the neutral shape of core/market-events.ts). */
export type BookSnapshot = DepthSnapshotEvent;

export type SnapshotParse = { readonly ok: true; readonly snapshot: BookSnapshot } | { readonly ok: false; readonly reason: string };

/** Binance sends decimal strings; a plain JSON number is read too (as the diff parser does). */
function num(v: unknown): number {
  if (typeof v === "number") return v;
  return typeof v === "string" && v !== "" ? Number(v) : Number.NaN;
}

function side(levels: unknown, name: string): { px: Float64Array; qty: Float64Array } | string {
  if (!Array.isArray(levels)) return `${name} is not a list`;
  const px = new Float64Array(levels.length);
  const qty = new Float64Array(levels.length);
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as unknown;
    if (!Array.isArray(l) || l.length < 2) return `${name}[${i}] is not a [price, qty] pair`;
    const p = num(l[0]);
    const q = num(l[1]);
    if (!(p > 0) || !(q > 0) || !Number.isFinite(p) || !Number.isFinite(q)) return `${name}[${i}] has a bad price or quantity`;
    px[i] = p;
    qty[i] = q;
  }
  return { px, qty };
}

/** Parses a snapshot body (text or already-parsed JSON). Never throws. */
export function parseSnapshot(body: unknown, limit: number): SnapshotParse {
  let o: unknown = body;
  if (typeof body === "string") {
    try {
      o = JSON.parse(body);
    } catch {
      return { ok: false, reason: "snapshot is not JSON" };
    }
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return { ok: false, reason: "snapshot is not a JSON object" };
  const s = o as Record<string, unknown>;
  const id = s.lastUpdateId;
  if (typeof id !== "number" || !Number.isInteger(id)) return { ok: false, reason: "snapshot without integer lastUpdateId" };
  const bids = side(s.bids, "bids");
  if (typeof bids === "string") return { ok: false, reason: `snapshot ${bids}` };
  const asks = side(s.asks, "asks");
  if (typeof asks === "string") return { ok: false, reason: `snapshot ${asks}` };
  return {
    ok: true,
    snapshot: {
      lastUpdateId: id,
      eventTime: typeof s.E === "number" ? s.E : null,
      bidPx: bids.px,
      bidQty: bids.qty,
      askPx: asks.px,
      askQty: asks.qty,
      limit,
    },
  };
}
