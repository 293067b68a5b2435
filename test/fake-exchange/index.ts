// Public API of the fake Binance USD-M futures exchange used by end-to-end tests and benchmarks.
import { exchangeInfoResponder, type ServedSymbol } from "./exchange-info.ts";
import { startFaultPlan, type FaultControl, type FaultPlan } from "./fault-plan.ts";
import { Faults } from "./faults.ts";
import { REAL_SYMBOLS, recordingIdOf } from "./fixtures.ts";
import { Records } from "./records.ts";
import { Replayer, makeTrack, type Track } from "./replay.ts";
import { restHandler } from "./rest.ts";
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

function scriptOf(symbol: string): SymbolScript {
  const rec = recordingIdOf(symbol);
  if (!rec) throw new Error(`fake exchange: no recording for ${symbol} (have ${REAL_SYMBOLS.join(", ")})`);
  return recordingScripts(rec).get(symbol)!;
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
  const tracks = new Map<string, Track>();
  served.forEach((s, i) => {
    const script = scriptOf(s.source);
    const phase = s.symbol === s.source ? 0 : Math.round(((i * PHI) % 1) * script.period);
    tracks.set(s.symbol, makeTrack(s.symbol, script, phase, startAt));
  });
  const streams = new Map<string, StreamKind>();
  for (const t of tracks.values()) {
    streams.set(t.tradeStream, "aggTrade");
    streams.set(t.depthStream, "depth5");
  }

  const records = new Records(opts.recordFrames ?? true, opts.tradeHistoryLimit ?? Infinity);
  const faults = new Faults();
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
    restHandler({ records, tracks, exchangeInfo: exchangeInfoResponder(served, opts.exchangeInfoServedOnly ?? false), faults }),
  );
  server.start();

  const replayer = new Replayer([...tracks.values()], { speed, loop: opts.loop ?? true, startOffsetMs: startAt }, (track, frame, item, loop) => {
    if (item.kind === "trade") records.trade(track.symbol, item.a + loop * track.script.shift.a, frame.data);
    else records.lastDepth.set(track.symbol, frame.data);
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
    loopPeriodMs: (symbol) => {
      const t = tracks.get(symbol);
      if (!t) throw new Error(`fake exchange: ${symbol} not served`);
      return t.script.period;
    },
    dropConnections: (route) => server.drop(route),
    silence: (route, on) => faults.silence(route, on),
    rejectUpgrades: (n, status = 429, retryAfterSec) => faults.rejectUpgrades(n, status, retryAfterSec),
    rejectRest: (n, status = 429, retryAfterSec) => faults.rejectRest(n, status, retryAfterSec),
    silenceConnection: (connId) => faults.silenceConn(connId),
    startFaults: (plan) => startFaultPlan(plan, { faults, openConnections: () => server.openConnections(), drop: (ids) => server.dropIds(ids) }),
  };
}
