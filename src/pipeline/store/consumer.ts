/**
 * The store's durable pull consumer on the stream (docs/scale-out.md): explicit acknowledgement,
 * every subject of the prefix, delivered from the first message the stream still holds. Created when
 * missing; an existing consumer with another filter or ack policy is refused (it would skip or
 * lose records), and so is a consumer another store holds (its lease in CONSUMER_LEASE_BUCKET).
 * Fetches are bounded batches; the connection reconnects forever, and a fetch that
 * fails (no connection, leader election) is retried after a pause, the stream redelivering whatever
 * was not acknowledged.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { hostname } from "node:os";
import { connectionOptions, diagnoseServers, openConnection, redactServer } from "../../sinks/nats/connection.ts";
import { NatsKvLease } from "../../sinks/nats/kv-lease.ts";
import type { NatsParams } from "../../sinks/nats/params.ts";
import { ensureStream } from "../../sinks/nats/stream-config.ts";
import { describePermanent, permanentJetStreamError } from "../../sinks/nats/stream-errors.ts";
import type { Logger } from "../../util/log.ts";

const NS_PER_MS = 1_000_000;
/** Unacknowledged messages the server lets the store hold (records wait behind REST backfills). */
const MAX_ACK_PENDING = 250_000;
/**
 * One store per consumer name: a key of this bucket (the consumer's name) names the store that
 * consumes it. Two stores on one durable consumer would split its messages between them, each
 * seeing half of every stream (holes it backfills, gaps it records) and both acknowledging it all.
 */
export const CONSUMER_LEASE_BUCKET = "harvestd_store_consumers";
/** The lease lapses this long after its holder's last renewal (a killed store's, for instance). */
const LEASE_TTL_MS = 10_000;
const LEASE_RENEW_EVERY_MS = 3_000;
/** A pull request of the store's expires after this long unanswered; the client then sends another. */
const PULL_EXPIRES_MS = 10_000;
/**
 * An existing consumer with pull requests waiting is being read by another process. A store that
 * died left none (the server drops a closed connection's requests at once); one cut off without a
 * close leaves them until they expire. So a start waits this long for them to go before it calls the
 * consumer taken: the second guard behind the lease, which a cluster that lost nodes has been seen to
 * forget.
 */
const FOREIGN_PULLS_WAIT_MS = PULL_EXPIRES_MS + 2_000;
/**
 * A consume that delivers nothing this long while the stream has messages for it is opened again
 * (after the node leading the consumer died, the client's pulls went unanswered for 40 s and more).
 */
const CONSUME_STALL_MS = 6_000;
/**
 * For this long after the cluster was in trouble (a lost connection, missed heartbeats, requests
 * unanswered), a delivery sequence that goes back is taken for a node whose copy of the consumer
 * lagged and that took over, not for a recreation: measured after two of three nodes were down for
 * ≈ 40 s, the sequence went back from 9,895 to 9,732 on the node that came back as leader.
 */
const LAGGING_COPY_GRACE_MS = 60_000;

export interface ConsumerView {
  readonly connected: boolean;
  readonly server: string | null;
  /** Messages in the stream not yet delivered to the store (the store's lag). */
  readonly pending: number | null;
  /** Delivered and not yet acknowledged. */
  readonly ackPending: number | null;
  /** Messages the server redelivered (not acknowledged in time). */
  readonly redelivered: number | null;
  readonly streamSeq: number | null;
  readonly infoAtMs: number;
  /** The current error (null once consuming, or the info request, works again). */
  readonly lastError: string | null;
  /** When the latest error happened (0: none yet); kept after it is cleared. */
  readonly lastErrorAtMs: number;
  /** The latest error, also once cleared (shown as past, with its time). */
  readonly pastError: string | null;
  /** Date.now() since when the store has had no connection (from its start until the first one), or null while connected. */
  readonly disconnectedSinceMs: number | null;
  /** Date.now() of the last message received (0: none yet). */
  readonly lastMessageAtMs: number;
  /** Another store took this consumer's lease (its name), or null. */
  readonly leaseLostTo: string | null;
  /** The consumer was deleted or recreated under this store, which stopped reading it (why), or null. */
  readonly lostConsumer: string | null;
}

/** Opening failed for good: the exit code and the line to print. */
export type OpenResult = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly code: "mismatch" | "in-use" };

export class StreamConsumer {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private connected = false;
  private disconnectedSinceMs: number | null = Date.now();
  private info: ConsumerInfo | null = null;
  private infoAtMs = 0;
  private openError: string | null = null;
  private consumeError: string | null = null;
  private infoError: string | null = null;
  private pastError: string | null = null;
  private lastErrorAtMs = 0;
  private lastMessageAtMs = 0;
  private consumingSinceMs = 0;
  private lease: NatsKvLease | null = null;
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private leaseLostTo: string | null = null;
  /**
   * The consumer sequence of the last message delivered: it only grows (redeliveries too), so a
   * smaller one means the consumer was recreated under this store. (Its `created` time is no
   * identity: a node restarted into leadership reports the time it loaded the consumer.)
   */
  private lastDeliverySeq = 0;
  /** Date.now() of the cluster's last trouble (not a "consumer not found" or "deleted": those are what recreation looks like). */
  private lastTroubleAtMs = 0;
  /** The consumer is open (for "deleted while this store read it"). */
  private consumerOpen = false;
  private lostConsumer: string | null = null;
  private notFoundInARow = 0;
  /** Stream sequence the consumer was recreated at (an earlier run left messages unacknowledged), or null. */
  restartedAtSeq: number | null = null;
  private stopped = false;
  private current: ConsumerMessages | null = null;

  constructor(
    private readonly p: NatsParams,
    private readonly clientName: string,
    /** The store's data folder: names this store in the consumer's lease. */
    private readonly storeDir: string,
  ) {}

  /**
   * Connects (the client retries until a server answers), takes the consumer's lease, checks the
   * stream and the consumer. Transient failures (NATS unreachable, a leader election, a node down, a
   * timeout) are retried every second and reported to `onRetry`; what retrying cannot fix (a stream
   * or consumer with other settings, another store on the same consumer) is returned.
   */
  async open(log: Logger): Promise<OpenResult> {
    const o = connectionOptions(this.p, this.clientName);
    if (!o.ok) return { ...o, code: "mismatch" };
    const t0 = Date.now();
    // waitOnFirstConnect: connect() retries silently until a server answers; say so meanwhile.
    // The addresses are shown without credentials; what is wrong with each, when something is.
    const shown = this.p.servers.map(redactServer);
    const waiting = setInterval(() => {
      void diagnoseServers(this.p.servers).then((d) => {
        if (this.nc !== null || this.stopped) return;
        this.openError = d ?? `cannot connect to ${shown.join(", ")}`;
        log.limited("store-connect", "warn", "store: cannot reach nats; retrying", { servers: shown, error: this.openError, for_s: Math.round((Date.now() - t0) / 1000) }, 30_000);
      }, () => {});
    }, 5_000);
    let nc: NatsConnection;
    try {
      nc = await openConnection(o.options);
    } finally {
      clearInterval(waiting);
    }
    if (this.stopped) {
      await nc.close().catch(() => {});
      return { ok: true };
    }
    this.nc = nc;
    this.setConnected(true);
    this.openError = null;
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === "disconnect" || st.type === "reconnect") this.lastTroubleAtMs = Date.now();
        if (st.type === "disconnect") this.setConnected(false);
        else if (st.type === "reconnect") this.setConnected(true);
      }
    })();
    const held = await this.takeLease(o.options, log);
    if (!held.ok) {
      await nc.close().catch(() => {});
      return held;
    }
    for (;;) {
      if (this.stopped) return { ok: true };
      try {
        const jsm = await jetstreamManager(nc, { timeout: 10_000 });
        const s = await ensureStream(jsm, this.p);
        const c = s.ok ? await this.ensureConsumer(jsm) : s;
        if (!c.ok) {
          await this.lease?.release();
          await nc.close();
          return { ...c, code: "mismatch" };
        }
        this.jsm = jsm;
        this.js = jetstream(nc, { timeout: 10_000 });
        break;
      } catch (e) {
        // What the server refuses as configured (subjects another stream takes, replicas on one server) retrying cannot fix.
        const permanent = permanentJetStreamError(e, this.p);
        if (permanent !== null) {
          await this.lease?.release();
          await nc.close().catch(() => {});
          return { ok: false, error: describePermanent(permanent), code: "mismatch" };
        }
        this.setError("open", (e as Error).message);
        log.limited("store-open", "warn", "store: nats stream or consumer not ready; retrying", { error: (e as Error).message });
        await Bun.sleep(1000);
      }
    }
    this.openError = null;
    return { ok: true };
  }

  /**
   * The consumer's lease. A holder other than this store may be a store that died (its lease lapses
   * within LEASE_TTL_MS) or one that runs: only a holder that outlasts the TTL is another store.
   */
  private async takeLease(options: import("@nats-io/transport-node").NodeConnectionOptions, log: Logger): Promise<OpenResult> {
    // Named by host and data folder: the same store restarted (tree-lock.ts: one process per folder) is the same holder.
    const me = `${hostname()}:${this.storeDir}`;
    // Keyed by stream and consumer: a consumer name is a stream's, and a store pointed at a mistyped
    // stream must hear about that stream, not that another store holds its consumer's name.
    const lease = new NatsKvLease({ ...options, name: `${this.clientName}-lease` }, { bucket: CONSUMER_LEASE_BUCKET, key: `${this.p.stream}.${this.p.consumer}`, me, ttlMs: LEASE_TTL_MS, replicas: this.p.replicas, requestTimeoutMs: 3000 });
    this.lease = lease;
    // The bucket opens in the background; asking before it has would be a "retrying" at every start.
    await lease.opened();
    let otherSince: number | null = null;
    for (;;) {
      if (this.stopped) return { ok: true };
      const a = await lease.hold();
      if (a.held) break;
      if (a.holder !== null) {
        otherSince ??= Date.now();
        if (Date.now() - otherSince > LEASE_TTL_MS + 2000) {
          await lease.close();
          this.lease = null;
          return { ok: false, code: "in-use", error: this.inUseMessage(a.holder) };
        }
        log.limited("store-lease", "warn", "store: the consumer is held by another store; waiting for its lease to lapse", { consumer: this.p.consumer, holder: a.holder }, 30_000);
      } else if (a.error !== null) {
        this.setError("open", a.error);
        log.limited("store-lease", "warn", "store: cannot take the consumer's lease yet; retrying", { consumer: this.p.consumer, error: a.error }, 30_000);
      }
      await Bun.sleep(1000);
    }
    this.leaseTimer = setInterval(() => void this.renewLease(log), LEASE_RENEW_EVERY_MS);
    return { ok: true };
  }

  private async renewLease(log: Logger): Promise<void> {
    const a = await this.lease?.hold();
    if (a === undefined || a.held) {
      if (a?.held && this.leaseLostTo !== null) log.log("info", "store: consumer lease held again", { consumer: this.p.consumer });
      if (a?.held) this.leaseLostTo = null;
      return;
    }
    if (a.holder !== null && this.leaseLostTo !== a.holder) {
      this.leaseLostTo = a.holder;
      log.log("error", "store: another store took this consumer's lease", { consumer: this.p.consumer, holder: a.holder });
    }
  }

  private setConnected(on: boolean): void {
    this.connected = on;
    if (on) this.disconnectedSinceMs = null;
    else this.disconnectedSinceMs ??= Date.now();
  }

  private setError(kind: "open" | "consume" | "info", error: string): void {
    if (kind === "open") this.openError = error;
    else if (kind === "consume") this.consumeError = error;
    else this.infoError = error;
    this.pastError = error;
    this.lastErrorAtMs = Date.now();
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }> {
    const filter = `${this.p.subject_prefix}.>`;
    try {
      const ci = await jsm.consumers.info(this.p.stream, this.p.consumer);
      const c = ci.config;
      const problems: string[] = [];
      if (c.ack_policy !== AckPolicy.Explicit) problems.push(`ack_policy is ${c.ack_policy}, the store needs explicit`);
      if ((c.filter_subject ?? "") !== filter && !(c.filter_subjects ?? []).includes(filter)) problems.push(`filter is ${c.filter_subject ?? c.filter_subjects?.join(",") ?? "none"}, the store needs ${filter}`);
      if (problems.length > 0) return { ok: false, error: `consumer ${this.p.consumer} on stream ${this.p.stream} exists with other settings (${problems.join("; ")}): pick another [publish.nats] consumer name or delete it` };
      if (!(await this.unread(jsm, ci))) return { ok: false, error: this.inUseMessage("its pull requests keep coming: another process reads it") };
      if (ci.num_ack_pending === 0) {
        this.info = ci;
        this.consumerOpen = true;
        return { ok: true };
      }
      // Messages delivered to an earlier run that ended without acknowledging them would come
      // back only after ack_wait, behind newer ones, and the gate would drop them as stale. The
      // consumer is recreated at its acknowledgement floor instead: everything after the floor is
      // delivered again, in stream order, at once (what the log already holds is dropped by id).
      const from = ci.ack_floor.stream_seq + 1;
      await jsm.consumers.delete(this.p.stream, this.p.consumer);
      this.info = await jsm.consumers.add(this.p.stream, { ...this.consumerConfig(filter), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
      this.consumerOpen = true;
      this.restartedAtSeq = from;
      return { ok: true };
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.ConsumerNotFound) throw e;
    }
    this.info = await jsm.consumers.add(this.p.stream, this.consumerConfig(filter));
    this.consumerOpen = true;
    return { ok: true };
  }

  /**
   * Whether no other process reads the consumer: no pull request waits on it, or none does twice in
   * a row within FOREIGN_PULLS_WAIT_MS (requests left by a reader cut off without a close expire).
   */
  private async unread(jsm: JetStreamManager, first: ConsumerInfo): Promise<boolean> {
    if (first.num_waiting === 0) return true;
    const until = Date.now() + FOREIGN_PULLS_WAIT_MS;
    let quiet = 0;
    while (Date.now() < until && !this.stopped) {
      await Bun.sleep(1000);
      const ci = await jsm.consumers.info(this.p.stream, this.p.consumer);
      quiet = ci.num_waiting === 0 ? quiet + 1 : 0;
      if (quiet >= 2) return true;
    }
    return this.stopped;
  }

  private inUseMessage(why: string): string {
    return `consumer ${this.p.consumer} on stream ${this.p.stream} is in use by another store (${why}): two stores on one consumer would each get part of the stream; give this one its own [publish.nats] consumer`;
  }

  /**
   * The consumer was deleted (and perhaps recreated by another store) under this one: reading on
   * would split the stream with whoever reads it now, so this store stops and says so.
   */
  private loseConsumer(why: string, log?: Logger): void {
    if (this.lostConsumer !== null) return;
    this.lostConsumer = why;
    log?.log("error", "store: stopped reading the consumer", { consumer: this.p.consumer, stream: this.p.stream, why });
    this.stop();
  }

  private consumerConfig(filter: string): Partial<ConsumerConfig> {
    return {
      durable_name: this.p.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
      ack_wait: Math.round(this.p.ack_wait_sec * 1000 * NS_PER_MS),
      max_ack_pending: MAX_ACK_PENDING,
      max_deliver: -1,
    };
  }

  /**
   * Messages as they come, pulled ahead in batches of `batch` (the client keeps that many requested,
   * so a backlog streams without a round trip per batch). Ends when `stop()` is called; a failed
   * subscription (the consumer vanished, a leader moved) is opened again after a pause.
   */
  async *messages(batch: number, log?: Logger): AsyncGenerator<JsMsg> {
    while (this.js !== null && !this.stopped) {
      try {
        const c = await this.js.consumers.get(this.p.stream, this.p.consumer);
        const it = await c.consume({ max_messages: batch, expires: PULL_EXPIRES_MS });
        this.current = it;
        this.consumingSinceMs = Date.now();
        // The client reports a missed heartbeat or a failed pull as a status, not as an error.
        void (async () => {
          for await (const st of it.status()) {
            if (st.type === "heartbeats_missed") this.lastTroubleAtMs = Date.now();
            if (st.type === "heartbeats_missed" || st.type === "consumer_not_found" || st.type === "consumer_deleted" || st.type === "exceeded_limits") this.setError("consume", st.type === "heartbeats_missed" ? "heartbeats missed" : st.type.replace(/_/g, " "));
          }
        })().catch(() => {});
        for await (const m of it) {
          const seq = m.info.deliverySequence;
          if (seq < this.lastDeliverySeq) {
            if (Date.now() - this.lastTroubleAtMs < LAGGING_COPY_GRACE_MS) {
              // What it delivers again is dropped by id (resume.ts); stopping here would stop the store for good.
              log?.log("warn", "store: the consumer's delivery sequence went back after the cluster's trouble: a node whose copy of it lagged took over; reading on", { consumer: this.p.consumer, delivery_seq: seq, after: this.lastDeliverySeq });
            } else {
              // Not handed on: it belongs to whoever recreated the consumer, and acknowledging it here would take it from them.
              this.loseConsumer(`it was recreated under this store (delivery sequence ${seq} after ${this.lastDeliverySeq}) by another process, likely another store`, log);
              break;
            }
          }
          this.lastDeliverySeq = seq;
          this.lastMessageAtMs = Date.now();
          this.consumeError = null;
          yield m;
        }
      } catch (e) {
        this.setError("consume", (e as Error).message);
      } finally {
        this.current = null;
      }
      if (!this.stopped) await Bun.sleep(500);
    }
  }

  /** Ends `messages()`: no more are pulled; those already delivered and not acknowledged come back later. */
  stop(): void {
    this.stopped = true;
    void this.current?.close();
  }

  /** The durable consumer's name. */
  get name(): string {
    return this.p.consumer;
  }

  /** Whether opening is over (the consumer is ready to be read). */
  get ready(): boolean {
    return this.js !== null;
  }

  /** Refreshes the consumer's lag figures (a request to the server; call every few seconds). */
  async refresh(log?: Logger): Promise<void> {
    if (this.jsm === null || !this.connected) return;
    try {
      this.info = await this.jsm.consumers.info(this.p.stream, this.p.consumer);
      this.notFoundInARow = 0;
      this.infoAtMs = Date.now();
      this.infoError = null;
    } catch (e) {
      // Twice in a row: one "not found" from a cluster still loading its state after a restart is not a deletion.
      const notFound = e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound;
      this.notFoundInARow = notFound ? this.notFoundInARow + 1 : 0;
      if (!notFound) this.lastTroubleAtMs = Date.now();
      if (this.notFoundInARow >= 2 && this.consumerOpen) this.loseConsumer("it was deleted while this store read it", log);
      this.setError("info", (e as Error).message);
      return;
    }
    // A consume can stay open and deliver nothing (its pull requests lost with a leader that died):
    // while the stream has messages for it, it is opened again.
    const now = Date.now();
    const quietSince = Math.max(this.lastMessageAtMs, this.consumingSinceMs);
    // (Not while the server holds deliveries back because max_ack_pending records await acknowledgement.)
    if (this.current !== null && this.info.num_pending > 0 && this.info.num_ack_pending < MAX_ACK_PENDING && now - quietSince > CONSUME_STALL_MS) {
      log?.limited("store-consume-stall", "warn", "store: the consumer delivered nothing while the stream has messages for it; opening it again", { pending: this.info.num_pending, quiet_s: Math.round((now - quietSince) / 1000), error: this.consumeError }, 30_000);
      this.consumingSinceMs = now;
      void this.current.close();
    }
  }

  view(): ConsumerView {
    const i = this.info;
    return {
      connected: this.connected,
      server: this.connected ? (this.nc?.getServer() ?? null) : null,
      pending: i?.num_pending ?? null,
      ackPending: i?.num_ack_pending ?? null,
      redelivered: i?.num_redelivered ?? null,
      streamSeq: i?.delivered.stream_seq ?? null,
      infoAtMs: this.infoAtMs,
      lastError: this.openError ?? this.consumeError ?? this.infoError,
      lastErrorAtMs: this.lastErrorAtMs,
      pastError: this.pastError,
      disconnectedSinceMs: this.connected ? null : this.disconnectedSinceMs,
      lastMessageAtMs: this.lastMessageAtMs,
      leaseLostTo: this.leaseLostTo,
      lostConsumer: this.lostConsumer === null ? null : `consumer ${this.p.consumer} on stream ${this.p.stream}: ${this.lostConsumer}; this store stopped reading it (restart it once one store reads the consumer)`,
    };
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    // Given up at a clean stop: a store started next on this consumer need not wait for it to lapse.
    if (this.lease !== null) {
      await Promise.race([this.lease.release(), Bun.sleep(2000)]);
      await this.lease.close();
      this.lease = null;
    }
    // drain() would wait for in-flight acks; they were sent as the records were written.
    await this.nc?.flush().catch(() => {});
    await this.nc?.close().catch(() => {});
    this.nc = null;
    this.js = null;
  }
}
