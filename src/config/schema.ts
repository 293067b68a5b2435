/**
 * The one configuration schema (README.md, "Configuration"). Every key has a default, so an empty file is a valid
 * configuration. Unknown keys are rejected so that a typo never silently falls back to a default.
 */
import { z } from "zod";
import {
  CvdParamsSchema,
  DivergenceParamsSchema,
  FusionParamsSchema,
  OfiParamsSchema,
  RegimeParamsSchema,
} from "../calc/params.ts";
import { BinanceEndpointsSchema, BinanceFeedParamsSchema } from "../exchange/binance/params.ts";
import { PaperParamsSchema } from "../trading/paper/params.ts";
import { RiskParamsSchema } from "../trading/risk/params.ts";
import { StrategyParamsSchema } from "../trading/strategy/params.ts";
import { ModelParamsSchema } from "../models/params.ts";
import { TradeParamsSchema, uncollectedTradeSymbols } from "../trading/live/params.ts";
import { ReportParamsSchema } from "../report/params.ts";
import { IndicatorsParamsSchema } from "../indicators/params.ts";
import { PublishParamsSchema } from "../sinks/nats/params.ts";

import { SYMBOL_PATTERN } from "../core/symbols.ts";

export { SYMBOL_PATTERN };

export const DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"] as const;


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
], {
  // Neither form (a string such as "BTCUSDT,ETHUSDT", a number): say what is expected, not "Invalid input".
  error: (iss) => (iss.code === "invalid_union" ? 'expected "ALL" or a list of symbols, e.g. ["BTCUSDT", "ETHUSDT"]' : undefined),
});

export const ConfigSchema = z.strictObject({
  /** A list of symbols, or "ALL" = every TRADING USDT perpetual from exchangeInfo. */
  symbols: symbolsSchema.default([...DEFAULT_SYMBOLS]),
  /** Hours to collect before a clean exit; 0 = until SIGINT/SIGTERM. */
  run_hours: z.number().nonnegative().default(0),
  /** On SIGINT/SIGTERM, flushing may take at most this long; then the process exits 1 anyway. */
  shutdown_timeout_sec: posNum.default(30),
  endpoints: BinanceEndpointsSchema.prefault({}),
  feed: BinanceFeedParamsSchema.prefault({}),
  storage: z
    .strictObject({
      output_dir: dir.default("data/raw"),
      preview_dir: dir.default("data/preview"),
      ndjson_dir: dir.default("data/ndjson"),
      artifacts_dir: dir.default("data/artifacts"),
      parquet_rotate_sec: posInt.default(60),
      orderbook_rotate_sec: posInt.default(60),
      ndjson_compress: z.enum(["none", "gzip", "zstd"]).default("gzip"),
      /** When NDJSON appends are forced to disk: every second (default), after every write, or left to the OS (docs/storage.md). */
      ndjson_fsync: z.enum(["none", "interval", "always"]).default("interval"),
      /** Run logs (ARTIFACTS_DIR/run_logs): a new file past this size or on a new UTC day; closed files are gzip'd. */
      run_log_max_mb: z.number().positive().default(64),
      /** Run-log files older than this many days are deleted; 0 = keep forever. */
      run_log_keep_days: z.number().int().nonnegative().default(30),
      /** Merge each closed UTC hour's Parquet parts into one file per symbol and kind (docs/storage.md). */
      compaction: z.boolean().default(true),
      /** Delete Parquet date partitions older than this many days; 0 = keep forever. */
      retention_days_parquet: z.number().int().nonnegative().default(0),
      /** Delete NDJSON date folders older than this many days; 0 = keep forever. */
      retention_days_ndjson: z.number().int().nonnegative().default(0),
      /** Most memory each writer (Parquet, NDJSON) holds for data not yet on disk; past it NDJSON drops (counted), Parquet spills to disk. */
      max_buffer_mb: z.number().int().min(1).default(256),
      /** The Parquet writer's own memory bound, past which batches spill to disk (docs/storage.md); 0 = max_buffer_mb. */
      parquet_buffer_mb: z.number().int().nonnegative().default(0),
      /** Write Parquet; off for a collector that publishes to NATS and leaves Parquet to `harvestd store`. */
      write_parquet: z.boolean().default(true),
    })
    .prefault({}),
  http: z
    .strictObject({
      /** host:port; an empty string disables the HTTP server. */
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$|^$/, "expected host:port, e.g. 127.0.0.1:8088")
        .default("127.0.0.1:8088"),
      token: z.string().regex(/^\S*$/, "must not contain whitespace").default(""),
    })
    .prefault({}),
  /** What /health demands (docs/operations.md). */
  health: z
    .strictObject({
      /** A depth stream that delivered nothing for this long makes /health fail. */
      depth_timeout_sec: posNum.default(30),
      /** The same for an aggTrade stream (quiet markets trade rarely, hence longer). */
      trade_timeout_sec: posNum.default(300),
      /** Free space in the data folders below this makes /health fail. */
      disk_free_floor_mb: z.number().nonnegative().default(512),
      /** A writer with work pending and no progress for this long makes /health fail, naming the writer. */
      writer_stall_sec: posNum.default(60),
      /** A writer that dropped data for lack of buffer keeps /health failing for this long after the drop. */
      drop_alert_sec: posNum.default(60),
    })
    .prefault({}),
  /** Simulated trading on fusion signals and the fee table (src/trading/paper/params.ts, docs/research.md). */
  paper: PaperParamsSchema.prefault({}),
  /** When the shared strategy (paper and testnet) enters and exits (src/trading/strategy/params.ts, docs/strategy.md). */
  strategy: StrategyParamsSchema.prefault({}),
  /** Sizing, loss limits and cost control of the shared strategy (src/trading/risk/params.ts, docs/strategy.md). */
  risk: RiskParamsSchema.prefault({}),
  /** A trained model that filters or sizes the strategy's entry signals (src/models/params.ts, docs/models.md). */
  model: ModelParamsSchema.prefault({}),
  /** Trading on the testnet / demo venue (src/trading/live/params.ts, docs/trading.md). */
  trade: TradeParamsSchema.prefault({}),
  /** Publishing accepted records to a NATS JetStream stream, consumed by `harvestd store` (docs/scale-out.md). */
  publish: PublishParamsSchema.prefault({}),
  /** `harvestd report` evaluation settings (src/report/params.ts, docs/indicators.md §12). */
  report: ReportParamsSchema.prefault({}),
  ofi: OfiParamsSchema.prefault({}),
  cvd: CvdParamsSchema.prefault({}),
  fusion: FusionParamsSchema.prefault({}),
  divergence: DivergenceParamsSchema.prefault({}),
  regime: RegimeParamsSchema.prefault({}),
  /** Custom indicator modules loaded at start (src/indicators/params.ts, docs/indicators-custom.md). */
  indicators: IndicatorsParamsSchema.prefault({}),
}).superRefine((c, ctx) => {
  // FEE_TIER picks a row of the fee table: an unknown name would silently price trades at nothing.
  if (!Object.hasOwn(c.paper.fee_tiers, c.regime.fee_tier)) {
    const known = Object.keys(c.paper.fee_tiers).join(", ") || "none";
    ctx.addIssue({ code: "custom", path: ["regime", "fee_tier"], message: `fee tier ${JSON.stringify(c.regime.fee_tier)} is not in paper.fee_tiers (${known})` });
  }
  // "ALL" is known only at start (the exchange's listing): start checks it then. One problem per
  // traded symbol, under its own key, so each is blamed on whoever set it (file, environment, flag).
  if (c.symbols === "ALL") return;
  for (const [symbol, settings] of Object.entries(c.trade.symbols)) {
    const uncollected = uncollectedTradeSymbols({ enable: c.trade.enable, symbols: { [symbol]: settings } }, c.symbols);
    if (uncollected !== null) ctx.addIssue({ code: "custom", path: ["trade", "symbols", symbol], message: uncollected });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
