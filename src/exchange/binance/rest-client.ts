/**
 * REST GETs against `BINANCE_REST` that respect Binance's IP request weight: every answer carries
 * `x-mbx-used-weight-1m` (weight used in the current minute); a request that would take the minute's
 * use above the budget waits for the next minute. HTTP 429 (too many requests) and 418 (IP banned)
 * pause every request until `Retry-After` has passed (docs/binance.md §6, §8: limit 2400/min).
 * After such a pause one request goes first, alone, and the others wait for its answer: Binance bans
 * IPs that keep sending after a 429, so the client must not release a burst the moment it may.
 *
 * The weight and the bans belong to the IP, not to whoever asks: every client of one host in a
 * process (each feed's backfills and snapshots, the listing watch, the relay, and a signed trading
 * transport on the same host) shares the budget, what is in flight, a pause and its probe
 * (ip-limits.ts). Users made with `user()` keep their own counters (they add up across feeds) and
 * their own `close()`.
 */
import { DEFAULT_PAUSE_MS, ipLimitsOf, retryAfterMs, type IpLimits } from "./ip-limits.ts";

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
  /** Last `x-mbx-used-weight-1m` seen by any user of the client: the IP's, not a sum. */
  usedWeight1m: number;
  /** Seconds left of a 429/418 pause of the host's clients (0 when none). */
  pausedSec: number;
}

export class RestClient {
  private readonly ownCounters = { requests: 0, throttled: 0, weightWaits: 0, failures: 0 };
  private readonly base: string;
  private closed = false;
  /** This user's waits (close() ends them). */
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly opts: RestClientOptions,
    private readonly ip: IpLimits = ipLimitsOf(opts.baseUrl),
  ) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  /** Another user of the same IP limits, with counters and a close() of its own. */
  user(): RestClient {
    return new RestClient(this.opts, this.ip);
  }

  get counters(): Readonly<RestCounters> {
    return { ...this.ownCounters, usedWeight1m: this.ip.used, pausedSec: this.ip.pauseLeftSec() };
  }

  /** Ms until a request of `weight` may go out (0 = now): a 429/418 pause, else the weight budget. */
  waitMs(weight: number, now = Date.now()): number {
    return this.ip.pauseLeftMs() || this.budgetWaitMs(weight, now);
  }

  /** Ms until the minute's weight budget (the exchange's minute: wall clock) has room for `weight` more (0 = now). */
  private budgetWaitMs(weight: number, now: number): number {
    const ip = this.ip;
    const minute = Math.floor(now / 60_000);
    const used = minute === ip.minute ? ip.used : 0;
    if (used + ip.inFlightWeight + weight > this.opts.weightBudget1m && (used > 0 || ip.inFlightWeight > 0)) {
      return minute === ip.minute ? (minute + 1) * 60_000 - now + 50 : 50;
    }
    return 0;
  }

  /** Ends this user's waits at once; its later requests fail without being sent (shutdown). */
  close(): void {
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
  }

  /** One GET; waits for the weight budget and any 429/418 pause first. Never throws. */
  async get(path: string, query: Readonly<Record<string, string | number>>, weight: number): Promise<RestResult> {
    const client = this;
    const done = await this.ip.turn({
      get closed() {
        return client.closed;
      },
      sleep: (ms, until) => this.sleep(ms, until),
      budgetWaitMs: (now) => {
        const wait = this.budgetWaitMs(weight, now);
        if (wait > 0) this.ownCounters.weightWaits++;
        return wait;
      },
    });
    if (done === null) return { ok: false, status: 0, error: "REST client closed" };
    try {
      return await this.send(path, query, weight);
    } finally {
      done();
    }
  }

  private async send(path: string, query: Readonly<Record<string, string | number>>, weight: number): Promise<RestResult> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) qs.set(k, String(v));
    const url = `${this.base}${path}?${qs.toString()}`;
    const ip = this.ip;
    this.ownCounters.requests++;
    ip.inFlightWeight += weight;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      const body = await res.text();
      ip.noteUsedWeight(res.headers.get("x-mbx-used-weight-1m"));
      if (res.status === 429 || res.status === 418) {
        this.ownCounters.throttled++;
        const pause = ip.throttled(res.status, res.headers.get("retry-after"), this.opts.defaultRetryAfterMs);
        return { ok: false, status: res.status, error: `HTTP ${res.status}, retry after ${Math.round(pause / 1000)} s`, body };
      }
      if (!res.ok) {
        this.ownCounters.failures++;
        return { ok: false, status: res.status, error: `HTTP ${res.status}: ${body.slice(0, 200)}`, body };
      }
      return { ok: true, status: res.status, body };
    } catch (e) {
      this.ownCounters.failures++;
      return { ok: false, status: 0, error: `GET ${path} failed: ${(e as Error).message}` };
    } finally {
      ip.inFlightWeight -= weight;
    }
  }

  /** Waits `ms`, or for `until` when given; either way close() ends it. */
  private sleep(ms: number, until?: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        if (timer !== null) clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = until === undefined ? setTimeout(wake, ms) : null;
      until?.then(wake);
      this.wakers.add(wake);
    });
  }
}

/** What a start-up request is told between its attempts (for the log). */
export interface StartupRetryNotice {
  readonly attempt: number;
  readonly error: string;
  readonly retryInMs: number;
}

export interface StartupGetOptions {
  /** Give up once this much time has passed since the first attempt (default 120 s). */
  readonly deadlineMs?: number;
  /** Per-attempt timeout (default 15 s, never past the deadline). */
  readonly timeoutMs?: number;
  /** First delay between attempts (default 500 ms), doubled with jitter up to `maxDelayMs` (15 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onRetry?: (n: StartupRetryNotice) => void;
}

/**
 * A GET the process cannot start without (exchangeInfo for `SYMBOLS=ALL`). Retried on 429/418 (waiting
 * at least `Retry-After`; 30 s / 120 s without it), 5xx, timeouts and network errors, with exponential
 * backoff and jitter; a 4xx other than 429/418 will not change and ends it at once. Fails, with the last
 * error, once the next attempt could not start before `deadlineMs`: start-up never hangs, and a machine
 * without network gets one clear line instead of a silent wait.
 */
export async function startupGet(url: string, opts: StartupGetOptions = {}): Promise<RestResult> {
  const start = Date.now();
  const deadline = start + (opts.deadlineMs ?? 120_000);
  let delay = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 15_000;
  for (let attempt = 1; ; attempt++) {
    const left = deadline - Date.now();
    const res = await getOnce(url, Math.max(1, Math.min(opts.timeoutMs ?? 15_000, left)));
    if (res.ok) return res;
    const retryable = res.status === 0 || res.status === 429 || res.status === 418 || res.status >= 500;
    if (!retryable) return res;
    let wait = Math.min(maxDelay, delay * (0.75 + Math.random() * 0.5));
    delay = Math.min(maxDelay, delay * 2);
    if (res.status === 429 || res.status === 418) wait = Math.max(wait, res.retryAfterMs ?? DEFAULT_PAUSE_MS[res.status]);
    const elapsed = Math.round((Date.now() - start) / 1000);
    if (Date.now() + wait >= deadline) {
      const why = wait > 1000 && Date.now() + wait - deadline > 1000 ? `; the next attempt (in ${Math.round(wait / 1000)} s) would be past the start-up deadline` : "";
      return { ok: false, status: res.status, error: `${res.error} (${attempt} attempt${attempt === 1 ? "" : "s"} in ${elapsed} s${why})` };
    }
    opts.onRetry?.({ attempt, error: res.error, retryInMs: Math.round(wait) });
    await Bun.sleep(wait);
  }
}

async function getOnce(url: string, timeoutMs: number): Promise<RestResult & { readonly retryAfterMs?: number }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (res.ok) return { ok: true, status: res.status, body };
    const pauseMs = retryAfterMs(res.headers.get("retry-after"));
    const what = res.status === 418 ? " (IP banned)" : res.status === 429 ? " (too many requests)" : "";
    return { ok: false, status: res.status, error: `HTTP ${res.status}${what}: ${body.slice(0, 120)}`, body, ...(pauseMs === undefined ? {} : { retryAfterMs: pauseMs }) };
  } catch (e) {
    const err = e as Error;
    const msg = err.name === "TimeoutError" ? `no answer within ${Math.round(timeoutMs / 100) / 10} s` : err.message;
    return { ok: false, status: 0, error: msg };
  }
}
