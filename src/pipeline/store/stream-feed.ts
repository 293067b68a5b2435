/**
 * The store's feed (core/feed.ts): records from the JetStream stream instead of exchange sockets,
 * through the venue's relay (core/feed.ts `Relay`: the same stream gate a collector uses — dedup by
 * id whichever collector sent it first, gap detection, REST backfill of what no collector
 * delivered), forward to the pipeline. This module knows NATS; the relay knows the venue.
 *
 * A message is acknowledged only once its fate is on disk: after the batch it came in has been
 * applied, the NDJSON log flushed (`flushLog`), and no frame is held behind a backfill (a held
 * frame's line is not written yet). A crash therefore leaves only unacknowledged messages to be
 * redelivered; those whose ids the log already holds are dropped by `resume` (resume.ts).
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { ConnectionView, ExchangeAdapter, Feed, FeedOutput, Relay, SymbolFeedStats } from "../../core/feed.ts";
import { COLLECTOR_HEADER } from "../../sinks/nats/publisher.ts";
import { parseSubject } from "../../sinks/nats/record-address.ts";
import type { NatsParams } from "../../sinks/nats/params.ts";
import { RecentHistogram } from "../../util/recent-histogram.ts";
import type { Logger } from "../../util/log.ts";
import type { StreamConsumer } from "./consumer.ts";
import type { LastIds } from "./resume.ts";

const GATE_TICK_MS = 250;
const INFO_EVERY_MS = 2000;
/** Records are settled (log flushed, then acknowledged) at least this often, and after every batch. */
const SETTLE_EVERY_MS = 100;
/**
 * Longest a record waits for earlier records of its stream that arrive after it (resequencer.ts): a
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
  /** The venue whose raw-log lines the collectors publish. */
  readonly adapter: ExchangeAdapter;
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

interface Unacked {
  readonly msg: JsMsg;
  readonly tag: number;
}

const NOTHING_HELD: ReadonlySet<number> = new Set();

export class StreamFeed implements Feed {
  readonly connections: readonly ConnectionView[] = [];
  readonly counters_: StoreCounters = { messages: 0, acked: 0, redeliveries: 0, alreadyLogged: 0, otherSymbols: 0, badRecords: 0 };
  readonly collectors = new Map<string, CollectorArrivals>();
  private readonly relay: Relay;
  private readonly stats_ = new Map<string, SymbolFeedStats>();
  private readonly symbolSet: ReadonlySet<string>;
  private readonly sockets = new Map<string, number>();
  /**
   * Records taken and not acknowledged yet, in the order taken, each with its tag for the relay
   * (`Relay.holding`). Each is acknowledged on its own once its line is on disk, so records waiting
   * in the relay (for order, or behind a backfill) hold back nothing but themselves.
   */
  private unacked: Unacked[] = [];
  private nextTag = 0;
  /** Date.now() when consuming started (0: not yet), of the last acknowledgement, and since when unacknowledged records wait. */
  startedAtMs = 0;
  lastAckAtMs = 0;
  oldestUnackedAtMs = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private lastInfoMs = 0;
  private settling: Promise<void> | null = null;

  constructor(private readonly o: StreamFeedOptions) {
    this.symbolSet = new Set(o.symbols);
    this.relay = o.adapter.openRelay(o.symbols, o.out, { resume: o.resume, reorderWindowMs: reorderWindowMs(o.params), beginSession: o.beginSession });
    for (const s of o.symbols) {
      this.stats_.set(s, { frames: 0, badFrames: 0, lastFrameAtMs: 0, lastDepthAtMs: 0, lastTradeAtMs: 0, eventLatencyMs: new RecentHistogram(), secFrames: 0, prevSecFrames: 0, sec: 0 });
    }
  }

  start(): void {
    this.running = true;
    this.startedAtMs = Date.now();
    this.ticker = setInterval(() => this.relay.tick(performance.now()), GATE_TICK_MS);
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
    this.relay.drain();
    await this.o.flushLog();
    this.ackAll();
  }

  private async run(): Promise<void> {
    const batch = this.o.params.fetch_batch;
    const settler = setInterval(() => void this.settle(), SETTLE_EVERY_MS);
    try {
      let taken = 0;
      for await (const m of this.o.consumer.messages(batch, this.o.log)) {
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
   * Every record taken that the relay does not hold (waiting for order, or behind a backfill) has its
   * line appended; once those lines are on disk, the records are acknowledged. (Read before the
   * flush: records released during it are appended after it and wait for the next round.)
   */
  private settle(): Promise<void> {
    if (this.settling !== null) return this.settling;
    const run = async () => {
      const held = this.relay.pending === 0 ? NOTHING_HELD : this.relay.holding();
      const settled: JsMsg[] = [];
      const kept: Unacked[] = [];
      for (const u of this.unacked) {
        if (held.has(u.tag)) kept.push(u);
        else settled.push(u.msg);
      }
      this.unacked = kept;
      await this.o.flushLog();
      this.ack(settled);
      const now = Date.now();
      if (now - this.lastInfoMs > INFO_EVERY_MS) {
        this.lastInfoMs = now;
        void this.o.consumer.refresh(this.o.log);
      }
    };
    this.settling = run().finally(() => {
      this.settling = null;
    });
    return this.settling;
  }

  private ackAll(): void {
    const all = this.unacked.map((u) => u.msg);
    this.unacked = [];
    this.ack(all);
  }

  private ack(msgs: readonly JsMsg[]): void {
    if (msgs.length === 0) return;
    for (const m of msgs) m.ack();
    this.counters_.acked += msgs.length;
    this.lastAckAtMs = Date.now();
    this.oldestUnackedAtMs = this.unacked.length === 0 ? 0 : this.lastAckAtMs;
  }

  private take(m: JsMsg, t0: number): void {
    const c = this.counters_;
    c.messages++;
    if (this.unacked.length === 0) this.oldestUnackedAtMs = Date.now();
    const tag = this.nextTag++;
    this.unacked.push({ msg: m, tag });
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
    const r = this.relay.offer(m.string(), symbol, this.socketOf(collector), t0, tag);
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
    if (r.type === "logged") {
      c.alreadyLogged++;
      return;
    }
    const ev = r.event;
    if (ev?.kind === "aggTrade") arr.trades++;
    else if (ev !== null) arr.books++;
    const st = this.stats_.get(symbol)!;
    st.frames++;
    st.lastFrameAtMs = r.recvTsMs;
    if (ev?.kind === "aggTrade") st.lastTradeAtMs = r.recvTsMs;
    else if (ev?.kind === "depth") st.lastDepthAtMs = r.recvTsMs;
    const nowMs = Date.now();
    const sec = Math.floor(nowMs / 1000);
    if (sec !== st.sec) {
      st.prevSecFrames = sec === st.sec + 1 ? st.secFrames : 0;
      st.secFrames = 0;
      st.sec = sec;
    }
    st.secFrames++;
    // In the window by when this store took it in (a backlog caught up is recent here).
    if (ev !== null && ev.eventTime !== null) st.eventLatencyMs.recordAt(r.recvTsMs - ev.eventTime, nowMs);
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
    return { ...this.relay.totals(), ...this.counters_ };
  }

  stats(symbol: string): SymbolFeedStats | undefined {
    return this.stats_.get(symbol);
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.relay.counters(symbol);
  }

  get unackedCount(): number {
    return this.unacked.length;
  }

  requestDepthSnapshot(symbol: string): void {
    this.relay.requestDepthSnapshot?.(symbol);
  }

  /** Trades that arrived after a higher id of their stream and were put back in order. */
  get reordered(): number {
    return this.relay.reordered;
  }
}
