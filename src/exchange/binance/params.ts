/**
 * The Binance adapter's own settings: the `[endpoints]` and `[feed]` sections of config.toml
 * (docs/feed.md). The config only composes them; the adapter never reads config files.
 */
import { z } from "zod";
import { DepthFeedShape, depthFeedIssues } from "./depth/params.ts";

const wsUrl = z.string().regex(/^wss?:\/\/[^\s/]+(\/[^\s?#]*)?$/, "expected a ws:// or wss:// URL without query");
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s?#]*)?$/, "expected an http:// or https:// URL without query");
const posNum = z.number().positive();
const posInt = z.number().int().positive();

export const BinanceEndpointsSchema = z.strictObject({
  public_ws: wsUrl.default("wss://fstream.binance.com/public"),
  market_ws: wsUrl.default("wss://fstream.binance.com/market"),
  rest: httpUrl.default("https://fapi.binance.com"),
});

export const BinanceFeedParamsSchema = z.strictObject({
  enable_orderbook: z.boolean().default(true),
  ping_interval_sec: posNum.default(20),
  heartbeat_timeout_sec: posNum.default(30),
  reconnect_delay_sec: posNum.default(1.0),
  reconnect_max_delay_sec: posNum.default(60),
  /** Replace each connection (make-before-break) once it is this old; Binance cuts at 24 h. */
  rotate_after_hours: z.number().positive().max(23.9).default(23),
  dedup_lru: posInt.default(8192),
  /** Frames larger than this are rejected as malformed. */
  max_frame_bytes: posInt.default(1 << 20),
  /** Longest a trade stream's live frames wait behind its REST backfill; what is left becomes a gap. */
  backfill_max_hold_sec: posNum.default(120),
  /** REST request weight per minute this process may use (Binance allows 2400 per IP). */
    rest_weight_budget_1m: posInt.max(2400).default(1800),
  /** Start-up REST calls (exchangeInfo for SYMBOLS=ALL) are retried this long before the process gives up. */
  startup_rest_deadline_sec: posNum.default(120),
  /**
   * How often exchangeInfo is asked whether the collected symbols still trade, and (symbols = "ALL")
   * what is listed now, in minutes; 0 = never (docs/feed.md, "Listings").
   */
  listing_check_min: z.number().nonnegative().default(60),
  /** Order book: depth5 snapshots or the full book (depth/params.ts, docs/depth.md). */
  ...DepthFeedShape,
}).superRefine((p, ctx) => {
  for (const [key, message] of depthFeedIssues(p)) ctx.addIssue({ code: "custom", path: [key], message });
});

export type BinanceEndpoints = z.infer<typeof BinanceEndpointsSchema>;
export type BinanceFeedParams = z.infer<typeof BinanceFeedParamsSchema>;
