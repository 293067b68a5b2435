// Public API of the fake Binance USD-M futures exchange used by end-to-end tests and benchmarks.
import { exchangeInfoResponder, type ServedSymbol } from "./exchange-info.ts";
import { startFaultPlan, type FaultControl, type FaultPlan } from "./fault-plan.ts";
import { Faults } from "./faults.ts";
import { REAL_SYMBOLS, recordingIdOf } from "./fixtures.ts";
import { Records } from "./records.ts";
import { Replayer, makeTrack, type Track } from "./replay.ts";
import { restHandler } from "./rest.ts";
import { LiveDiffBook } from "./diff-depth.ts";
import { recordingScripts, type SymbolScript } from "./script.ts";
import { ProtocolServer } from "./server.ts";
import type {
  ConnectionRecord,
  FaultHooks,
  ProducedTrade,
  RestRecord,
  Route,
  SentFrame,
  StreamKind,
  UpgradeAttempt,
} from "./types.ts";

export type * from "./types.ts";
export { REAL_SYMBOLS } from "./fixtures.ts";
export { BAD_FRAME_KINDS, type FaultControl, type FaultLog, type FaultPlan, type MalformedKind } from "./fault-plan.ts";

export interface FakeExchangeOptions {
  /** Real symbols to serve (default: all of REAL_SYMBOLS). */
  readonly symbols?: readonly string[];
  /** Extra symbols replaying a real one: a count (SYN001USDT, SYN002USDT, …) or explicit names. */
  readonly syntheticSymbols?: number | readonly string[];
  /** Real symbol the synthetic ones replay (default BTCUSDT: the busiest series). */
  readonly syntheticSource?: string;
  /** Replay speed, recorded ms per wall ms (default 1). */
  readonly speed?: number;
  /** Restart the recording when it ends, with ids shifted to stay continuous (default true). */
  readonly loop?: boolean;
  /** Start this many recorded ms into the recordings (e.g. near the end to test the loop quickly). */
  readonly startOffsetMs?: number;
  /** Port to bind on 127.0.0.1 (default 0 = random). */
  readonly port?: number;
  /** Server ping interval (default 180 000, as Binance). */
  readonly pingIntervalMs?: number;
  /** Close a connection whose last pong is older than this (default 600 000, as Binance). */
  readonly pongTimeoutMs?: number;
  /** Client messages (text, ping, pong) allowed per connection per second (default 10). */
  readonly maxMessagesPerSecond?: number;
  /** Close with 1008 on exceeding it (default false: only record the violation). */
  readonly enforceRateLimit?: boolean;
  /** Close with 1008 when a connection holds more streams (default 200). */
  readonly maxStreamsPerConnection?: number;
  /** Close connections after this long (default Infinity; Binance uses 24 h). */
  readonly maxConnectionAgeMs?: number;
  /** Keep every sent frame text (default true; turn off for long runs and benchmarks). */
  readonly recordFrames?: boolean;
  /** Produced trades kept per symbol for records and REST backfill (default Infinity). */
  readonly tradeHistoryLimit?: number;
  /** exchangeInfo lists only served symbols instead of the full real capture (default false). */
  readonly exchangeInfoServedOnly?: boolean;
  /**
   * Also serve the diff-depth stream `<sym>@depth@100ms` on /public, and answer `/fapi/v1/depth` from
   * the book it builds (diff-depth.ts; default false).
   */
  readonly diffDepth?: boolean;
  /** With diffDepth: keep the exchange's top N levels after every diff for `exchangeBookAt` (default 0 = none). */
  readonly bookHistoryLevels?: number;
  /** With diffDepth: how many diffs the stale-snapshot answers lag behind (default 50). */
  readonly staleDepthLagDiffs?: number;
}

/** The exchange's book after one diff: top levels as numbers. */
export interface ExchangeBook {
  readonly lastUpdateId: number;
  readonly bids: number[][];
  readonly asks: number[][];
}

export interface FakeExchange {
  readonly port: number;
  readonly publicWsBase: string;
  readonly marketWsBase: string;
  readonly restBase: string;
  /** Served symbols, upper case. */
  readonly symbols: readonly string[];
  /** Mutable fault hooks consulted by the frame pipeline (see FaultHooks). */
  readonly faults: { hooks: FaultHooks };
  /**
   * Changes what `GET /fapi/v1/exchangeInfo` lists: a symbol's `status` (a delisting: "SETTLING"),
   * or a new TRADING USDT perpetual (a listing). Streams are not touched (silence them with a hook).
   */
  setListing(symbol: string, status: string): void;
  stop(): Promise<void>;

  /** Every text frame sent, in send order, optionally for one connection. */
  sentFrames(connId?: number): readonly SentFrame[];
  /** All connections ever opened (open and closed). */
  connections(): readonly ConnectionRecord[];
  openConnections(): readonly ConnectionRecord[];
  /** Every aggTrade the exchange produced for the symbol, delivered or not, in id order. */
  producedTrades(symbol: string): readonly ProducedTrade[];
  /** Payload text of the last depth5 frame produced for the symbol. */
  lastDepth(symbol: string): string | undefined;
  upgradeAttempts(): readonly UpgradeAttempt[];
  restRequests(): readonly RestRecord[];
  /** Exchange clock in recorded ms since the start of loop 0 (advances at `speed`). */
  exchangeTime(): number;
  /** Changes the replay speed from now on (the exchange clock stays continuous). */
  setSpeed(speed: number): void;
  /** Recorded loop length of a symbol's series, ms. */
  loopPeriodMs(symbol: string): number;

  /** Cut connections (all, or one route) without a close frame. Returns how many. */
  dropConnections(route?: Route): number;
  /** Keep accepting and answering, but send no data frames on the route. */
  silence(route: Route, on: boolean): void;
  /** Answer the next n upgrade attempts with `status` (default 429) and optional Retry-After. */
  rejectUpgrades(n: number, status?: number, retryAfterSec?: number): void;
  /** Answer the next n REST requests with `status` (default 429) and optional Retry-After. */
  rejectRest(n: number, status?: number, retryAfterSec?: number): void;
  /** Answer the next n `/fapi/v1/depth` requests only with `status` (default 429). */
  rejectDepth(n: number, status?: number, retryAfterSec?: number): void;
  /** The next n depth answers are older than the diffs already sent (diffDepth). */
  staleDepth(n: number): void;
  /** The next n depth answers are held `ms` before they are sent. */
  delayDepth(n: number, ms: number): void;
  /** The exchange's current book (diffDepth), top n levels. */
  exchangeBook(symbol: string, n: number): ExchangeBook;
  /** The exchange's top levels right after the diff with final id `u` (needs bookHistoryLevels). */
  exchangeBookAt(symbol: string, u: number): ExchangeBook | undefined;
  /** Silence one connection: it stays open and answers pings, but receives no data frames. */
  silenceConnection(connId: number): void;
  /**
   * Starts a seeded fault schedule (fault-plan.ts); it replaces `faults.hooks`. The returned log
   * records every fault injected.
   */
  startFaults(plan: FaultPlan): FaultControl;
}

function syntheticNames(spec: number | readonly string[] | undefined): string[] {
  if (spec === undefined) return [];
  if (typeof spec !== "number") return [...spec];
  const width = Math.max(3, String(spec).length);
  return Array.from({ length: spec }, (_, i) => `SYN${String(i + 1).padStart(width, "0")}USDT`);
}

function scriptOf(symbol: string, withDiffs = false): SymbolScript {
  const rec = recordingIdOf(symbol);
  if (!rec) throw new Error(`fake exchange: no recording for ${symbol} (have ${REAL_SYMBOLS.join(", ")})`);
  return recordingScripts(rec, withDiffs).get(symbol)!;
}

/** Loop length (recorded ms) of a real symbol's recording, e.g. to pick a startOffsetMs near the wrap. */
export function recordedLoopMs(symbol: string): number {
  return scriptOf(symbol.toUpperCase()).period;
}

// Golden-ratio phases spread clones evenly over the loop, so 200 clones do not all print the same
// trade at the same instant.
const PHI = 0.6180339887498949;

export async function startFakeExchange(opts: FakeExchangeOptions = {}): Promise<FakeExchange> {
  const speed = opts.speed ?? 1;
  if (!(speed > 0)) throw new Error("fake exchange: speed must be > 0");
  const startAt = opts.startOffsetMs ?? 0;
  if (!(startAt >= 0)) throw new Error("fake exchange: startOffsetMs must be >= 0");
  const real = (opts.symbols ?? REAL_SYMBOLS).map((s) => s.toUpperCase());
  const synth = syntheticNames(opts.syntheticSymbols).map((s) => s.toUpperCase());
  const synthSource = (opts.syntheticSource ?? "BTCUSDT").toUpperCase();

  const served: ServedSymbol[] = [
    ...real.map((symbol) => ({ symbol, source: symbol })),
    ...synth.map((symbol) => ({ symbol, source: synthSource })),
  ];
  const seen = new Set<string>();
  for (const s of served) {
    if (seen.has(s.symbol)) throw new Error(`fake exchange: symbol ${s.symbol} listed twice`);
    seen.add(s.symbol);
  }
  const diffDepth = opts.diffDepth ?? false;
  const tracks = new Map<string, Track>();
  served.forEach((s, i) => {
    const script = scriptOf(s.source, diffDepth);
    const phase = s.symbol === s.source ? 0 : Math.round(((i * PHI) % 1) * script.period);
    tracks.set(s.symbol, makeTrack(s.symbol, script, phase, startAt));
  });
  const streams = new Map<string, StreamKind>();
  for (const t of tracks.values()) {
    streams.set(t.tradeStream, "aggTrade");
    streams.set(t.depthStream, "depth5");
    if (diffDepth) streams.set(t.diffStream, "depthDiff");
  }
  // The exchange's own full books (diffDepth), moved forward to where each track starts.
  const diffBooks = new Map<string, LiveDiffBook>();
  const bookHistory = new Map<string, Map<number, ExchangeBook>>();
  const historyLevels = opts.bookHistoryLevels ?? 0;
  if (diffDepth) {
    for (const t of tracks.values()) {
      const live = new LiveDiffBook(t.script.series, opts.staleDepthLagDiffs ?? 50);
      for (let i = 0; i < t.idx; i++) {
        const it = t.script.items[i]!;
        if (it.kind === "diff") live.apply(it, it.u + t.loop * t.script.shift.diffId);
      }
      diffBooks.set(t.symbol, live);
      bookHistory.set(t.symbol, new Map());
    }
  }

  const records = new Records(opts.recordFrames ?? true, opts.tradeHistoryLimit ?? Infinity);
  const faults = new Faults();
  const info = exchangeInfoResponder(served, opts.exchangeInfoServedOnly ?? false);
  const server = new ProtocolServer(
    {
      port: opts.port ?? 0,
      pingIntervalMs: opts.pingIntervalMs ?? 180_000,
      pongTimeoutMs: opts.pongTimeoutMs ?? 600_000,
      maxMessagesPerSecond: opts.maxMessagesPerSecond ?? 10,
      enforceRateLimit: opts.enforceRateLimit ?? false,
      maxStreamsPerConnection: opts.maxStreamsPerConnection ?? 200,
      maxConnectionAgeMs: opts.maxConnectionAgeMs ?? Infinity,
    },
    streams,
    records,
    faults,
    restHandler({ records, tracks, exchangeInfo: () => info.text(), faults, diffBooks }),
  );
  server.start();

  const replayer = new Replayer([...tracks.values()], { speed, loop: opts.loop ?? true, startOffsetMs: startAt }, (track, frame, item, loop) => {
    if (item.kind === "trade") records.trade(track.symbol, item.a + loop * track.script.shift.a, frame.data);
    else if (item.kind === "diff") {
      const live = diffBooks.get(track.symbol)!;
      const u = item.u + loop * track.script.shift.diffId;
      live.apply(item, u);
      if (historyLevels > 0) bookHistory.get(track.symbol)!.set(u, live.top(historyLevels));
    } else records.lastDepth.set(track.symbol, frame.data);
    server.publish(frame);
  }, () => server.flush());
  replayer.start();

  const port = server.port;
  return {
    port,
    publicWsBase: `ws://127.0.0.1:${port}/public`,
    marketWsBase: `ws://127.0.0.1:${port}/market`,
    restBase: `http://127.0.0.1:${port}`,
    symbols: served.map((s) => s.symbol),
    faults,
    setListing: (symbol, status) => info.setStatus(symbol, status),
    async stop() {
      replayer.stop();
      await server.stop();
    },
    sentFrames: (connId) => (connId === undefined ? records.frames : records.frames.filter((f) => f.connId === connId)),
    connections: () => [...records.connections.values()],
    openConnections: () => server.openConnections(),
    producedTrades: (symbol) => records.producedTrades(symbol),
    lastDepth: (symbol) => records.lastDepth.get(symbol),
    upgradeAttempts: () => records.upgrades,
    restRequests: () => records.rest,
    exchangeTime: () => replayer.now(),
    setSpeed: (speed) => replayer.setSpeed(speed),
    loopPeriodMs: (symbol) => {
      const t = tracks.get(symbol);
      if (!t) throw new Error(`fake exchange: ${symbol} not served`);
      return t.script.period;
    },
    dropConnections: (route) => server.drop(route),
    silence: (route, on) => faults.silence(route, on),
    rejectUpgrades: (n, status = 429, retryAfterSec) => faults.rejectUpgrades(n, status, retryAfterSec),
    rejectRest: (n, status = 429, retryAfterSec) => faults.rejectRest(n, status, retryAfterSec),
    rejectDepth: (n, status = 429, retryAfterSec) => faults.rejectDepth(n, status, retryAfterSec),
    staleDepth: (n) => faults.staleDepth(n),
    delayDepth: (n, ms) => faults.delayDepth(n, ms),
    exchangeBook: (symbol, n) => {
      const live = diffBooks.get(symbol);
      if (!live) throw new Error(`fake exchange: no diff book for ${symbol} (diffDepth off?)`);
      return live.top(n);
    },
    exchangeBookAt: (symbol, u) => bookHistory.get(symbol)?.get(u),
    silenceConnection: (connId) => faults.silenceConn(connId),
    startFaults: (plan) => startFaultPlan(plan, { faults, openConnections: () => server.openConnections(), drop: (ids) => server.dropIds(ids) }),
  };
}
