/**
 * The store's feed (core/feed.ts): records from the JetStream stream instead of exchange sockets,
 * through the same stream gate a collector uses (dedup by id whichever collector sent it first, gap
 * detection, REST backfill of what no collector delivered), forward to the pipeline.
 *
 * A message is acknowledged only once its fate is on disk: after the batch it came in has been
 * applied, the NDJSON log flushed (`flushLog`), and no frame is held behind a backfill (a held
 * frame's line is not written yet). A crash therefore leaves only unacknowledged messages to be
 * redelivered; those whose ids the log already holds are dropped by `resume` (resume.ts).
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { ConnectionView, Feed, FeedOutput, SymbolFeedStats } from "../../core/feed.ts";
import { Backfiller } from "../../exchange/binance/backfill.ts";
import { MAX_HELD_PER_STREAM, MAX_HELD_TOTAL } from "../../exchange/binance/feed.ts";
import type { BinanceEndpoints, BinanceFeedParams } from "../../exchange/binance/params.ts";
import { RestClient } from "../../exchange/binance/rest-client.ts";
import { StreamGate, type GateFrame } from "../../exchange/binance/stream-gate.ts";
import { streamName } from "../../exchange/binance/streams.ts";
import { COLLECTOR_HEADER } from "../../sinks/nats/publisher.ts";
import { parseSubject } from "../../sinks/nats/record-address.ts";
import type { NatsParams } from "../../sinks/nats/params.ts";
import { Histogram } from "../../util/histogram.ts";
import type { Logger } from "../../util/log.ts";
import type { StreamConsumer } from "./consumer.ts";
import { recordInput } from "./record-frame.ts";
import { TradeResequencer } from "./resequencer.ts";
import type { LastIds } from "./resume.ts";

const GATE_TICK_MS = 250;
const INFO_EVERY_MS = 2000;
/** Records are settled (log flushed, then acknowledged) at least this often, and after every batch. */
const SETTLE_EVERY_MS = 100;
/**
 * Longest a trade waits for lower ids of its stream that arrive after it (resequencer.ts): a
 * collector whose publishes failed publishes them again within its ack timeout plus a reconnect and
 * a catch-up round; only what no collector delivers by then is asked of the exchange's REST API.
 */
const reorderWindowMs = (p: NatsParams): number => p.ack_timeout_sec * 1000 + 5000;

/** Arrivals of one collector's records, for the status page and /metrics. */
export interface CollectorArrivals {
  messages: number;
  trades: number;
  books: number;
  control: number;
  /** Records of this collector the gate kept (it delivered the id first). */
  lastAtMs: number;
  /** Control events by name (session, connect, disconnect, gap). */
  readonly events: Record<string, number>;
}

export interface StoreCounters {
  messages: number;
  acked: number;
  /** Messages delivered more than once by the server (not acknowledged in time, or a store restart). */
  redeliveries: number;
  /** Records dropped because the store's log already held their id (redelivered after a restart). */
  alreadyLogged: number;
  /** Records of symbols this store does not keep (another store's partition). */
  otherSymbols: number;
  badRecords: number;
}

export interface StreamFeedOptions {
  readonly symbols: readonly string[];
  readonly params: NatsParams;
  readonly endpoints: BinanceEndpoints;
  readonly feed: BinanceFeedParams;
  readonly consumer: StreamConsumer;
  readonly out: FeedOutput;
  /** Hands every line appended so far to the OS; resolves when written. */
  readonly flushLog: () => Promise<void>;
  /** Last ids of the store's own log per symbol (resume.ts). */
  readonly resume: ReadonlyMap<string, LastIds>;
  /**
   * Called before the first record of a symbol goes to the gate, with that record's `ts_recv`: the
   * store starts the symbol's session (its `session` line) there.
   */
  readonly beginSession: (symbol: string, firstTsRecv: number) => void;
  readonly log: Logger;
}

export class StreamFeed implements Feed {
  readonly connections: readonly ConnectionView[] = [];
  readonly counters_: StoreCounters = { messages: 0, acked: 0, redeliveries: 0, alreadyLogged: 0, otherSymbols: 0, badRecords: 0 };
  readonly collectors = new Map<string, CollectorArrivals>();
  private readonly gate: StreamGate;
  private readonly rest: RestClient;
  private readonly backfiller: Backfiller;
  private readonly stats_ = new Map<string, SymbolFeedStats>();
  private readonly symbolSet: ReadonlySet<string>;
  /** Resume ids not yet passed, per stream kind and symbol. */
  private readonly resumeTrade = new Map<string, number>();
  private readonly resumeDepth = new Map<string, number>();
  private readonly sockets = new Map<string, number>();
  private readonly begun = new Set<string>();
  private readonly reseq: TradeResequencer;
  private unacked: JsMsg[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private lastInfoMs = 0;
  private settling: Promise<void> | null = null;

  constructor(private readonly o: StreamFeedOptions) {
    this.symbolSet = new Set(o.symbols);
    this.rest = new RestClient({ baseUrl: o.endpoints.rest, weightBudget1m: o.feed.rest_weight_budget_1m });
    this.backfiller = new Backfiller(this.rest, { onError: (err, symbol) => o.log.log("error", "backfill failed", { symbol, error: err.message }) });
    this.gate = new StreamGate(o.symbols, o.out, {
      dedupLru: o.feed.dedup_lru,
      backfiller: this.backfiller,
      maxHoldMs: o.feed.backfill_max_hold_sec * 1000,
      maxHeldPerStream: MAX_HELD_PER_STREAM,
      maxHeldTotal: MAX_HELD_TOTAL,
      onNotice: (key, msg, fields) => o.log.limited(key, "warn", msg, fields),
    });
    this.reseq = new TradeResequencer(reorderWindowMs(o.params), (f) => this.toGate(f));
    for (const s of o.symbols) {
      this.stats_.set(s, { frames: 0, badFrames: 0, lastFrameAtMs: 0, lastDepthAtMs: 0, lastTradeAtMs: 0, eventLatencyMs: new Histogram(), secFrames: 0, prevSecFrames: 0, sec: 0 });
      const r = o.resume.get(s);
      // What the log holds is the gate's past: a hole right after a restart is a gap like any other.
      if (r?.trade != null) {
        this.resumeTrade.set(s, r.trade);
        this.reseq.expect(streamName(s, "aggTrade"), r.trade + 1);
        this.gate.resumeAt(streamName(s, "aggTrade"), r.trade);
      }
      if (r?.depth != null) {
        this.resumeDepth.set(s, r.depth);
        this.gate.resumeAt(streamName(s, "depth"), r.depth);
      }
    }
  }

  start(): void {
    this.running = true;
    this.ticker = setInterval(() => {
      const now = Date.now();
      this.reseq.tick(now);
      this.gate.tick(now);
    }, GATE_TICK_MS);
    this.loop = this.run().catch((e: Error) => this.o.log.log("error", "store consumer loop failed", { error: e.message }));
  }

  /** Stops taking records; `drain` then writes and acknowledges what was taken. */
  stop(): void {
    this.running = false;
    this.o.consumer.stop();
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }

  /** Waits for the fetch loop, releases held frames, writes and acknowledges everything processed. */
  async drain(): Promise<void> {
    this.stop();
    await this.loop;
    await this.settling;
    this.reseq.flush();
    this.backfiller.stop();
    this.rest.close();
    this.gate.drain();
    await this.o.flushLog();
    this.ackAll();
  }

  private async run(): Promise<void> {
    const batch = this.o.params.fetch_batch;
    const settler = setInterval(() => void this.settle(), SETTLE_EVERY_MS);
    try {
      let taken = 0;
      for await (const m of this.o.consumer.messages(batch)) {
        this.take(m, performance.now());
        if (++taken >= batch) {
          taken = 0;
          await this.settle();
        }
        if (!this.running) break;
      }
    } finally {
      clearInterval(settler);
    }
  }

  /**
   * Nothing held behind a backfill or waiting for reordering means every record taken so far has its
   * line appended; once those lines are on disk, the records are acknowledged. (Checked before the
   * flush: frames released during it are appended after it and wait for the next round.)
   */
  private settle(): Promise<void> {
    if (this.settling !== null) return this.settling;
    const run = async () => {
      const settled = this.gate.totals.held === 0 && this.reseq.waiting === 0 ? this.unacked : null;
      if (settled !== null) this.unacked = [];
      await this.o.flushLog();
      if (settled !== null) this.ack(settled);
      const now = Date.now();
      if (now - this.lastInfoMs > INFO_EVERY_MS) {
        this.lastInfoMs = now;
        void this.o.consumer.refresh();
      }
    };
    this.settling = run().finally(() => {
      this.settling = null;
    });
    return this.settling;
  }

  private ackAll(): void {
    const all = this.unacked;
    this.unacked = [];
    this.ack(all);
  }

  private ack(msgs: readonly JsMsg[]): void {
    for (const m of msgs) m.ack();
    this.counters_.acked += msgs.length;
  }

  private take(m: JsMsg, t0: number): void {
    const c = this.counters_;
    c.messages++;
    this.unacked.push(m);
    if (m.redelivered) c.redeliveries++;
    const subj = parseSubject(m.subject, this.o.params.subject_prefix);
    if (subj === null || !this.symbolSet.has(subj.symbol)) {
      c.otherSymbols++;
      return;
    }
    const collector = m.headers?.get(COLLECTOR_HEADER) || "unknown";
    let arr = this.collectors.get(collector);
    if (arr === undefined) {
      arr = { messages: 0, trades: 0, books: 0, control: 0, lastAtMs: 0, events: {} };
      this.collectors.set(collector, arr);
    }
    arr.messages++;
    arr.lastAtMs = Date.now();
    const symbol = subj.symbol;
    const r = recordInput(m.string(), symbol, this.socketOf(collector), t0);
    if (r.type === "bad") {
      c.badRecords++;
      this.o.log.limited(`store-bad:${collector}`, "warn", "record not usable", { collector, subject: m.subject, reason: r.reason });
      return;
    }
    if (r.type === "control") {
      arr.control++;
      arr.events[r.event] = (arr.events[r.event] ?? 0) + 1;
      return;
    }
    const f = r.frame;
    const ev = f.event;
    if (ev !== null) {
      const resume = ev.kind === "aggTrade" ? this.resumeTrade : this.resumeDepth;
      const last = resume.get(symbol);
      if (last !== undefined) {
        const id = ev.kind === "aggTrade" ? ev.aggId : ev.lastId;
        if (id <= last) {
          c.alreadyLogged++;
          return;
        }
        resume.delete(symbol);
      }
      if (ev.kind === "aggTrade") arr.trades++;
      else arr.books++;
    }
    const st = this.stats_.get(symbol)!;
    st.frames++;
    st.lastFrameAtMs = f.recvTsMs;
    if (ev?.kind === "aggTrade") st.lastTradeAtMs = f.recvTsMs;
    else if (ev?.kind === "depth") st.lastDepthAtMs = f.recvTsMs;
    const sec = Math.floor(Date.now() / 1000);
    if (sec !== st.sec) {
      st.prevSecFrames = sec === st.sec + 1 ? st.secFrames : 0;
      st.secFrames = 0;
      st.sec = sec;
    }
    st.secFrames++;
    if (ev !== null && ev.eventTime !== null) st.eventLatencyMs.record(f.recvTsMs - ev.eventTime);
    if (ev?.kind === "aggTrade") this.reseq.offer(f.stream, ev.aggId, f, Date.now());
    else this.toGate(f);
  }

  private toGate(f: GateFrame): void {
    const symbol = this.gate.symbolOf(f.stream)!;
    if (!this.begun.has(symbol)) {
      this.begun.add(symbol);
      this.o.beginSession(symbol, f.recvTsMs);
    }
    this.gate.offer(f);
  }

  /** A socket number per collector: the gate's counters tell a resend from another source's copy. */
  private socketOf(collector: string): number {
    let n = this.sockets.get(collector);
    if (n === undefined) {
      n = this.sockets.size + 1;
      this.sockets.set(collector, n);
    }
    return n;
  }

  totals(): Readonly<Record<string, number>> {
    const rc = this.rest.counters;
    return {
      ...this.gate.totals,
      ...this.counters_,
      backfill_pages: this.backfiller.counters.pages,
      rest_requests: rc.requests,
      rest_throttled: rc.throttled,
      rest_weight_waits: rc.weightWaits,
      rest_used_weight_1m: rc.usedWeight1m,
    };
  }

  stats(symbol: string): SymbolFeedStats | undefined {
    return this.stats_.get(symbol);
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.gate.bySymbol.get(symbol) as Readonly<Record<string, number>> | undefined;
  }

  get unackedCount(): number {
    return this.unacked.length;
  }

  /** Trades that arrived after a higher id of their stream and were put back in order. */
  get reordered(): number {
    return this.reseq.reordered;
  }
}
