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

  takeRestRejection(): Response | undefined {
    const r = this.restRejections;
    if (!r) return undefined;
    if (--r.remaining <= 0) this.restRejections = undefined;
    return throttled(r);
  }
}

interface Rejections {
  remaining: number;
  readonly status: number;
  readonly retryAfterSec: number | undefined;
}

function throttled(r: Rejections): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (r.retryAfterSec !== undefined) headers["retry-after"] = String(r.retryAfterSec);
  const body = r.status === 418 ? '{"code":-1003,"msg":"Way too many requests; IP banned."}' : '{"code":-1003,"msg":"Too many requests."}';
  return new Response(body, { status: r.status, headers });
}
