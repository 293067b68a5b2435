/**
 * The fully commented default configuration printed by `harvestd config`. The shipped config.toml is
 * exactly this text (a test keeps them equal), and parsing it gives the schema defaults.
 */
export const DEFAULT_CONFIG_TOML = `# harvestd configuration.
#
# Precedence: built-in defaults < this file < environment variables < command-line flags
# (--symbols, --run-hours, --set key.path=value). Values may use \${VAR} and \${VAR:-default}.
# Relative paths are relative to this file's directory. Check a file with: harvestd validate --config PATH
# Environment names of the original harvester are given in brackets.

# Symbols to collect: a list, or "ALL" = every TRADING USDT perpetual from /fapi/v1/exchangeInfo. [SYMBOLS]
symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]

# Hours to collect before flushing everything and exiting 0; 0 = until SIGINT/SIGTERM. [RUN_HOURS]
run_hours = 0

[endpoints]
# Combined-stream bases; the collector appends /stream?streams=... Depth lives on /public,
# aggTrade on /market (two connections at least). [BINANCE_PUBLIC_WS, BINANCE_MARKET_WS, BINANCE_REST]
public_ws = "wss://fstream.binance.com/public"
market_ws = "wss://fstream.binance.com/market"
rest = "https://fapi.binance.com"

[feed]
# Subscribe <sym>@depth5@100ms on the public route. [ENABLE_ORDERBOOK]
enable_orderbook = true
# Our own ping every N seconds. [WSS_PING_INTERVAL]
ping_interval_sec = 20
# A connection that delivers no frame for N seconds is dead: close and reconnect. [WSS_HEARTBEAT_TIMEOUT]
heartbeat_timeout_sec = 30
# First reconnect delay; doubles with jitter up to the cap, resets once data flows. [WSS_RECONNECT_DELAY]
reconnect_delay_sec = 1.0
reconnect_max_delay_sec = 60
# Replace each connection (make-before-break) at this age; Binance cuts connections at 24 h.
rotate_after_hours = 23
# Recently seen ids remembered per stream to drop duplicates. [DEDUP_LRU]
dedup_lru = 8192
# Frames larger than this many bytes are counted as malformed and skipped.
max_frame_bytes = 1048576

[storage]
# Raw Parquet (kind=prices, kind=orderbook). [OUTPUT_DIR]
output_dir = "data/raw"
# Derived Parquet (kind=ofi, cvd, fusion, events, features). [PREVIEW_DIR]
preview_dir = "data/preview"
# NDJSON raw logs, one file per symbol and UTC hour: the authoritative, replayable record. [NDJSON_DIR]
ndjson_dir = "data/ndjson"
# metrics.json, run logs, reports. [ARTIFACTS_DIR]
artifacts_dir = "data/artifacts"
# Seconds between Parquet file rotations. [PARQUET_ROTATE_SEC, ORDERBOOK_ROTATE_SEC]
parquet_rotate_sec = 60
orderbook_rotate_sec = 60
# Compression of closed NDJSON hour files: "gzip" (zcat/zgrep work), "zstd" or "none".
ndjson_compress = "gzip"

[http]
# Status page, /health, /metrics. Empty = no HTTP server. A non-loopback address requires a token. [HTTP_LISTEN]
listen = "127.0.0.1:8088"
# Bearer token required on every endpoint except /health when set. [HTTP_TOKEN]
token = ""

[paper]
# Simulated trading on fusion signals. [PAPER_ENABLE]
enable = false

# Indicator parameters: see docs/indicators or the spec (indicators.md) for exact definitions.

[ofi]
levels = 5
# Depth weights per level, normalised to sum 1.
weights = [0.4, 0.25, 0.2, 0.1, 0.05]
# 0 = per-update OFI; > 0 = rolling sum over this many ms.
sum_window_ms = 0
# Divide by average depth of the first levels (Cont-Cucuringu-Zhang).
depth_norm = false
# z-score window in OFI updates; warm-up defaults to max(5, z_window // 5).
z_window = 80
std_floor = 1e-9
z_clip = 3.0
# Book time gap (ms) that forces a full OFI reset.
reset_gap_ms = 2000
reset_on_utc_day = false

[cvd]
# "delta" (z of each trade's signed volume) or "level". [Z_MODE]
z_mode = "delta"
# "hybrid" (EWMA mix with a MAD floor) or "ewma". [SCALE_MODE]
scale_mode = "hybrid"
# Slow EWMA half-life in seconds. [HALF_LIFE_SEC]
half_life_sec = 600
fast_half_life_sec = 60
# Weight of the fast EWMA in the mix. [SCALE_FAST_WEIGHT]
scale_fast_weight = 0.2
mad_window_trades = 200
mad_scale = 1.4826
# Floor = MAD_MULTIPLIER x robust sigma. [MAD_MULTIPLIER]
mad_multiplier = 1.8
# z_cvd is clipped at +-WINSOR_LIMIT. [WINSOR_LIMIT]
winsor_limit = 8.0
# Trades before the first z.
freeze_min = 20
# Inter-trade gap (ms) after which z is null for post_stale_freeze trades.
stale_ms = 5000
post_stale_freeze = 2
dt_min_ms = 1
scale_eps = 1e-12
activity_adapt = false
ewma_form = "alpha"
# "none" or "utc_day" (CVD level restarts at 00:00 UTC).
anchor = "none"
# "base" (quantity) or "quote" (price x quantity).
units = "base"
# Level mode only: window of previous CVD levels.
z_window = 150

[fusion]
w_ofi = 0.6
w_cvd = 0.4
z_clip = 4.0
# proba = sigmoid(cal_k * score).
cal_k = 1.0
# buy if score > buy_threshold, sell if score < -buy_threshold (and consistency > min_consistency).
buy_threshold = 1.2
min_consistency = 0.2
# OFI older than this (ms) makes fusion degrade to CVD only.
max_lag_ms = 3000
trigger = "trade"

[divergence]
method = "slope"
bar_ms = 1000
window_bars = 60
min_trend = 1.0
price_source = "mid"
swing_l = 12
min_sep = 6
cooldown_ms = 1000
conflict_z_ofi = 1.5
conflict_z_cvd = 0.7
conflict_cooldown_ms = 1000

[regime]
# Activity window in seconds. [WIN_SECS]
win_secs = 300
# Active if trades per second >= ACTIVE_TPS. [ACTIVE_TPS]
active_tps = 2.0
# Volatility split quantile of the trailing 24 h reference (0.5 = median). [VOL_SPLIT]
vol_split = 0.5
vol_bar_ms = 1000
vol_ref_sample_secs = 60
vol_ref_horizon_secs = 86400
vol_ref_min_samples = 30
# [SCENARIO_SCHEME]
scenario_scheme = "regime2x2"
# Fee tier used by evaluation and paper trading. [FEE_TIER]
fee_tier = "TM"
`;
