/**
 * Binance counts request weight and bans per IP, and keeps banning an IP whose requests go on after
 * a 429. Everything in one process that talks to one REST host — the market-data client's users
 * (feeds, relay, `harvestd backfill`) and, when it trades on the same host, the signed trading
 * transport — therefore shares one `IpLimits`: the minute's used weight, what is in flight, a pause
 * and the probe that ends it. Hosts differ between mainnet and testnet, so testnet trading beside
 * mainnet data shares nothing, as Binance counts them apart.
 */

/** A 429/418 answer to any client of the host: its status, what Binance means by it, and the pause it set. */
export interface Throttle {
  readonly status: number;
  readonly why: "IP banned" | "too many requests";
  readonly pauseMs: number;
}
export type ThrottleListener = (t: Throttle) => void;

/** How a client of the host waits for its turn (turn()). */
export interface TurnWaiter {
  /** True once the client is closed: its wait ends without a turn. */
  readonly closed: boolean;
  /** Resolves after `ms`, or once `until` settles when given; a client's close() may end it early. */
  sleep(ms: number, until?: Promise<void>): Promise<void>;
  /** Ms the client's own budget (request weight) asks it to wait at `now`; 0 or absent: none. */
  budgetWaitMs?(now: number): number;
}

/**
 * A 429/418 whose pause ends within this of the one already running is that pause, answered again
 * to a request that was in flight with it (Retry-After has whole seconds).
 */
const SAME_PAUSE_MS = 1000;

/** Pause after a 429 / 418 that carries no Retry-After. */
export const DEFAULT_PAUSE_MS = { 429: 30_000, 418: 120_000 } as const;

/**
 * A `Retry-After` header in ms; undefined when absent or not a positive number of seconds (a 429 that
 * asks for no wait at all is treated as one that names none: the default pause applies).
 */
export function retryAfterMs(header: string | null): number | undefined {
  const sec = Number(header);
  return header !== null && Number.isFinite(sec) && sec > 0 ? sec * 1000 : undefined;
}

export class IpLimits {
  /**
   * When the pause the venue asked for (429/418) ends, on the monotonic clock (`performance.now()`):
   * a wall clock stepped forward (NTP) must not end a ban early, which Binance answers with a longer one.
   */
  private pauseEnds = 0;
  /** Minute (epoch ms / 60 000) the used weight belongs to. */
  minute = -1;
  used = 0;
  inFlightWeight = 0;
  /** A 429/418 was answered: the next request is a probe that goes alone. */
  private throttledSinceProbe = false;
  /** Settles when the probe in flight has its answer; null when none is out. */
  probe: Promise<void> | null = null;
  private readonly listeners = new Set<ThrottleListener>();

  /**
   * A 429/418 (`status`) was answered with the `Retry-After` header `retryAfter` (seconds): every
   * request waits that long (`fallbackMs`, else 30 s / 120 s, without one), then one goes alone
   * first. Returns the pause in ms.
   */
  throttled(status: 429 | 418, retryAfter: string | null, fallbackMs?: number, now = performance.now()): number {
    const pauseMs = retryAfterMs(retryAfter) ?? fallbackMs ?? DEFAULT_PAUSE_MS[status];
    const until = now + pauseMs;
    // Requests already in flight when the pause began come back with the same answer: they are
    // the same pause, not a new one, unless they ask for longer (a 429 turned into a ban).
    const news = this.pauseEnds <= now || until > this.pauseEnds + SAME_PAUSE_MS;
    this.pauseEnds = Math.max(this.pauseEnds, until);
    this.throttledSinceProbe = true;
    if (news) {
      const t: Throttle = { status, why: status === 418 ? "IP banned" : "too many requests", pauseMs };
      for (const l of this.listeners) l(t);
    }
    return pauseMs;
  }

  /** Ms until the pause ends (0 when none). */
  pauseLeftMs(now = performance.now()): number {
    return this.pauseEnds > now ? this.pauseEnds - now : 0;
  }

  /** Whole seconds until the pause ends (0 when none): an operator's figure, rounded up. */
  pauseLeftSec(): number {
    return Math.ceil(this.pauseLeftMs() / 1000);
  }

  /** Epoch ms at which the pause ends as the wall clock reads now (0 when none): for display and trading's limits. */
  get pausedUntil(): number {
    const left = this.pauseLeftMs();
    return left > 0 ? Date.now() + left : 0;
  }

  /** Told once of each pause a 429/418 to a client of this host began or lengthened (the log's line); returns the unsubscribe. */
  onThrottle(listener: ThrottleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Waits until a request may go — no pause running, no probe out, the client's budget allowing —
   * and returns the function to call once its answer is in (it ends the probe when this request is
   * the one that goes alone after a pause); null when the client closed meanwhile. The one wait of
   * every client of the host, so none sends through another's ban or beside its probe.
   */
  async turn(waiter: TurnWaiter): Promise<(() => void) | null> {
    for (;;) {
      if (waiter.closed) return null;
      const pause = this.pauseLeftMs();
      if (pause > 0) {
        await waiter.sleep(pause);
        continue;
      }
      const budget = waiter.budgetWaitMs?.(Date.now()) ?? 0;
      if (budget > 0) {
        await waiter.sleep(budget);
        continue;
      }
      if (this.probe !== null) {
        await waiter.sleep(0, this.probe);
        continue;
      }
      return this.startProbeIfDue() ?? noProbe;
    }
  }

  /** The request about to go is the probe after a pause: the end function lets the others go. */
  private startProbeIfDue(): (() => void) | null {
    if (!this.throttledSinceProbe) return null;
    this.throttledSinceProbe = false;
    let end!: () => void;
    this.probe = new Promise((resolve) => (end = resolve));
    return () => {
      this.probe = null;
      end();
    };
  }

  /** `x-mbx-used-weight-1m` of an answer (the IP's use this minute, whoever asked). */
  noteUsedWeight(header: string | null, now = Date.now()): void {
    const used = Number(header);
    if (header === null || header === "" || !Number.isFinite(used)) return;
    this.minute = Math.floor(now / 60_000);
    this.used = used;
  }
}

const noProbe = (): void => {};

const byHost = new Map<string, IpLimits>();

/** The limits shared by every client of this process that sends to `baseUrl`'s host. */
export function ipLimitsOf(baseUrl: string): IpLimits {
  let key: string;
  try {
    key = new URL(baseUrl).host.toLowerCase();
  } catch {
    key = baseUrl;
  }
  let ip = byHost.get(key);
  if (ip === undefined) {
    ip = new IpLimits();
    byHost.set(key, ip);
  }
  return ip;
}
