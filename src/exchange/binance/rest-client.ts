/**
 * REST GETs against `BINANCE_REST` that respect Binance's IP request weight: every answer carries
 * `x-mbx-used-weight-1m` (weight used in the current minute); a request that would take the minute's
 * use above the budget waits for the next minute. HTTP 429 (too many requests) and 418 (IP banned)
 * pause every request until `Retry-After` has passed (binance-protocol.md §6, §8: limit 2400/min).
 * After such a pause one request goes first, alone, and the others wait for its answer: Binance bans
 * IPs that keep sending after a 429, so the client must not release a burst the moment it may.
 */

/** Binance's documented REQUEST_WEIGHT limit per minute and IP for USDⓈ-M futures. */
export const BINANCE_WEIGHT_LIMIT_1M = 2400;

export interface RestClientOptions {
  readonly baseUrl: string;
  /** Weight this process may use per minute (the rest of the IP's limit is left to others). */
  readonly weightBudget1m: number;
  readonly timeoutMs?: number;
  /** Pause after a 429/418 without Retry-After. */
  readonly defaultRetryAfterMs?: number;
}

export type RestResult =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly body?: string };

export interface RestCounters {
  requests: number;
  /** Answers with HTTP 429 or 418. */
  throttled: number;
  /** Requests that waited for the next minute because of the weight budget. */
  weightWaits: number;
  failures: number;
  /** Last `x-mbx-used-weight-1m` seen. */
  usedWeight1m: number;
}

export class RestClient {
  readonly counters: RestCounters = { requests: 0, throttled: 0, weightWaits: 0, failures: 0, usedWeight1m: 0 };
  private readonly base: string;
  private pausedUntil = 0;
  /** Minute (epoch ms / 60 000) the used weight belongs to. */
  private minute = -1;
  private used = 0;
  private inFlightWeight = 0;
  private closed = false;
  /** A 429/418 was answered: the next request is a probe that goes alone. */
  private throttledSinceProbe = false;
  private probe: Promise<void> | null = null;
  private endProbe: (() => void) | null = null;
  /** Wakes every request waiting for the budget or a pause (close()). */
  private readonly wakers = new Set<() => void>();

  constructor(private readonly opts: RestClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  /** Ms until a request of `weight` may go out (0 = now). */
  waitMs(weight: number, now = Date.now()): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const minute = Math.floor(now / 60_000);
    const used = minute === this.minute ? this.used : 0;
    if (used + this.inFlightWeight + weight > this.opts.weightBudget1m && (used > 0 || this.inFlightWeight > 0)) {
      return minute === this.minute ? (minute + 1) * 60_000 - now + 50 : 50;
    }
    return 0;
  }

  /** Ends every wait at once; later requests fail without being sent (shutdown). */
  close(): void {
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
    this.endProbe?.();
  }

  /** One GET; waits for the weight budget and any 429/418 pause first. Never throws. */
  async get(path: string, query: Readonly<Record<string, string | number>>, weight: number): Promise<RestResult> {
    let isProbe = false;
    for (;;) {
      if (this.closed) return { ok: false, status: 0, error: "REST client closed" };
      const wait = this.waitMs(weight);
      if (wait > 0) {
        if (Date.now() >= this.pausedUntil) this.counters.weightWaits++;
        await this.sleep(wait);
        continue;
      }
      if (this.probe !== null) {
        await this.probe;
        continue;
      }
      if (this.throttledSinceProbe) {
        this.throttledSinceProbe = false;
        isProbe = true;
        this.probe = new Promise((resolve) => (this.endProbe = resolve));
      }
      break;
    }
    try {
      return await this.send(path, query, weight);
    } finally {
      if (isProbe) {
        const end = this.endProbe;
        this.probe = null;
        this.endProbe = null;
        end?.();
      }
    }
  }

  private async send(path: string, query: Readonly<Record<string, string | number>>, weight: number): Promise<RestResult> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) qs.set(k, String(v));
    const url = `${this.base}${path}?${qs.toString()}`;
    this.counters.requests++;
    this.inFlightWeight += weight;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      const body = await res.text();
      this.noteWeight(res.headers.get("x-mbx-used-weight-1m"));
      if (res.status === 429 || res.status === 418) {
        this.counters.throttled++;
        const ra = Number(res.headers.get("retry-after"));
        const pause = Number.isFinite(ra) && ra > 0 ? ra * 1000 : (this.opts.defaultRetryAfterMs ?? (res.status === 418 ? 120_000 : 30_000));
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pause);
        this.throttledSinceProbe = true;
        return { ok: false, status: res.status, error: `HTTP ${res.status}, retry after ${Math.round(pause / 1000)} s`, body };
      }
      if (!res.ok) {
        this.counters.failures++;
        return { ok: false, status: res.status, error: `HTTP ${res.status}: ${body.slice(0, 200)}`, body };
      }
      return { ok: true, status: res.status, body };
    } catch (e) {
      this.counters.failures++;
      return { ok: false, status: 0, error: `GET ${path} failed: ${(e as Error).message}` };
    } finally {
      this.inFlightWeight -= weight;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private noteWeight(header: string | null): void {
    const used = Number(header);
    if (header === null || !Number.isFinite(used)) return;
    this.minute = Math.floor(Date.now() / 60_000);
    this.used = used;
    this.counters.usedWeight1m = used;
  }
}
