/**
 * The store's durable pull consumer on the stream (docs/scale-out.md): explicit acknowledgement,
 * every subject of the prefix, delivered from the first message the stream still holds. Created when
 * missing; an existing consumer with another filter or ack policy is refused (it would skip or
 * lose records). Fetches are bounded batches; the connection reconnects forever, and a fetch that
 * fails (no connection, leader election) is retried after a pause, the stream redelivering whatever
 * was not acknowledged.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectionOptions, openConnection } from "../../sinks/nats/connection.ts";
import type { NatsParams } from "../../sinks/nats/params.ts";
import { ensureStream } from "../../sinks/nats/stream-config.ts";

const NS_PER_MS = 1_000_000;
/** Unacknowledged messages the server lets the store hold (records wait behind REST backfills). */
const MAX_ACK_PENDING = 250_000;

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
  readonly lastError: string | null;
}

export class StreamConsumer {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  private connected = false;
  private info: ConsumerInfo | null = null;
  private infoAtMs = 0;
  private lastError: string | null = null;
  /** Stream sequence the consumer was recreated at (an earlier run left messages unacknowledged), or null. */
  restartedAtSeq: number | null = null;
  private stopped = false;
  private current: ConsumerMessages | null = null;

  constructor(
    private readonly p: NatsParams,
    private readonly clientName: string,
  ) {}

  /**
   * Connects (the client retries until a server answers), checks the stream and the consumer.
   * Transient failures (a leader election, a node down, a timeout) are retried every second;
   * what retrying cannot fix (a stream or consumer with other settings) is returned.
   */
  async open(onRetry: (error: string) => void = () => {}): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }> {
    const o = connectionOptions(this.p, this.clientName);
    if (!o.ok) return o;
    const nc = await openConnection(o.options);
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 10_000 });
        const s = await ensureStream(jsm, this.p);
        const c = s.ok ? await this.ensureConsumer(jsm) : s;
        if (!c.ok) {
          await nc.close();
          return c;
        }
        this.nc = nc;
        this.jsm = jsm;
        this.js = jetstream(nc, { timeout: 10_000 });
        break;
      } catch (e) {
        this.lastError = (e as Error).message;
        onRetry(this.lastError);
        await Bun.sleep(1000);
      }
    }
    this.connected = true;
    void (async () => {
      for await (const st of nc.status()) {
        if (st.type === "disconnect") this.connected = false;
        else if (st.type === "reconnect") this.connected = true;
      }
    })();
    return { ok: true };
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
      if (ci.num_ack_pending === 0) {
        this.info = ci;
        return { ok: true };
      }
      // Messages delivered to an earlier run that ended without acknowledging them would come
      // back only after ack_wait, behind newer ones, and the gate would drop them as stale. The
      // consumer is recreated at its acknowledgement floor instead: everything after the floor is
      // delivered again, in stream order, at once (what the log already holds is dropped by id).
      const from = ci.ack_floor.stream_seq + 1;
      await jsm.consumers.delete(this.p.stream, this.p.consumer);
      this.info = await jsm.consumers.add(this.p.stream, { ...this.consumerConfig(filter), deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
      this.restartedAtSeq = from;
      return { ok: true };
    } catch (e) {
      if (!(e instanceof JetStreamApiError) || e.code !== JetStreamApiCodes.ConsumerNotFound) throw e;
    }
    this.info = await jsm.consumers.add(this.p.stream, this.consumerConfig(filter));
    return { ok: true };
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
  async *messages(batch: number): AsyncGenerator<JsMsg> {
    while (this.js !== null && !this.stopped) {
      try {
        const c = await this.js.consumers.get(this.p.stream, this.p.consumer);
        const it = await c.consume({ max_messages: batch });
        this.current = it;
        for await (const m of it) yield m;
      } catch (e) {
        this.lastError = (e as Error).message;
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

  /** Refreshes the consumer's lag figures (a request to the server; call every few seconds). */
  async refresh(): Promise<void> {
    if (this.jsm === null || !this.connected) return;
    try {
      this.info = await this.jsm.consumers.info(this.p.stream, this.p.consumer);
      this.infoAtMs = Date.now();
    } catch (e) {
      this.lastError = (e as Error).message;
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
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    // drain() would wait for in-flight acks; they were sent as the records were written.
    await this.nc?.flush().catch(() => {});
    await this.nc?.close().catch(() => {});
    this.nc = null;
    this.js = null;
  }
}
