/**
 * REST backfill of aggTrades lost while a market connection was down (docs/feed.md): fetches
 * `/fapi/v1/aggTrades?symbol=&fromId=&limit=1000` page by page until the missing id range is covered,
 * and turns each REST trade into the stream's aggTrade shape. Jobs take turns one page at a time, so
 * a long outage of one busy symbol does not starve the short gaps of others. What the exchange cannot
 * serve is reported as a missing id range.
 */
import type { RestClient } from "./rest-client.ts";

/** Binance's maximum page size for aggTrades. */
export const AGG_TRADES_PAGE_LIMIT = 1000;
/** Request weight of GET /fapi/v1/aggTrades. */
export const AGG_TRADES_WEIGHT = 20;

/** A trade recovered over REST: its id and its payload in the stream's aggTrade shape. */
export interface RecoveredTrade {
  readonly a: number;
  readonly text: string;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/**
 * The stream shape of a REST aggTrade `{"a","p","q","f","l","T","m"}` of `symbol`: `"e":"aggTrade"`
 * first, `"s":"<SYMBOL>"` right after `a`, every REST field in its REST order with its value as
 * received (unknown extra fields such as `nq` included). `E` is left out: REST has no event time, so
 * the row's `latency_ms` is null rather than invented. Null when the REST object lacks an integer
 * `a`, string `p`/`q`, a numeric `T` or a boolean `m` (it is then treated as not served).
 */
export function streamShapeText(symbol: string, t: unknown): string | null {
  if (typeof t !== "object" || t === null || Array.isArray(t)) return null;
  const o = t as Record<string, unknown>;
  if (!isInt(o.a) || typeof o.p !== "string" || typeof o.q !== "string" || typeof o.T !== "number" || typeof o.m !== "boolean") return null;
  let s = `{"e":"aggTrade"`;
  for (const k in o) {
    s += `,${JSON.stringify(k)}:${JSON.stringify(o[k])}`;
    if (k === "a") s += `,"s":${JSON.stringify(symbol)}`;
  }
  return s + "}";
}

export interface BackfillListener {
  /** Recovered trades, ascending, within the requested range, each id once. */
  trades(list: readonly RecoveredTrade[]): void;
  /** An id range the exchange did not serve, in order with the trades around it. */
  missing(fromId: number, toId: number, reason: string): void;
  /** The whole range has been covered by trades and missing ranges. */
  done(): void;
}

export interface BackfillJob {
  readonly symbol: string;
  /** Next id not yet covered. */
  readonly cursor: number;
  readonly toId: number;
  cancel(): void;
}

export interface BackfillOptions {
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Retries of a page that came back short (REST can lag the stream by a moment) or failed. */
  readonly maxRetries?: number;
  readonly retryDelayMs?: number;
  /** A listener threw (a bug): the job is abandoned and the error reported here. */
  readonly onError?: (err: Error, symbol: string) => void;
}

export interface BackfillCounters {
  jobs: number;
  pages: number;
  recovered: number;
  /** Ids reported missing. */
  missingIds: number;
  cancelled: number;
}

class Job implements BackfillJob {
  cancelled = false;
  done = false;
  retries = 0;
  /** performance.now() before which the job's next request does not go (0: at once). */
  notBefore = 0;
  constructor(
    readonly symbol: string,
    public cursor: number,
    readonly toId: number,
    readonly listener: BackfillListener,
    private readonly onCancel: (job: Job) => void,
  ) {}
  cancel(): void {
    if (this.cancelled || this.done) return;
    this.cancelled = true;
    this.onCancel(this);
  }
}

export class Backfiller {
  readonly counters: BackfillCounters = { jobs: 0, pages: 0, recovered: 0, missingIds: 0, cancelled: 0 };
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly concurrency: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly rest: RestClient,
    private readonly opts: BackfillOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 2;
    this.maxRetries = opts.maxRetries ?? 6;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
  }

  /** Jobs waiting or in flight. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /**
   * Recovers ids [fromId, toId] of `symbol`, the first request no sooner than `delayMs` from now; the
   * listener hears trades and missing ranges in id order.
   */
  start(symbol: string, fromId: number, toId: number, listener: BackfillListener, delayMs = 0): BackfillJob {
    const job = new Job(symbol, fromId, toId, listener, (j) => {
      this.counters.cancelled++;
      const i = this.queue.indexOf(j);
      if (i >= 0) this.queue.splice(i, 1);
    });
    this.counters.jobs++;
    job.notBefore = delayMs > 0 ? performance.now() + delayMs : 0;
    this.queue.push(job);
    this.pump();
    return job;
  }

  /** Cancels every job (shutdown). */
  stop(): void {
    for (const j of [...this.queue]) j.cancel();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private pump(): void {
    const now = performance.now();
    while (this.inFlight < this.concurrency) {
      const i = this.queue.findIndex((j) => j.notBefore <= now);
      if (i < 0) break;
      const job = this.queue.splice(i, 1)[0]!;
      this.inFlight++;
      void this.fetchPage(job)
        .catch((e: unknown) => {
          job.done = true;
          this.opts.onError?.(e as Error, job.symbol);
        })
        .finally(() => {
          this.inFlight--;
          if (!job.cancelled && !job.done) this.queue.push(job);
          this.pump();
        });
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length > 0 && this.inFlight < this.concurrency) {
      let next = Number.POSITIVE_INFINITY;
      for (const j of this.queue) next = Math.min(next, j.notBefore);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, Math.max(1, next - now));
    }
  }

  private async fetchPage(job: Job): Promise<void> {
    const limit = Math.min(AGG_TRADES_PAGE_LIMIT, job.toId - job.cursor + 1);
    const res = await this.rest.get("/fapi/v1/aggTrades", { symbol: job.symbol, fromId: job.cursor, limit }, AGG_TRADES_WEIGHT);
    if (job.cancelled) return;
    this.counters.pages++;
    if (!res.ok) {
      // 429/418: the client pauses every request; the job simply waits its turn again.
      if (res.status === 429 || res.status === 418) return;
      // A 4xx other than those will not change on retry (e.g. an unknown symbol).
      if (res.status >= 400 && res.status < 500) return this.finish(job, `REST answered ${res.error}`);
      return this.retryLater(job, res.error);
    }
    let list: unknown;
    try {
      list = JSON.parse(res.body);
    } catch {
      return this.retryLater(job, "REST aggTrades answer is not JSON");
    }
    if (!Array.isArray(list)) return this.retryLater(job, "REST aggTrades answer is not a list");

    const run: RecoveredTrade[] = [];
    let beyond = false;
    for (const item of list) {
      const a = (item as { a?: unknown } | null)?.a;
      if (!isInt(a) || a < job.cursor) continue;
      if (a > job.toId) {
        beyond = true;
        break;
      }
      const text = streamShapeText(job.symbol, item);
      if (text === null) continue;
      if (a > job.cursor) {
        this.emitTrades(job, run);
        this.emitMissing(job, job.cursor, a - 1, "not served by REST");
      }
      run.push({ a, text });
      job.cursor = a + 1;
    }
    this.emitTrades(job, run);
    if (job.cursor > job.toId) return this.complete(job);
    if (beyond) return this.finish(job, "not served by REST");
    if (list.length >= limit) {
      job.retries = 0;
      return;
    }
    // A short page: REST may not have the newest trades yet. Ask again shortly, a few times.
    return this.retryLater(job, "REST served fewer trades than the range holds");
  }

  private retryLater(job: Job, reason: string): void {
    if (++job.retries > this.maxRetries) return this.finish(job, reason);
    job.notBefore = performance.now() + this.retryDelayMs * 2 ** (job.retries - 1);
  }

  /** Reports the rest of the range as missing and completes the job. */
  private finish(job: Job, reason: string): void {
    if (job.cursor <= job.toId) this.emitMissing(job, job.cursor, job.toId, reason);
    job.cursor = job.toId + 1;
    this.complete(job);
  }

  private complete(job: Job): void {
    job.done = true;
    job.listener.done();
  }

  private emitTrades(job: Job, run: RecoveredTrade[]): void {
    if (run.length === 0) return;
    this.counters.recovered += run.length;
    job.listener.trades(run.splice(0));
  }

  private emitMissing(job: Job, from: number, to: number, reason: string): void {
    this.counters.missingIds += to - from + 1;
    job.listener.missing(from, to, reason);
  }
}
