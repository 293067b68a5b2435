// Fault state consulted by the protocol layer. Built-in controls live here; tests add anything
// else through the hooks (see FaultHooks), so the server itself stays fault-agnostic.
import type { FaultHooks, Route } from "./types.ts";

export class Faults {
  /** Replace or extend freely; the pipeline reads it on every frame. */
  hooks: FaultHooks = {};
  private readonly silenced = new Set<Route>();
  private readonly silencedConns = new Set<number>();
  private rejections: Rejections | undefined;
  private restRejections: Rejections | undefined;
  private depthRejections: Rejections | undefined;
  private staleDepthLeft = 0;
  private delayedDepth: { remaining: number; readonly ms: number } | undefined;

  silence(route: Route, on: boolean): void {
    if (on) this.silenced.add(route);
    else this.silenced.delete(route);
  }

  isSilenced(route: Route): boolean {
    return this.silenced.size > 0 && this.silenced.has(route);
  }

  /** One connection stays open and answers requests and pings, but receives no data frames. */
  silenceConn(connId: number): void {
    this.silencedConns.add(connId);
  }

  isConnSilenced(connId: number): boolean {
    return this.silencedConns.size > 0 && this.silencedConns.has(connId);
  }

  rejectUpgrades(n: number, status: number, retryAfterSec: number | undefined): void {
    this.rejections = n > 0 ? { remaining: n, status, retryAfterSec } : undefined;
  }

  /** Consumes one pending rejection, if any, and returns the HTTP answer for it. */
  takeUpgradeRejection(): Response | undefined {
    const r = this.rejections;
    if (!r) return undefined;
    if (--r.remaining <= 0) this.rejections = undefined;
    return throttled(r);
  }

  /** Answer the next n REST requests with `status` (429/418) and optional Retry-After. */
  rejectRest(n: number, status: number, retryAfterSec: number | undefined): void {
    this.restRejections = n > 0 ? { remaining: n, status, retryAfterSec } : undefined;
  }

  /** The next n `GET /fapi/v1/depth` get `status` (e.g. 429, 500); other REST paths are unaffected. */
  rejectDepth(n: number, status: number, retryAfterSec: number | undefined): void {
    this.depthRejections = n > 0 ? { remaining: n, status, retryAfterSec } : undefined;
  }

  /** The next n depth answers come from a book lagging behind the diff stream (diff-depth.ts). */
  staleDepth(n: number): void {
    this.staleDepthLeft = n;
  }

  /** The next n depth answers are held `ms` before they are sent. */
  delayDepth(n: number, ms: number): void {
    this.delayedDepth = n > 0 ? { remaining: n, ms } : undefined;
  }

  takeDepthRejection(): Response | undefined {
    const r = this.depthRejections;
    if (!r) return undefined;
    if (--r.remaining <= 0) this.depthRejections = undefined;
    return throttled(r);
  }

  /** Consumes the stale / delay faults pending for one depth answer. */
  takeDepthFault(): DepthFault {
    const stale = this.staleDepthLeft > 0;
    if (stale) this.staleDepthLeft--;
    const d = this.delayedDepth;
    let delayMs = 0;
    if (d) {
      delayMs = d.ms;
      if (--d.remaining <= 0) this.delayedDepth = undefined;
    }
    return { stale, delayMs };
  }

  takeRestRejection(): Response | undefined {
    const r = this.restRejections;
    if (!r) return undefined;
    if (--r.remaining <= 0) this.restRejections = undefined;
    return throttled(r);
  }
}

export interface DepthFault {
  /** Answer from the lagging book (older than diffs already sent). */
  readonly stale: boolean;
  /** Hold the answer this long (a disconnect can be made to fall inside). */
  readonly delayMs: number;
}

interface Rejections {
  remaining: number;
  readonly status: number;
  readonly retryAfterSec: number | undefined;
}

function throttled(r: Rejections): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (r.retryAfterSec !== undefined) headers["retry-after"] = String(r.retryAfterSec);
  const body =
    r.status === 418 ? '{"code":-1003,"msg":"Way too many requests; IP banned."}' : r.status === 429 ? '{"code":-1003,"msg":"Too many requests."}' : '{"code":-1000,"msg":"An unknown error occured while processing the request."}';
  return new Response(body, { status: r.status, headers });
}
