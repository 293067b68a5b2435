/**
 * Publishes every record a collector writes to its NDJSON log to a JetStream stream (docs/scale-out.md).
 *
 * Ingest never waits: `append` is synchronous. A record is published at once while the connection is
 * up and fewer than `ack_window` publishes await their acknowledgement; acknowledgements are handled
 * asynchronously. Any record that could not be published at once (no connection, window full) or
 * whose publish failed (timeout, error) puts its symbol "behind" from that record's `ts_recv`; nothing
 * is kept in memory for it, because the NDJSON log has it. When the connection is back, the
 * publisher catches up by reading each behind symbol's log from that time (log-reader.ts), then
 * switches back to live publishing without reordering: live records are queued during the last
 * round of catch-up and sent after it.
 *
 * A failed publish stops the catch-up under way; the next waits (backoff, 250 ms doubling to 4 s) and
 * sends one record alone before the rest, so an outage with the connection up (no JetStream quorum)
 * costs one failed publish per try, not a window per round.
 *
 * A record may be published twice (catch-up starts at a time, not at a record); JetStream's
 * duplicate window and the store's stream gate (by exchange id) make that harmless, which is why
 * catch-up may err on the side of republishing.
 *
 * A state file (`resume`) records, every second, from where each symbol would have to be published
 * again if the process died now (the oldest record not known to be acknowledged); the next start
 * catches up from there, so a SIGKILL loses nothing the log had.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import { verdict, type ComponentHealth, type LineSinkComponent } from "../component.ts";
import { dataLine } from "../../core/raw-log.ts";
import { collectorName, connectionOptions, diagnoseServers, natsErrorText, redactServer, redactText, refusedCredentials } from "./connection.ts";
import { ensureStream } from "./stream-config.ts";
import { describePermanent, permanentJetStreamError } from "./stream-errors.ts";
import { linesSince, lineTs } from "./log-reader.ts";
import type { NatsParams } from "./params.ts";
import { RecordAddresser } from "./record-address.ts";

/** Header naming the collector that published a record (the store counts arrivals per collector). */
export const COLLECTOR_HEADER = "Harvestd-Collector";

export interface PublisherLog {
  log(level: "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>): void;
  limited(key: string, level: "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface NatsPublisherOptions {
  readonly params: NatsParams;
  /** Exchange token of subjects and ids (`binance`). */
  readonly exchange: string;
  /** The NDJSON log folder this process writes (catch-up reads it). */
  readonly ndjsonDir: string;
  /** Hands the NDJSON sink's buffered lines to the OS (catch-up must see every line appended so far). */
  readonly flushLog: () => Promise<void>;
  /** File where the resume points survive a restart. */
  readonly stateFile: string;
  readonly log: PublisherLog;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export type PublishMode = "live" | "behind" | "catching-up";

export interface NatsPublisherStatus {
  readonly enabled: true;
  readonly connected: boolean;
  readonly server: string | null;
  readonly mode: PublishMode;
  readonly collector: string;
  readonly stream: string;
  readonly inFlight: number;
  readonly published: number;
  readonly acked: number;
  /** Acknowledged as duplicates by JetStream (another collector, or a republish, was first). */
  readonly duplicates: number;
  /** Records whose publish failed (a record retried and failing again is not counted again). */
  readonly failed: number;
  /** Records published from the log after an outage and acknowledged. */
  readonly caughtUp: number;
  readonly catchUps: number;
  /** Symbols waiting for catch-up, and the oldest time they are behind from (null: none). */
  readonly behindSymbols: number;
  readonly behindSinceMs: number | null;
  readonly disconnectedSinceMs: number | null;
  /** The current problem (null once publishing works again), and since when (wall clock). */
  readonly lastError: string | null;
  readonly lastErrorAtMs: number | null;
  /** Waiting this long (ms) before publishing again after failed publishes (backoff), else 0. */
  readonly retryInMs: number;
}

const outageStart = () => ({ atMs: Date.now(), atMono: performance.now() });

/** Records queued live during the last catch-up round; past this, catch-up does another round. */
const MAX_QUEUED = 200_000;
const STATE_EVERY_MS = 1000;
/** After a failed publish, publishing is tried again after this, doubling per failed try up to the max. */
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 4000;
/** While not connected, the configured addresses are checked this often (the log and /health say what is wrong). */
const DIAGNOSE_EVERY_MS = 5000;

interface Queued {
  readonly symbol: string;
  readonly ts: number;
  readonly line: string;
}

export class NatsPublisher implements LineSinkComponent {
  readonly name = "nats";
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private connected = false;
  private closing = false;
  private mode: PublishMode = "live";
  /** Per behind symbol: publish again from this `ts_recv` on. */
  private readonly behind = new Map<string, number>();
  /** Per symbol: `ts_recv` of records sent and not yet acknowledged, oldest first. */
  private readonly unacked = new Map<string, number[]>();
  /** Per symbol: `ts_recv` of the last acknowledged record. */
  private readonly lastAcked = new Map<string, number>();
  private queue: Queued[] = [];
  private inFlight = 0;
  private windowWaiters: (() => void)[] = [];
  private catchUpRunning: Promise<void> | null = null;
  private readonly addresser: RecordAddresser;
  private readonly collector: string;
  private readonly p: NatsParams;
  private readonly stateTimer: ReturnType<typeof setInterval>;
  private readonly counts = { published: 0, acked: 0, duplicates: 0, failed: 0, caughtUp: 0, catchUps: 0 };
  private lastError: string | null = null;
  private lastErrorAtMs: number | null = null;
  /** What retrying cannot fix (a refused stream): publishing has stopped. */
  private refused: string | null = null;
  /** Connected at the last attempt, but the stream check has not passed (it failed: `lastError` says why). */
  private checkingStream = false;
  /** Bumped by every failed publish: a catch-up that sees it change stops and backs off. */
  private failGen = 0;
  private backoffMs = BACKOFF_MIN_MS;
  /** No catch-up before this moment (monotonic): the backoff after failed publishes. */
  private retryAtMono = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** After a failure, the next catch-up sends one record and waits for its acknowledgement before the rest. */
  private probeNeeded = false;
  /** Per symbol: `ts_recv` of the newest record counted in `failed` (a retry of it is not a new failure). */
  private readonly failedUpTo = new Map<string, number>();
  private diagnoseTimer: ReturnType<typeof setInterval> | null = null;
  /** The start's "not reachable yet" line is out: later changes of the reason get lines of their own. */
  private startLogged = false;
  /** Since when not connected (null: connected): the wall moment for status, its age on the monotonic clock (a stepped wall clock must not age it). */
  private disconnected: { readonly atMs: number; readonly atMono: number } | null = outageStart();
  private server: string | null = null;
  private readonly createdAtMono = performance.now();

  constructor(private readonly opts: NatsPublisherOptions) {
    this.p = opts.params;
    this.collector = collectorName(this.p);
    this.addresser = new RecordAddresser(this.p.subject_prefix, opts.exchange, this.collector);
    for (const [symbol, ts] of readResume(opts.stateFile)) this.markBehind(symbol, ts);
    this.stateTimer = setInterval(() => this.saveState(), STATE_EVERY_MS);
    this.stateTimer.unref();
  }

  /**
   * Connects (waiting at most `waitMs` for the first connection; after that it keeps trying in the
   * background) and creates or checks the stream. Resolves with an error only for what retrying
   * cannot fix: bad credentials/TLS files, or a stream with other settings.
   */
  async start(waitMs = 5000): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }> {
    const o = connectionOptions(this.p, `harvestd-collector-${this.collector}`, this.opts.env);
    if (!o.ok) return o;
    // Each first-connection attempt fails with its reason (instead of the client waiting silently),
    // so the log and the status can name a wrong address.
    const options = { ...o.options, waitOnFirstConnect: false, timeout: 3000 };
    // Retried until it works or meets what retrying cannot fix (a stream with other settings):
    // a cluster electing a leader, or a node down, only delays the first connection.
    const first = (async (): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }> => {
      for (;;) {
        const r = await this.connectOnce(options);
        if (r === "retry") {
          if (this.closing) return { ok: true };
          await Bun.sleep(1000);
          continue;
        }
        return r;
      }
    })();
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref());
    const r = await Promise.race([first, timeout]);
    if (r !== null) return r;
    // Not reachable yet (the client keeps trying): the collector runs on its log, and the first
    // connection catches up. A stream found mismatched then stops publishing, loudly.
    this.opts.log.log("warn", "nats not reachable yet; collecting to the NDJSON log, publishing once it is", { servers: this.p.servers.length, error: this.lastError });
    this.startLogged = true;
    void first.then((x) => (x.ok ? undefined : this.fail(x.error)));
    return { ok: true };
  }

  /** One attempt: connected and the stream checked, refused (mismatch), or "retry" (transient). */
  private async connectOnce(options: Parameters<typeof connect>[0]): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string } | "retry"> {
    let nc: NatsConnection;
    try {
      nc = await connect(options);
    } catch (e) {
      this.checkingStream = false;
      const diagnosis = await diagnoseServers(this.p.servers).catch(() => null);
      // What is wrong with the addresses, and also a refusal of the credentials: one server refusing
      // connections must not hide another refusing them.
      const error = diagnosis === null ? natsErrorText(e, this.p.servers) : refusedCredentials(e) ? `${natsErrorText(e, this.p.servers)}; ${diagnosis}` : diagnosis;
      const changed = error !== this.lastError;
      this.setError(error);
      // Logged when the reason changes, once the start line (which carries the first one) is out.
      if (changed && this.startLogged) this.opts.log.log("warn", "nats not reachable", { error });
      return "retry";
    }
    try {
      this.checkingStream = true;
      const jsm = await jetstreamManager(nc, { timeout: this.p.ack_timeout_sec * 1000 });
      const r = await ensureStream(jsm, this.p);
      if (!r.ok) {
        await nc.close();
        return r;
      }
      if (r.created) this.opts.log.log("info", "nats stream created", { stream: this.p.stream, replicas: this.p.replicas });
    } catch (e) {
      await nc.close().catch(() => {});
      const permanent = permanentJetStreamError(e, this.p);
      if (permanent !== null) return { ok: false, error: describePermanent(permanent) };
      this.setError(`nats: ${redactText((e as Error).message, this.p.servers)}`);
      this.opts.log.limited("nats-start", "warn", "nats stream check failed; retrying", { error: this.lastError });
      return "retry";
    }
    this.checkingStream = false;
    this.setError(null);
    this.attach(nc);
    return { ok: true };
  }

  private setError(error: string | null): void {
    if (error === this.lastError) return;
    this.lastError = error;
    this.lastErrorAtMs = error === null ? null : Date.now();
  }

  private fail(error: string): void {
    this.refused = error;
    this.setError(error);
    this.opts.log.log("error", "nats publishing stopped", { error });
  }

  private attach(nc: NatsConnection): void {
    if (this.closing) {
      void nc.close();
      return;
    }
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.p.ack_timeout_sec * 1000 });
    this.setConnected(true);
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") {
          this.setConnected(false);
          this.setError(`nats: disconnected from ${redactServer(String(s.server ?? "the server"))}`);
        } else if (s.type === "reconnect") this.setConnected(true);
      }
    })();
  }

  private setConnected(up: boolean): void {
    if (up === this.connected) return;
    this.connected = up;
    this.server = up ? redactServer(this.nc?.getServer() ?? "") || null : null;
    this.disconnected = up ? null : outageStart();
    this.opts.log.log(up ? "info" : "warn", up ? "nats connected" : "nats disconnected", { server: this.server });
    if (this.diagnoseTimer !== null) clearInterval(this.diagnoseTimer);
    this.diagnoseTimer = null;
    if (up) {
      // The disconnection is over; a publish that fails again says so again.
      if (this.refused === null) this.setError(null);
      this.kickCatchUp();
    } else {
      // The client reconnects on its own; meanwhile say what is wrong with the addresses, if anything.
      this.diagnoseTimer = setInterval(() => {
        void diagnoseServers(this.p.servers).then((d) => {
          if (d !== null && !this.connected && !this.closing) this.setError(d);
        }, () => {});
      }, DIAGNOSE_EVERY_MS);
      this.diagnoseTimer.unref();
    }
  }

  appendData(symbol: string, tsRecv: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): void {
    this.append(symbol, tsRecv, dataLine(tsRecv, stream, latencyEventMs, latencyPipelineMs, dataText));
  }

  /** One record, exactly as written to `symbol`'s NDJSON log. Never blocks. */
  append(symbol: string, tsRecv: number, line: string): void {
    if (this.closing) return;
    if (this.mode === "live" && this.connected && this.inFlight < this.p.ack_window) {
      this.send(symbol, tsRecv, line, false);
    } else if (this.mode === "catching-up" && this.queue.length < MAX_QUEUED) {
      this.queue.push({ symbol, ts: tsRecv, line });
    } else {
      this.markBehind(symbol, tsRecv);
    }
  }

  private markBehind(symbol: string, ts: number): void {
    const was = this.behind.get(symbol);
    if (was === undefined || ts < was) this.behind.set(symbol, ts);
    if (this.mode === "catching-up") {
      // The live queue cannot be sent in order any more: its records go back to the log's care,
      // and the catch-up does another round.
      for (const q of this.queue) if (!this.behind.has(q.symbol) || q.ts < this.behind.get(q.symbol)!) this.behind.set(q.symbol, q.ts);
      this.queue = [];
    }
    this.mode = "behind";
    this.kickCatchUp();
  }

  /** Publishes one record; resolves true once acknowledged, false when its publish failed. */
  private send(symbol: string, ts: number, line: string, catchUp: boolean): Promise<boolean> {
    const js = this.js!;
    const a = this.addresser.address(symbol, line);
    const h = headers();
    h.set(COLLECTOR_HEADER, this.collector);
    this.inFlight++;
    this.counts.published++;
    let pending = this.unacked.get(symbol);
    if (pending === undefined) this.unacked.set(symbol, (pending = []));
    pending.push(ts);
    return js.publish(a.subject, line, { msgID: a.msgId, headers: h, timeout: this.p.ack_timeout_sec * 1000 }).then(
      (ack: PubAck) => {
        this.counts.acked++;
        if (ack.duplicate) this.counts.duplicates++;
        if (catchUp) this.counts.caughtUp++;
        const prev = this.lastAcked.get(symbol);
        if (prev === undefined || ts > prev) this.lastAcked.set(symbol, ts);
        // Publishing works: the backoff starts small again, and the last problem is over.
        this.backoffMs = BACKOFF_MIN_MS;
        if (this.refused === null) this.setError(null);
        this.settle(symbol, ts);
        return true;
      },
      (e: Error) => {
        // A record tried again (catch-up after a failure) and failing again is one failed record.
        const upTo = this.failedUpTo.get(symbol);
        if (upTo === undefined || ts > upTo) {
          this.counts.failed++;
          this.failedUpTo.set(symbol, ts);
        }
        const error = `nats: publish failed: ${redactText(e.message, this.p.servers)}`;
        this.setError(error);
        this.opts.log.limited("nats-publish", "warn", "nats publish failed; the log will be published again from this record", { symbol, error });
        this.noteFailure();
        this.settle(symbol, ts);
        this.markBehind(symbol, ts);
        return false;
      },
    );
  }

  /**
   * A failed publish: the catch-up under way stops, and the next one waits (backoff, doubling per
   * failed try up to BACKOFF_MAX_MS) and then sends one record alone before the rest: during an
   * outage with the connection up (no JetStream leader or quorum) a try costs one record, not a window.
   */
  private noteFailure(): void {
    this.failGen++;
    this.probeNeeded = true;
    const now = performance.now();
    if (now >= this.retryAtMono) {
      this.retryAtMono = now + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    }
  }

  private settle(symbol: string, ts: number): void {
    this.inFlight--;
    const pending = this.unacked.get(symbol);
    if (pending !== undefined) {
      // Acknowledgements come nearly in order: the matching entry is almost always the first.
      const i = pending[0] === ts ? 0 : pending.indexOf(ts);
      if (i >= 0) pending.splice(i, 1);
    }
    const w = this.windowWaiters.shift();
    w?.();
  }

  private waitForWindow(): Promise<void> {
    if (this.inFlight < this.p.ack_window) return Promise.resolve();
    return new Promise((resolve) => this.windowWaiters.push(resolve));
  }

  private kickCatchUp(): void {
    if (this.catchUpRunning !== null || !this.connected || this.closing || this.behind.size === 0 || this.refused !== null) return;
    const wait = this.retryAtMono - performance.now();
    if (wait > 0) {
      if (this.retryTimer === null) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.kickCatchUp();
        }, wait);
        this.retryTimer.unref();
      }
      return;
    }
    this.catchUpRunning = this.catchUp()
      .catch((e: Error) => {
        this.setError(`nats: catch-up failed: ${e.message}`);
        this.opts.log.log("error", "nats catch-up failed; retrying", { error: e.message });
        this.retryAtMono = Math.max(this.retryAtMono, performance.now() + 1000);
      })
      .finally(() => {
        this.catchUpRunning = null;
        this.kickCatchUp();
      });
  }

  /**
   * Rounds of catch-up while records keep arriving: each round publishes from the log what the
   * behind map names; the round after one that took under a second is the last, with live records
   * queued meanwhile and sent after it, in order.
   */
  private async catchUp(): Promise<void> {
    // Publishes still in flight may yet fail and move resume points back: know it before reading.
    const drainUntil = performance.now() + this.p.ack_timeout_sec * 1000 + 1000;
    while (this.inFlight > 0 && !this.closing && performance.now() < drainUntil) await Bun.sleep(20);
    if (this.closing || this.behind.size === 0) return;
    const gen = this.failGen;
    this.counts.catchUps++;
    const t0 = Date.now();
    let published = 0;
    this.lastRoundMs = Infinity;
    this.opts.log.log("info", "nats catch-up from the NDJSON log", { symbols: this.behind.size, since: new Date(Math.min(...this.behind.values())).toISOString() });
    for (let round = 0; ; round++) {
      const started = Date.now();
      const last = round > 0 && this.lastRoundMs < 1000;
      if (last) this.mode = "catching-up";
      const work = new Map(this.behind);
      this.behind.clear();
      await this.opts.flushLog();
      const left = new Map(work);
      for (const [symbol, since] of work) {
        left.delete(symbol);
        const r = await this.publishLog(symbol, since, gen);
        published += r.sent;
        if (!r.done) {
          // Connection lost or a publish failed: this symbol from where it stopped (a failed record
          // has put it behind from that record already), the symbols not reached as they were.
          // The next catch-up waits for the backoff (kickCatchUp).
          this.markBehind(symbol, r.resumeTs);
          for (const [s, t] of left) this.markBehind(s, t);
          this.mode = "behind";
          this.opts.log.log("info", "nats catch-up interrupted", { records: published, ms: Date.now() - t0, retryInMs: Math.max(0, Math.round(this.retryAtMono - performance.now())), error: this.lastError });
          return;
        }
      }
      this.lastRoundMs = Date.now() - started;
      if (this.failGen !== gen) {
        // A publish of this round failed after the round had sent it: back off, then go on from it.
        this.mode = "behind";
        return;
      }
      if (last) {
        if (this.mode !== "catching-up") continue;
        const q = this.queue;
        this.queue = [];
        this.mode = "live";
        for (const x of q) this.append(x.symbol, x.ts, x.line);
        if (this.behind.size === 0) break;
        this.mode = "behind";
      }
      if (this.closing) return;
    }
    this.opts.log.log("info", "nats catch-up done", { records: published, ms: Date.now() - t0 });
  }

  private lastRoundMs = Infinity;

  /**
   * Publishes `symbol`'s log from `since`; stops at a lost connection or at the first failed publish
   * of this catch-up (`gen` changed). After a failure the first record goes alone and is waited for.
   */
  private async publishLog(symbol: string, since: number, gen: number): Promise<{ readonly done: boolean; readonly sent: number; readonly resumeTs: number }> {
    let sent = 0;
    for await (const line of linesSince(this.opts.ndjsonDir, symbol, since)) {
      const ts = lineTs(line)!;
      await this.waitForWindow();
      if (!this.connected || this.closing || this.failGen !== gen) return { done: false, sent, resumeTs: ts };
      if (this.probeNeeded) {
        const ok = await this.send(symbol, ts, line, true);
        sent++;
        if (!ok) return { done: false, sent, resumeTs: ts };
        this.probeNeeded = false;
        continue;
      }
      void this.send(symbol, ts, line, true);
      sent++;
    }
    return { done: true, sent, resumeTs: since };
  }

  /** From where each symbol must be published again if the process ended now. */
  private resumePoints(): Map<string, number> {
    const out = new Map(this.behind);
    const earliest = (s: string, t: number) => {
      const was = out.get(s);
      if (was === undefined || t < was) out.set(s, t);
    };
    for (const [s, pending] of this.unacked) if (pending.length > 0) earliest(s, Math.min(...pending.slice(0, 64)));
    for (const q of this.queue) earliest(q.symbol, q.ts);
    return out;
  }

  private saveState(): void {
    try {
      mkdirSync(dirname(this.opts.stateFile), { recursive: true });
      const tmp = `${this.opts.stateFile}.partial`;
      writeFileSync(tmp, JSON.stringify({ resume: Object.fromEntries(this.resumePoints()), last_acked: Object.fromEntries(this.lastAcked) }));
      renameSync(tmp, this.opts.stateFile);
    } catch (e) {
      this.opts.log.limited("nats-state", "warn", "cannot write the nats publish state", { error: (e as Error).message });
    }
  }

  status(): NatsPublisherStatus {
    const since = this.behind.size === 0 ? null : Math.min(...this.behind.values());
    return {
      enabled: true,
      connected: this.connected,
      server: this.server,
      mode: this.mode,
      collector: this.collector,
      stream: this.p.stream,
      inFlight: this.inFlight,
      ...this.counts,
      behindSymbols: this.behind.size,
      behindSinceMs: since,
      disconnectedSinceMs: this.disconnected?.atMs ?? null,
      lastError: this.lastError,
      lastErrorAtMs: this.lastErrorAtMs,
      retryInMs: this.behind.size === 0 ? 0 : Math.max(0, Math.round(this.retryAtMono - performance.now())),
    };
  }

  /** Acknowledgements and catch-up run on their own; nothing to do on the pipeline's tick. */
  tick(_nowMs: number): void {}

  health(nowMs: number): ComponentHealth {
    return verdict(this.healthReasons(nowMs));
  }

  /**
   * Problems for /health (empty = healthy). How long the publisher has been down is timed on the
   * monotonic clock; `nowMs` (the wall clock) only ages records, whose `ts_recv` are wall moments.
   */
  healthReasons(nowMs: number): string[] {
    const out: string[] = [];
    const mono = performance.now();
    // Refused (a stream the server will not create as configured): that, and only that, is the problem.
    if (this.refused !== null && !this.closing) return [`nats: publishing stopped: ${this.refused}`];
    const why = this.lastError === null ? "" : `: ${this.lastError}`;
    if (this.disconnected !== null && mono - this.disconnected.atMono > 10_000) {
      const secs = Math.round((mono - this.disconnected.atMono) / 1000);
      out.push(this.checkingStream ? `nats: connected, but the stream is not usable for ${secs} s${why} (records kept in the NDJSON log)` : `nats: not connected for ${secs} s${why} (records kept in the NDJSON log)`);
    }
    const since = this.behind.size === 0 ? null : Math.min(...this.behind.values());
    if (since !== null && nowMs - since > 30_000) out.push(`nats: ${this.behind.size} symbols not published since ${new Date(since).toISOString()}${this.disconnected === null ? why : ""}`);
    return out;
  }

  /**
   * Stops publishing: waits up to `ack_timeout_sec` for outstanding acknowledgements, records from
   * where the next start must publish again, and closes the connection.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.diagnoseTimer !== null) clearInterval(this.diagnoseTimer);
    const deadline = performance.now() + this.p.ack_timeout_sec * 1000;
    while (this.inFlight > 0 && performance.now() < deadline) await Bun.sleep(20);
    await this.catchUpRunning;
    clearInterval(this.stateTimer);
    this.saveState();
    await this.nc?.close().catch(() => {});
  }
}

/** Resume points saved by an earlier run (none when the file is missing or unreadable). */
function readResume(path: string): Map<string, number> {
  try {
    const j = JSON.parse(readFileSync(path, "utf8")) as { resume?: Record<string, unknown> };
    const out = new Map<string, number>();
    for (const [s, t] of Object.entries(j.resume ?? {})) if (typeof t === "number" && Number.isFinite(t)) out.set(s, t);
    return out;
  } catch {
    return new Map();
  }
}
