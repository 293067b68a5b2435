/**
 * Stream names, the route each lives on, and how streams are grouped into connections
 * (docs/binance.md §0, §2; docs/feed.md).
 */
import type { Route } from "../../core/market-events.ts";

/** Binance documents 200 (older copies) or 1024 streams per connection; we design for the lower one. */
export const MAX_STREAMS_PER_CONNECTION = 200;

export type StreamKind = "aggTrade" | "depth";

export const DEPTH_SUFFIX = "@depth5@100ms";
/** Full-depth mode (docs/depth.md): the diff stream instead of top-5 snapshots. */
export const DIFF_DEPTH_SUFFIX = "@depth@100ms";

/** `feed.depth`: which book stream is subscribed. */
export type DepthMode = "depth5" | "full";
export const AGG_TRADE_SUFFIX = "@aggTrade";

export function streamName(symbol: string, kind: StreamKind, depth: DepthMode = "depth5"): string {
  return symbol.toLowerCase() + (kind === "aggTrade" ? AGG_TRADE_SUFFIX : depth === "full" ? DIFF_DEPTH_SUFFIX : DEPTH_SUFFIX);
}

export function routeOf(kind: StreamKind): Route {
  return kind === "aggTrade" ? "market" : "public";
}

/** Splits `btcusdt@depth5@100ms` into its upper-case symbol and kind; null for streams we do not collect. */
export function parseStreamName(stream: string): { readonly symbol: string; readonly kind: StreamKind } | null {
  const at = stream.indexOf("@");
  if (at <= 0) return null;
  const rest = stream.slice(at);
  const kind: StreamKind | null = rest === AGG_TRADE_SUFFIX ? "aggTrade" : rest.startsWith("@depth") ? "depth" : null;
  if (kind === null) return null;
  return { symbol: stream.slice(0, at).toUpperCase(), kind };
}

export interface ConnectionPlan {
  /** Stable name for logs and metrics, e.g. `market-0`. */
  readonly id: string;
  readonly route: Route;
  readonly streams: readonly string[];
}

/** Groups every stream into connections per route, at most MAX_STREAMS_PER_CONNECTION each. */
export function planConnections(
  symbols: readonly string[],
  enableOrderbook: boolean,
  maxPerConnection = MAX_STREAMS_PER_CONNECTION,
  depth: DepthMode = "depth5",
): ConnectionPlan[] {
  const plans: ConnectionPlan[] = [];
  const kinds: StreamKind[] = enableOrderbook ? ["aggTrade", "depth"] : ["aggTrade"];
  for (const kind of kinds) {
    const route = routeOf(kind);
    const names = symbols.map((s) => streamName(s, kind, depth));
    for (let i = 0; i < names.length; i += maxPerConnection) {
      plans.push({ id: `${route}-${i / maxPerConnection}`, route, streams: names.slice(i, i + maxPerConnection) });
    }
  }
  return plans;
}

/** `<base>/stream?streams=a/b/c` (combined mode, so every frame names its stream). */
export function combinedUrl(base: string, streams: readonly string[]): string {
  return `${base.replace(/\/+$/, "")}/stream?streams=${streams.join("/")}`;
}
