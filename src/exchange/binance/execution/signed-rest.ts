/**
 * The signed REST transport of the trading venue: keeps the server-time offset in sync (GET
 * /fapi/v1/time at start, every `timeSyncEveryMs`, and after a -1021), signs every request with
 * `timestamp` and `recvWindow`, reads the weight and order-count headers, honours 429/418
 * `Retry-After` — a pause it shares with every other client of the same host in the process
 * (ip-limits.ts: on mainnet, the market-data client), so neither sends through the other's ban — and
 * reports every request and response to `onAudit` with the signature removed
 * (the API key travels only in the `X-MBX-APIKEY` header and is never reported).
 */
import type { VenueAudit } from "../../../core/execution.ts";
import { venueClockAheadMs } from "../clock-check.ts";
import { ipLimitsOf, type IpLimits, type TurnWaiter } from "../ip-limits.ts";
import type { ApiCredentials } from "./signer.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type Params = Readonly<Record<string, string | number | boolean>>;

export type RestReply =
  | { readonly kind: "ok"; readonly status: number; readonly body: unknown; readonly latencyMs: number }
  /** The venue answered with an error: the request had no effect (4xx with a Binance code). */
  | { readonly kind: "rejected"; readonly status: number; readonly code: number | null; readonly msg: string; readonly latencyMs: number }
  /** No answer, a 5xx or a network error: the request may or may not have taken effect. */
  | { readonly kind: "unknown"; readonly status: number; readonly msg: string; readonly latencyMs: number };

export interface LimitState {
  readonly usedWeight1m: number;
  readonly orderCount10s: number;
  readonly orderCount1m: number;
  /** Epoch ms until which the venue asked this host's clients to wait (429/418). */
  readonly pausedUntil: number;
}

export interface SignedRestOptions {
  readonly baseUrl: string;
  readonly creds: ApiCredentials;
  readonly recvWindowMs: number;
  readonly timeoutMs: number;
  readonly timeSyncEveryMs: number;
  readonly onAudit?: (e: VenueAudit) => void;
}

/**
 * The trading transport waits out a pause and a probe but has no weight budget of its own (order
 * requests are few and the venue's order counts are read from its answers) and no close(): a trading
 * session ends by its own requests, which must not be cut short.
 */
const TRADING_WAITER: TurnWaiter = {
  closed: false,
  sleep: (ms, until) => (until === undefined ? Bun.sleep(ms) : until),
};

export class SignedRest {
  private readonly counts = { orderCount10s: 0, orderCount1m: 0 };
  /** serverTime − local clock, ms. */
  offsetMs = 0;
  private lastSync = 0;
  private readonly base: string;
  private readonly ip: IpLimits;

  constructor(private readonly opts: SignedRestOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.ip = ipLimitsOf(this.base);
  }

  get limits(): LimitState {
    return { usedWeight1m: this.ip.used, orderCount10s: this.counts.orderCount10s, orderCount1m: this.counts.orderCount1m, pausedUntil: this.ip.pausedUntil };
  }

  /** Measures the offset to the venue's clock from the midpoint of a `GET /fapi/v1/time` round trip. */
  async syncTime(): Promise<RestReply> {
    const t0 = Date.now();
    const r = await this.send("GET", "/fapi/v1/time", {}, false, false);
    if (r.kind === "ok") {
      const t1 = Date.now();
      const st = Number((r.body as { serverTime?: unknown }).serverTime);
      if (Number.isFinite(st)) {
        this.offsetMs = venueClockAheadMs(st, t0, t1);
        this.lastSync = t1;
      }
    }
    return r;
  }

  /** An unsigned request (exchangeInfo). */
  publicGet(path: string, params: Params = {}): Promise<RestReply> {
    return this.send("GET", path, params, false, false);
  }

  /** A request that needs the API key but no signature (listenKey). */
  keyed(method: HttpMethod, path: string): Promise<RestReply> {
    return this.send(method, path, {}, false, true);
  }

  /** A signed request. A -1021 (clock drift) re-syncs and is sent once more: it had no effect. */
  async signed(method: HttpMethod, path: string, params: Params): Promise<RestReply> {
    if (Date.now() - this.lastSync > this.opts.timeSyncEveryMs) await this.syncTime();
    const r = await this.send(method, path, params, true, true);
    if (r.kind === "rejected" && r.code === -1021) {
      await this.syncTime();
      return this.send(method, path, params, true, true);
    }
    return r;
  }

  private async send(method: HttpMethod, path: string, params: Params, sign: boolean, withKey: boolean): Promise<RestReply> {
    const done = (await this.ip.turn(TRADING_WAITER))!;
    try {
      return await this.sendNow(method, path, params, sign, withKey);
    } finally {
      done();
    }
  }

  private async sendNow(method: HttpMethod, path: string, params: Params, sign: boolean, withKey: boolean): Promise<RestReply> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) q.set(k, String(v));
    if (sign) {
      q.set("recvWindow", String(this.opts.recvWindowMs));
      q.set("timestamp", String(Date.now() + this.offsetMs));
    }
    let text = q.toString();
    if (sign) text += `&signature=${encodeURIComponent(this.opts.creds.signer.sign(text))}`;
    const shown: Record<string, string> = {};
    for (const [k, v] of q) shown[k] = v;
    const headers: Record<string, string> = {};
    if (withKey) headers["X-MBX-APIKEY"] = this.opts.creds.apiKey;
    const t0 = performance.now();
    let reply: RestReply;
    let response: unknown = null;
    try {
      // Parameters go in the query string for every method (Binance accepts both; one form is one code path).
      const res = await fetch(`${this.base}${path}${text === "" ? "" : `?${text}`}`, { method, headers, signal: AbortSignal.timeout(this.opts.timeoutMs) });
      const body = await res.text();
      const latencyMs = performance.now() - t0;
      this.noteHeaders(res.headers, res.status);
      try {
        response = JSON.parse(body);
      } catch {
        response = body.slice(0, 200);
      }
      if (res.ok) reply = { kind: "ok", status: res.status, body: response, latencyMs };
      else if (res.status >= 500) reply = { kind: "unknown", status: res.status, msg: `HTTP ${res.status}`, latencyMs };
      else {
        const e = response as { code?: unknown; msg?: unknown };
        reply = { kind: "rejected", status: res.status, code: typeof e?.code === "number" ? e.code : null, msg: typeof e?.msg === "string" ? e.msg : `HTTP ${res.status}`, latencyMs };
      }
    } catch (e) {
      const err = e as Error;
      const timedOut = err.name === "TimeoutError" || err.name === "AbortError";
      reply = { kind: "unknown", status: 0, msg: timedOut ? `no answer within ${this.opts.timeoutMs} ms` : `network error: ${err.message}`, latencyMs: performance.now() - t0 };
      response = { error: reply.msg };
    }
    this.opts.onAudit?.({ ts_ms: Date.now(), method, path, params: shown, status: reply.status, latency_ms: Math.round(reply.latencyMs * 10) / 10, response });
    return reply;
  }

  private noteHeaders(h: Headers, status: number): void {
    const num = (name: string) => {
      const v = h.get(name);
      return v === null ? null : Number(v);
    };
    this.ip.noteUsedWeight(h.get("x-mbx-used-weight-1m"));
    const c10 = num("x-mbx-order-count-10s");
    if (c10 !== null && Number.isFinite(c10)) this.counts.orderCount10s = c10;
    const c1m = num("x-mbx-order-count-1m");
    if (c1m !== null && Number.isFinite(c1m)) this.counts.orderCount1m = c1m;
    if (status === 429 || status === 418) this.ip.throttled(status, h.get("retry-after"));
  }
}
