/**
 * The one configuration schema (product.md §3). Every key has a default, so an empty file is a valid
 * configuration. Unknown keys are rejected so that a typo never silently falls back to a default.
 */
import { z } from "zod";
import {
  CvdParamsSchema,
  DivergenceParamsSchema,
  FusionParamsSchema,
  OfiParamsSchema,
  RegimeParamsSchema,
} from "./indicator-params.ts";

export const DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"] as const;

/** Binance symbols are upper-case letters and digits (e.g. `1000PEPEUSDT`). */
export const SYMBOL_PATTERN = /^[A-Z0-9]{2,30}$/;

const wsUrl = z.string().regex(/^wss?:\/\/[^\s/]+(\/[^\s?#]*)?$/, "expected a ws:// or wss:// URL without query");
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s?#]*)?$/, "expected an http:// or https:// URL without query");
const dir = z.string().min(1, "must not be empty");
const posNum = z.number().positive();
const posInt = z.number().int().positive();

const symbolsSchema = z.union([
  z.literal("ALL"),
  z
    .array(z.string().regex(SYMBOL_PATTERN, "symbol must be upper-case letters and digits, e.g. BTCUSDT"))
    .min(1, "at least one symbol")
    .refine((s) => new Set(s).size === s.length, "symbols must not repeat"),
]);

export const ConfigSchema = z.strictObject({
  /** A list of symbols, or "ALL" = every TRADING USDT perpetual from exchangeInfo. */
  symbols: symbolsSchema.default([...DEFAULT_SYMBOLS]),
  /** Hours to collect before a clean exit; 0 = until SIGINT/SIGTERM. */
  run_hours: z.number().nonnegative().default(0),
  endpoints: z
    .strictObject({
      public_ws: wsUrl.default("wss://fstream.binance.com/public"),
      market_ws: wsUrl.default("wss://fstream.binance.com/market"),
      rest: httpUrl.default("https://fapi.binance.com"),
    })
    .prefault({}),
  feed: z
    .strictObject({
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
    })
    .prefault({}),
  storage: z
    .strictObject({
      output_dir: dir.default("data/raw"),
      preview_dir: dir.default("data/preview"),
      ndjson_dir: dir.default("data/ndjson"),
      artifacts_dir: dir.default("data/artifacts"),
      parquet_rotate_sec: posInt.default(60),
      orderbook_rotate_sec: posInt.default(60),
      ndjson_compress: z.enum(["none", "gzip", "zstd"]).default("gzip"),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** host:port; an empty string disables the HTTP server. */
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$|^$/, "expected host:port, e.g. 127.0.0.1:8088")
        .default("127.0.0.1:8088"),
      token: z.string().default(""),
    })
    .prefault({}),
  paper: z.strictObject({ enable: z.boolean().default(false) }).prefault({}),
  ofi: OfiParamsSchema.prefault({}),
  cvd: CvdParamsSchema.prefault({}),
  fusion: FusionParamsSchema.prefault({}),
  divergence: DivergenceParamsSchema.prefault({}),
  regime: RegimeParamsSchema.prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
