/**
 * Live only: fetches `GET /fapi/v1/depth?symbol=&limit=` when a symbol's book asks for a snapshot.
 * At most one request per symbol is in flight, and at most one a second per symbol (a stream that
 * breaks on every diff must not spend the whole REST budget); requests go through the shared
 * RestClient, so they respect the REST weight budget (20 per request at limit 1000) and every
 * 429/418 pause. After a failed answer the symbol waits (1 s, doubling to 30 s) before it may ask
 * again; the book keeps asking on every diff while it is out of sync, so a retry needs no timer.
 *
 * Every answer, good or bad, goes forward through `deliver` in arrival order; the caller writes it to
 * the raw log (a snapshot line, or an error line) and applies it.
 */
import type { RestClient } from "../rest-client.ts";
import { DEPTH_SNAPSHOT_PATH, snapshotWeight } from "./snapshot.ts";

export type SnapshotAnswer = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly status: number; readonly error: string };

export interface SnapshotFetcherCounters {
  requests: number;
  failures: number;
}

const FIRST_RETRY_MS = 1000;
/** Least time between two requests of one symbol. */
const MIN_INTERVAL_MS = 1000;
const MAX_RETRY_MS = 30_000;

export class SnapshotFetcher {
  readonly counters: SnapshotFetcherCounters = { requests: 0, failures: 0 };
  private readonly inFlight = new Set<string>();
  private readonly notBefore = new Map<string, { at: number; delay: number }>();
  private stopped = false;

  constructor(
    private readonly rest: RestClient,
    private readonly limit: number,
    private readonly deliver: (symbol: string, answer: SnapshotAnswer) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for a snapshot of `symbol` unless one is in flight or the symbol is backing off. */
  request(symbol: string): void {
    if (this.stopped || this.inFlight.has(symbol)) return;
    const back = this.notBefore.get(symbol);
    if (back !== undefined && this.now() < back.at) return;
    this.inFlight.add(symbol);
    this.counters.requests++;
    void this.rest.get(DEPTH_SNAPSHOT_PATH, { symbol, limit: this.limit }, snapshotWeight(this.limit)).then((r) => {
      this.inFlight.delete(symbol);
      if (this.stopped) return;
      if (r.ok) {
        this.notBefore.set(symbol, { at: this.now() + MIN_INTERVAL_MS, delay: 0 });
        this.deliver(symbol, { ok: true, body: r.body });
        return;
      }
      this.counters.failures++;
      const delay = Math.min(MAX_RETRY_MS, back === undefined || back.delay === 0 ? FIRST_RETRY_MS : back.delay * 2);
      this.notBefore.set(symbol, { at: this.now() + delay, delay });
      this.deliver(symbol, { ok: false, status: r.status, error: r.error });
    });
  }

  /** Snapshot requests in flight right now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Shutdown: answers still in flight are dropped (the book they were for is being finished). */
  stop(): void {
    this.stopped = true;
  }
}
