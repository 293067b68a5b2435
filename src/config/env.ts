/**
 * Environment variables of the original harvester, and the endpoint/dir variables, mapped onto config
 * key paths. Each keeps its original meaning; values are converted to the key's type here so that a
 * bad value is reported as "NAME (key.path): …" rather than as a schema error without a source.
 */
import { shownValue } from "./redact.ts";

export type EnvKind = "int" | "number" | "bool01" | "string" | "symbols";

export interface EnvBinding {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: EnvKind;
}

const b = (name: string, path: string, kind: EnvKind): EnvBinding => ({ name, path: path.split("."), kind });

export const ENV_BINDINGS: readonly EnvBinding[] = [
  b("SYMBOLS", "symbols", "symbols"),
  b("RUN_HOURS", "run_hours", "number"),
  b("OUTPUT_DIR", "storage.output_dir", "string"),
  b("PREVIEW_DIR", "storage.preview_dir", "string"),
  b("NDJSON_DIR", "storage.ndjson_dir", "string"),
  b("ARTIFACTS_DIR", "storage.artifacts_dir", "string"),
  b("PARQUET_ROTATE_SEC", "storage.parquet_rotate_sec", "int"),
  b("ORDERBOOK_ROTATE_SEC", "storage.orderbook_rotate_sec", "int"),
  b("ENABLE_ORDERBOOK", "feed.enable_orderbook", "bool01"),
  b("WSS_PING_INTERVAL", "feed.ping_interval_sec", "number"),
  b("WSS_HEARTBEAT_TIMEOUT", "feed.heartbeat_timeout_sec", "number"),
  b("WSS_RECONNECT_DELAY", "feed.reconnect_delay_sec", "number"),
  b("DEDUP_LRU", "feed.dedup_lru", "int"),
  b("Z_MODE", "cvd.z_mode", "string"),
  b("SCALE_MODE", "cvd.scale_mode", "string"),
  b("MAD_MULTIPLIER", "cvd.mad_multiplier", "number"),
  b("SCALE_FAST_WEIGHT", "cvd.scale_fast_weight", "number"),
  b("HALF_LIFE_SEC", "cvd.half_life_sec", "number"),
  b("WINSOR_LIMIT", "cvd.winsor_limit", "number"),
  b("WIN_SECS", "regime.win_secs", "int"),
  b("ACTIVE_TPS", "regime.active_tps", "number"),
  b("VOL_SPLIT", "regime.vol_split", "number"),
  b("SCENARIO_SCHEME", "regime.scenario_scheme", "string"),
  b("FEE_TIER", "regime.fee_tier", "string"),
  b("PAPER_ENABLE", "paper.enable", "bool01"),
  b("BINANCE_PUBLIC_WS", "endpoints.public_ws", "string"),
  b("BINANCE_MARKET_WS", "endpoints.market_ws", "string"),
  b("BINANCE_REST", "endpoints.rest", "string"),
  b("BINANCE_TRADE_REST", "trade.rest", "string"),
  b("BINANCE_TRADE_WS", "trade.user_stream", "string"),
  b("HTTP_LISTEN", "http.listen", "string"),
  b("HTTP_TOKEN", "http.token", "string"),
];

/** What a boolean variable (`bool01`) accepts, lower-cased: the error message lists them. */
const BOOL_TRUE: readonly string[] = ["1", "true", "yes", "on"];
const BOOL_FALSE: readonly string[] = ["0", "false", "no", "off"];
const oneOf = (xs: readonly string[]): string => `${xs.slice(0, -1).join(", ")} or ${xs[xs.length - 1]}`;

/** Converts an environment string; returns an error message instead of throwing. */
export function convertEnv(binding: EnvBinding, raw: string): { value: unknown } | { error: string } {
  const s = raw.trim();
  // Shown as a file's value would be: a variable can hold a secret as well as a file can.
  const got = (): string => shownValue(binding.path, raw);
  switch (binding.kind) {
    case "string":
      return { value: s };
    case "int": {
      if (!/^[+-]?\d+$/.test(s)) return { error: `expected an integer, got ${got()}` };
      return { value: Number(s) };
    }
    case "number": {
      const n = Number(s);
      if (s === "" || !Number.isFinite(n)) return { error: `expected a number, got ${got()}` };
      return { value: n };
    }
    case "bool01": {
      const v = s.toLowerCase();
      if (BOOL_TRUE.includes(v)) return { value: true };
      if (BOOL_FALSE.includes(v)) return { value: false };
      return { error: `expected ${oneOf(BOOL_TRUE)} to enable, or ${oneOf(BOOL_FALSE)} to disable (any case), got ${got()}` };
    }
    case "symbols": {
      if (s.toUpperCase() === "ALL") return { value: "ALL" };
      return { value: s.split(",").map((x) => x.trim().toUpperCase()).filter((x) => x.length > 0) };
    }
  }
}
