/**
 * A lease in a JetStream key-value bucket (the `[publish.nats]` cluster): the value of one key names
 * its holder, the bucket's TTL lapses it a TTL after the last write, and every write is a
 * compare-and-set on the key's revision, so two processes can never both renew or both take it.
 * Used for testnet trading's "one trader per account" (trading/live/lease.ts owns the rules).
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";

export interface KvLeaseOptions {
  readonly bucket: string;
  readonly key: string;
  /** This process's name in the lease: unique per process run. */
  readonly me: string;
  readonly ttlMs: number;
  readonly replicas: number;
  /** Each request to the cluster gives up after this long. */
  readonly requestTimeoutMs: number;
}

export type KvLeaseAnswer = { readonly held: true } | { readonly held: false; readonly holder: string | null; readonly error: string | null };

const message = (e: unknown): string => (e as Error)?.message ?? String(e);

export class NatsKvLease {
  private nc: NatsConnection | null = null;
  private kv: KV | null = null;
  private opening: Promise<void> | null = null;
  private openError: string | null = null;
  private revision = 0;
  private closed = false;

  constructor(
    private readonly connection: NodeConnectionOptions,
    private readonly o: KvLeaseOptions,
  ) {}

  get me(): string {
    return this.o.me;
  }

  async hold(): Promise<KvLeaseAnswer> {
    const kv = this.bucket();
    if (kv === null) return { held: false, holder: null, error: this.openError ?? "connecting to NATS" };
    if (this.revision > 0) {
      try {
        this.revision = await kv.update(this.o.key, this.o.me, this.revision);
        return { held: true };
      } catch {
        // Lapsed, taken, or the answer was lost: find out below.
        this.revision = 0;
      }
    }
    try {
      this.revision = await kv.create(this.o.key, this.o.me);
      return { held: true };
    } catch (e) {
      try {
        const cur = await kv.get(this.o.key);
        if (cur === null || cur.operation !== "PUT") return { held: false, holder: null, error: message(e) };
        // Our own write whose answer was lost: it is ours.
        if (cur.string() === this.o.me) {
          this.revision = cur.revision;
          return { held: true };
        }
        return { held: false, holder: cur.string(), error: null };
      } catch (e2) {
        return { held: false, holder: null, error: message(e2) };
      }
    }
  }

  /** Resolves once the bucket is open or its opening failed (hold() then answers for real). */
  async opened(): Promise<void> {
    if (this.bucket() === null) await this.opening;
  }

  async release(): Promise<void> {
    const kv = this.kv;
    if (kv === null || this.revision === 0) return;
    try {
      await kv.delete(this.o.key, { previousSeq: this.revision });
    } catch {
      // Lapsed or taken already: nothing to give up.
    }
    this.revision = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    // A first connection may still be retrying (NATS down): do not wait for it.
    await Promise.race([this.opening, Bun.sleep(1000)]);
    await this.nc?.close().catch(() => {});
    this.nc = null;
    this.kv = null;
  }

  /** The bucket once open; opens it in the background (NATS may be down for a while). */
  private bucket(): KV | null {
    if (this.kv !== null || this.closed) return this.kv;
    this.opening ??= this.open().finally(() => (this.opening = null));
    return null;
  }

  private async open(): Promise<void> {
    try {
      this.nc ??= await connect(this.connection);
      if (this.closed) return;
      const kv = await new Kvm(jetstream(this.nc, { timeout: this.o.requestTimeoutMs })).create(this.o.bucket, { ttl: this.o.ttlMs, history: 1, replicas: this.o.replicas });
      // An existing bucket keeps its own TTL: leases of different lengths in one bucket would not exclude each other safely.
      const ttl = (await kv.status()).ttl;
      if (ttl !== this.o.ttlMs) {
        this.openError = `NATS bucket ${this.o.bucket} lapses leases after ${ttl / 1000} s, trade.lease_ttl_sec says ${this.o.ttlMs / 1000}: use the same value on every collector (or delete the bucket)`;
        return;
      }
      this.kv = kv;
      this.openError = null;
    } catch (e) {
      this.openError = `NATS: ${message(e)}`;
    }
  }
}
