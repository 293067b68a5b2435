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

# On SIGINT/SIGTERM everything collected is flushed; if that takes longer than this many seconds,
# the process logs what was still pending and exits 1 (keep it below systemd's TimeoutStopSec).
shutdown_timeout_sec = 30

[endpoints]
# Combined-stream bases; the collector appends /stream?streams=... Depth lives on /public,
# aggTrade on /market (two connections at least). [BINANCE_PUBLIC_WS, BINANCE_MARKET_WS, BINANCE_REST]
public_ws = "wss://fstream.binance.com/public"
market_ws = "wss://fstream.binance.com/market"
rest = "https://fapi.binance.com"

[feed]
# Subscribe the order book stream (see depth below) on the public route. [ENABLE_ORDERBOOK]
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
# Ids not above the last accepted id of a stream are always dropped (duplicates, rotation overlap).
# The ids accepted in the last 60 s, at most this many, are remembered per stream (8 bytes each)
# to tell a resent duplicate from a stale out-of-order frame in the counters. [DEDUP_LRU]
dedup_lru = 8192
# Frames larger than this many bytes are counted as malformed and skipped.
max_frame_bytes = 1048576
# Trades missed while a market connection was down are fetched back over REST; meanwhile that
# stream's live frames wait, at most this long. Ids still missing then are recorded as a gap.
backfill_max_hold_sec = 120
# REST request weight per minute harvestd may use for backfills and depth snapshots (Binance
# allows 2400 per IP; a 1000-level snapshot weighs 20).
rest_weight_budget_1m = 1800
# Start-up REST calls (exchangeInfo for SYMBOLS=ALL) are retried on 429/418 (honouring Retry-After),
# 5xx and timeouts for at most this many seconds; then the process exits 1 with one line saying why.
startup_rest_deadline_sec = 120
# Every this many minutes exchangeInfo is asked whether the collected symbols still trade (a
# delisted symbol's silence then no longer fails /health) and, with symbols = "ALL", what is listed
# now (a new listing is collected from then on, on connections of its own). 0 = never.
listing_check_min = 60
# Order book (docs/depth.md): "depth5" subscribes <sym>@depth5@100ms (top 5 snapshots); "full"
# keeps each symbol's whole book from <sym>@depth@100ms plus REST snapshots (/fapi/v1/depth), feeds
# its top 5 to the same indicators, and writes kind=book_l2 snapshots.
depth = "depth5"
# full: levels per side in book_l2 rows and at most in /orderbook?levels=N.
full_levels = 100
# full: levels of each REST snapshot: 50, 100, 500 or 1000 (weight 2, 5, 10, 20).
snapshot_limit = 1000
# full: seconds (event time) between book_l2 snapshots; 0 = none.
book_snapshot_sec = 10
# full: most levels kept per side; beyond it the levels farthest from the touch are dropped.
book_max_levels = 5000

[storage]
# Raw Parquet (kind=prices, kind=orderbook, kind=book_l2). [OUTPUT_DIR]
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
# Compression of closed NDJSON hour files: "gzip" (zcat/zgrep work), "zstd" (zstdcat) or "none".
ndjson_compress = "gzip"
# When NDJSON appends are forced to disk: "interval" (every second: a power cut loses at most the
# last ~1.2 s), "always" (after every write, ~0.2 s), or "none" (the OS decides: up to ~35 s).
ndjson_fsync = "interval"
# Run logs (artifacts_dir/run_logs): a new file past this many MiB or on a new UTC day; closed files
# are gzip'd, and files older than run_log_keep_days deleted (0 = keep forever).
run_log_max_mb = 64
run_log_keep_days = 30
# Merge each closed UTC hour's small Parquet files into one per symbol and kind (atomic swap, Linux).
compaction = true
# Delete date partitions older than this many days (Parquet and NDJSON separately); 0 = keep forever.
retention_days_parquet = 0
retention_days_ndjson = 0
# Most memory (MiB) each writer holds for data it cannot write yet (disk full, no permission);
# beyond it new data is dropped and counted, and writing resumes by itself once the disk recovers.
max_buffer_mb = 256
# The Parquet writer's own bound (MiB); past it batches wait on disk (a spill folder under
# OUTPUT_DIR) and are written in order once it catches up, never dropped. 0 = max_buffer_mb.
parquet_buffer_mb = 0
# Write Parquet. A collector publishing to NATS can leave Parquet to \`harvestd store\` (false);
# its NDJSON raw log is always written.
write_parquet = true

[http]
# Status page, /health, /metrics. Empty = no HTTP server. A non-loopback address requires a token. [HTTP_LISTEN]
listen = "127.0.0.1:8088"
# Bearer token required on every endpoint except /health when set (in a browser: the password of
# its login prompt). Use a long random one: openssl rand -hex 32. [HTTP_TOKEN]
token = ""

[health]
# /health answers 503 when a stream delivered nothing for longer than its timeout (seconds).
# aggTrade streams of quiet symbols can be silent for minutes: raise trade_timeout_sec for SYMBOLS=ALL.
depth_timeout_sec = 30
trade_timeout_sec = 300
# ... or when a data folder's file system has less than this many MiB free.
disk_free_floor_mb = 512
# ... or when a writer (Parquet, NDJSON) has work pending and made no progress for this many seconds.
writer_stall_sec = 60
# ... or when a writer dropped data for lack of buffer (storage.max_buffer_mb) in the last this many
# seconds: long enough for a monitor polling /health to see it.
drop_alert_sec = 60

[publish.nats]
# Publish every accepted frame and control line (the records of the NDJSON log) to a NATS JetStream
# stream, for redundant collectors and \`harvestd store\` (docs/scale-out.md). Credentials come from
# the environment only: NATS_USER and NATS_PASSWORD, or NATS_CREDS (a .creds file).
enable = false
servers = ["nats://127.0.0.1:4222"]
# Also connect to servers the cluster announces (false when clients reach it through a proxy or NAT).
discover_servers = true
stream = "HARVESTD"
# Subjects are <subject_prefix>.<exchange>.<SYMBOL>.<aggTrade|depth|control>.
subject_prefix = "harvestd"
# Names this collector in the store's per-collector counts; "" = the host name.
collector_id = ""
# The stream is created with these settings, or checked against them (a mismatch is refused).
replicas = 3
storage = "file"
retention = "limits"
max_age_hours = 72
# GiB; 0 = no limit of the stream's own.
max_bytes_gb = 0
duplicate_window_sec = 120
# Publishes awaiting acknowledgement at most, and how long one may take; what misses either is
# published again later from the NDJSON log (the store drops duplicates by exchange id).
ack_window = 20000
ack_timeout_sec = 10
# harvestd store: durable pull consumer name, messages per pull, redelivery delay of unacked ones.
consumer = "harvestd-store"
fetch_batch = 1000
ack_wait_sec = 60

[publish.nats.tls]
# TLS is used for tls:// servers, or for all with enable = true. PEM files; "" = none.
enable = false
ca_file = ""
cert_file = ""
key_file = ""

[paper]
# Simulated trading of the [strategy] / [risk] decisions, written as Parquet kind=paper and shown on
# the status page (docs/research.md, docs/strategy.md): every order fills as a taker at the next
# trade's best_buy_fill/best_sell_fill. [PAPER_ENABLE]
enable = false

# Fee tiers in bps of notional; [regime] fee_tier (FEE_TIER) picks one, for paper trading and the
# report's net figures. Binance USD-M regular tiers without the BNB discount, as published on
# binance.com (Fee Schedule of Binance Futures); TM (the original's label) = the VIP 0 pair.
[paper.fee_tiers]
TM = { taker_bps = 5.0, maker_bps = 2.0 }
VIP0 = { taker_bps = 5.0, maker_bps = 2.0 }
VIP1 = { taker_bps = 4.0, maker_bps = 1.6 }
VIP2 = { taker_bps = 3.5, maker_bps = 1.4 }
VIP3 = { taker_bps = 3.2, maker_bps = 1.2 }
VIP4 = { taker_bps = 3.0, maker_bps = 1.0 }
VIP5 = { taker_bps = 2.7, maker_bps = 0.8 }
VIP6 = { taker_bps = 2.5, maker_bps = 0.6 }

[strategy]
# The one strategy of paper trading and the testnet (docs/strategy.md). Thresholds are on the fusion
# score (z units); everything runs on event time.
# The fusion row's consistency must exceed this for an entry; degraded rows (stale OFI) enter only if allowed.
min_consistency = 0.2
allow_degraded = false
# Signal exits (fade, reverse) wait until the price is this many bps from the entry, either way.
min_reverse_move_bps = 8
# Fixed stop in bps against the entry; 0 = off.
stop_bps = 30
# Tiered take-profit: close fraction of the opening quantity at at_bps in favour; the last tier
# closes the rest.
take_profit = [{ at_bps = 20, fraction = 0.5 }, { at_bps = 45, fraction = 1 }]
# Time stop: close this many seconds after the entry; 0 = off.
max_hold_sec = 600

[strategy.atr]
# ATR stop at mult x ATR against the entry (0 = off); ATR of trade prices over bar_sec bars, Wilder
# average over period bars (off until warmed up).
bar_sec = 15
period = 20
mult = 3

# Per 2x2 regime: enter when |score| > entry; leave when the score turns against the position by
# more than exit (exit < entry: hysteresis); no entry within cooldown_sec of the last fill; no entry
# while the spread is wider than max_spread_bps. The original's 0.8/0.4, 0.6/0.3, 0.55/0.28,
# 0.4/0.2 scaled by 3 onto our score (docs/strategy.md "Thresholds").
[strategy.regimes.Q_H]
enable = true
entry = 2.4
exit = 1.2
cooldown_sec = 96
max_spread_bps = 4

[strategy.regimes.A_H]
enable = true
entry = 1.8
exit = 0.9
cooldown_sec = 72
max_spread_bps = 4

[strategy.regimes.A_L]
enable = true
entry = 1.65
exit = 0.84
cooldown_sec = 72
max_spread_bps = 2

[strategy.regimes.Q_L]
enable = true
entry = 1.2
exit = 0.6
cooldown_sec = 96
max_spread_bps = 2

[risk]
# Entry size: "fixed" (notional_usdt), "vol_target" (notional_usdt x vol_target_bps / ATR bps) or
# "kelly_capped" (capital_usdt x min(kelly_fraction x Kelly f*, kelly_cap), from the symbol's own
# closed trades once it has kelly_min_trades). Always capped by max_position_notional.
sizing = "fixed"
notional_usdt = 1000
capital_usdt = 10000
vol_target_bps = 10
kelly_fraction = 0.5
kelly_cap = 0.2
kelly_min_trades = 20
# Limits, per symbol (override per symbol in [trade.symbols.<SYMBOL>]). Breaching max_daily_loss
# (quote currency, realised + open, fees included; 0 = off) or max_drawdown_pct (from the peak of
# capital_usdt + PnL; 0 = off) closes the position and stops the symbol until the next UTC day.
max_position_notional = 5000
max_daily_loss = 100
max_drawdown_pct = 5
# Orders per 60 s (event time) beyond which entries are skipped; exits always go.
max_orders_per_min = 6

[risk.cost]
# Skip a signal whose expected edge (edge_bps_per_score x |score|, or p x target - (1-p) x stop with a
# model filter) is below two taker fees plus the current spread plus margin_bps.
enable = true
edge_bps_per_score = 2
margin_bps = 0

[model]
# A model trained by "harvestd train" (docs/models.md) that judges each entry signal of the strategy
# before it is taken; "" = none. A model file computed on other features than this binary's is
# refused at start (exit 78). Every decision is written as Parquet kind=model_decisions.
path = ""
# Probability of a winning round trip the model must give for a signal to be taken.
threshold = 0.6
# "filter": take at p >= threshold, skip below. "size": skip below p = 0.5, grow the position
# linearly from 0 at p = 0.5 to full size at p = threshold.
mode = "filter"

[trade]
# Trading the strategy's decisions on Binance's USD-M futures test network (docs/trading.md). Keys
# come only from the environment: BINANCE_API_KEY with BINANCE_API_SECRET (HMAC-SHA256) or
# BINANCE_ED25519_KEY_FILE (Ed25519 PEM). They never appear in logs, files or pages.
enable = false
# "testnet" (testnet.binancefuture.com) or "demo" (demo-fapi.binance.com).
venue = "testnet"
# Base URLs; "" = the venue's. A real-money host (*.binance.com other than demo-*) is refused
# unless allow_mainnet = true. [BINANCE_TRADE_REST] [BINANCE_TRADE_WS]
rest = ""
user_stream = ""
allow_mainnet = false
# On SIGTERM / run_hours: open orders are always cancelled; with this, positions are closed too.
flatten_on_exit = true
recv_window_ms = 5000
# An order without an answer after order_timeout_ms is looked up by its client order id (for up to
# resolve_deadline_ms) before anything is sent again.
order_timeout_ms = 5000
resolve_deadline_ms = 15000
# Dead-man switch (countdownCancelAll): the venue cancels open orders unless renewed in time.
dead_man_sec = 60
dead_man_renew_sec = 15
# Exchange-side stop placed on every position the moment it opens, when the strategy gives none.
protective_stop_bps = 100
listen_key_keepalive_sec = 1800
time_sync_sec = 300
# Share of the venue's order-count limits (from exchangeInfo) this process may use.
order_limit_share = 0.8
# Collectors run side by side with the same [trade]: "nats" lets only the holder of the account's
# lease (a key in the [publish.nats] cluster) trade; another takes over when it stops or is cut off.
# A holder that cannot renew stops at half of lease_ttl_sec (at least 2 x (order_timeout_ms +
# resolve_deadline_ms)). "none": this collector trades on its own.
lease = "none"
lease_ttl_sec = 45

# One table per traded symbol (it must also be collected). Any [risk] key may be overridden here.
# [trade.symbols.BTCUSDT]
# leverage = 5
# max_position_notional = 1000
# max_daily_loss = 50

[report]
# harvestd report --from DATE --to DATE: signal validation settings (docs/indicators.md §12).
# Forward mid-return horizons in seconds; the pass/fail verdict is taken at primary_horizon_s.
horizons_s = [1, 5, 10, 30, 60, 300]
primary_horizon_s = 10
# OFI-alone / CVD-alone signal: |z| >= z_sig.
z_sig = 2.0
# |return| <= flat_bps is a flat (excluded from hit rates, counted).
flat_bps = 0
# Information-coefficient periods: "day", "hour", or "auto" (day from 3 UTC days of data on).
ic_period = "auto"
# Periods with fewer 1 s grid samples get no IC.
ic_min_samples = 30

# Indicator parameters: see docs/indicators.md for exact definitions.

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
# For method = "pivot" only (not built in this version): swing length, bars between pivots, cooldown.
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

[indicators]
# Custom indicators: your own TypeScript or JavaScript module per indicator, loaded when harvestd
# starts (no rebuild), run per symbol after the built-in calculators, live and in replay alike.
# Rows go to PREVIEW_DIR/date=.../symbol=.../kind=custom_<name>/. Contract, examples and the rules
# for errors: docs/indicators-custom.md. One [[indicators.custom]] table per indicator, e.g.
#
# [[indicators.custom]]
# name = "vwap_dev"                 # [a-z][a-z0-9_]*; optional, default: the module's own name
# module = "indicators/vwap-dev.ts" # .ts/.js file, relative to this file
# params = { window_sec = 30 }      # handed to the module as ctx.params
`;
