/**
 * Embedded HTTP server (docs/operations.md): the status page, its JSON twin, chart history, /health,
 * /orderbook and /metrics. Nothing is served from disk: every route is listed here.
 *
 * Security: loopback by default; a non-loopback bind requires a token (config validation refuses to
 * start otherwise). With a token, every endpoint except /health requires it, compared in constant
 * time, as `Authorization: Bearer <token>` (tools) or as the password of HTTP Basic (browsers, which
 * prompt for it). Without a token only loopback Host names are accepted, so a web page cannot reach
 * the server through DNS rebinding. Query parameters are validated per route (unknown or repeated
 * ones are refused). Every response carries nosniff, no-store and a strict CSP; the page's one inline
 * script and style are allowed by hash, nothing else runs.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { Exposition, PROMETHEUS_CONTENT_TYPE } from "./metrics/exposition.ts";
import type { Logger } from "../util/log.ts";
import { STATUS_PAGE_HTML, STATUS_PAGE_SCRIPT, STATUS_PAGE_STYLE } from "./status-page.ts";

export interface HealthReport {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly [k: string]: unknown;
}

export interface StatusSource {
  status(): unknown;
  health(): HealthReport;
  /**
   * The symbol's book, `levels` per side (null: not collected). `levels` is whatever was asked (NaN
   * when not a whole number): the source refuses what its book cannot give (OrderbookRefusal, a 400),
   * since only it knows how many levels it keeps.
   */
  orderbook(symbol: string, levels?: number): unknown;
  /** Chart samples of the last `seconds`, optionally for one symbol (null when it is not collected). */
  history?(seconds: number, symbol: string | null): unknown | null;
  /** Longest history `history` can return, in seconds. */
  readonly historySeconds?: number;
  /** Prometheus text of the collector; the server appends its own request counters. */
  metrics?(): string;
}

/** What `StatusSource.orderbook` returns to refuse the `levels` asked: answered 400 with `error`. */
export class OrderbookRefusal {
  constructor(readonly error: string) {}
}

export interface HttpServerOptions {
  readonly log?: Logger;
}

export interface HttpServer {
  readonly url: string;
  stop(): Promise<void>;
}

const sha256 = (s: string): string => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

const BASE_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const PAGE_CSP = `default-src 'none'; script-src ${sha256(STATUS_PAGE_SCRIPT)}; style-src ${sha256(STATUS_PAGE_STYLE)}; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function headers(contentType: string, csp = API_CSP): Headers {
  return new Headers({ ...BASE_HEADERS, "content-security-policy": csp, "content-type": contentType });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: headers("application/json; charset=utf-8") });
}

function unauthorized(): Response {
  const h = headers("application/json; charset=utf-8");
  // One header (Bun joins repeated ones anyway) with Basic first: Chromium only acts on the first
  // challenge of a header line, and Basic is the one a browser can answer with a prompt.
  h.set("www-authenticate", 'Basic realm="harvestd", charset="UTF-8", Bearer realm="harvestd"');
  return new Response(JSON.stringify({ error: "unauthorized: send Authorization: Bearer <token> (or Basic with the token as password)" }), { status: 401, headers: h });
}

function sameSecret(given: string, want: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(want, "utf8").digest();
  // Hashing first makes both sides the same length, so neither content nor length leaks by timing.
  return timingSafeEqual(a, b);
}

/** The token from `Bearer <token>` or from the password of `Basic base64(user:token)`. */
function presentedToken(req: Request): string | null {
  const h = req.headers.get("authorization");
  if (h === null) return null;
  const bearer = /^Bearer +(\S+) *$/i.exec(h);
  if (bearer !== null) return bearer[1]!;
  const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(h);
  if (basic !== null) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Host header without its port, lower-cased; null when absent. */
function hostName(req: Request): string | null {
  const h = req.headers.get("host");
  if (h === null) return null;
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(h.trim());
  return m === null ? h : m[1]!.toLowerCase();
}

export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { hostname: host, port: Number(listen.slice(i + 1)) };
}

/** Query parameters a route accepts: name → validator returning an error message or null. */
type ParamSpec = Readonly<Record<string, (value: string) => string | null>>;

const SYMBOL_PARAM = (v: string): string | null => (/^[A-Za-z0-9]{2,30}$/.test(v) ? null : "must be a symbol such as BTCUSDT");

/** Null when the query is valid for the route, else a 400 response. */
function checkQuery(url: URL, spec: ParamSpec, required: readonly string[] = []): Response | null {
  const seen = new Set<string>();
  for (const [name, value] of url.searchParams) {
    const check = spec[name];
    if (check === undefined) {
      const allowed = Object.keys(spec);
      return json({ error: `unknown query parameter ${JSON.stringify(name.slice(0, 40))}${allowed.length > 0 ? ` (allowed: ${allowed.join(", ")})` : " (this endpoint takes none)"}` }, 400);
    }
    if (seen.has(name)) return json({ error: `query parameter ${name} given more than once` }, 400);
    seen.add(name);
    const problem = check(value);
    if (problem !== null) return json({ error: `query parameter ${name} ${problem}` }, 400);
  }
  for (const name of required) if (!seen.has(name)) return json({ error: `query parameter ${name} is required` }, 400);
  return null;
}

const ROUTES = ["/", "/api/status", "/api/history", "/health", "/orderbook", "/metrics"] as const;
type RouteLabel = (typeof ROUTES)[number] | "other";

/** Requests served, by route and status code (both bounded sets). */
class RequestCounts {
  private readonly counts = new Map<string, number>();

  add(route: RouteLabel, code: number): void {
    const k = `${route} ${code}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  render(): string {
    const samples = [...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => {
      const [route, code] = k.split(" ");
      return [{ route: route!, code: code! }, n] as const;
    });
    return new Exposition().counter("harvestd_http_requests_total", "HTTP requests served, by route and status code.", samples).text();
  }
}

export function startHttpServer(listen: string, token: string, source: StatusSource, options: HttpServerOptions = {}): HttpServer {
  const { hostname, port } = splitListen(listen);
  const log = options.log;
  const counts = new RequestCounts();
  const listenHost = hostname.toLowerCase();
  const maxHistory = source.historySeconds ?? 600;

  const route = (req: Request, url: URL): Response => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      const r = json({ error: "method not allowed" }, 405);
      r.headers.set("allow", "GET, HEAD");
      return r;
    }
    if (token === "") {
      const host = hostName(req);
      if (host !== null && !LOOPBACK_HOST.test(host) && host !== listenHost && host !== `[${listenHost}]`) {
        log?.limited("http-host", "warn", "request with a non-loopback Host refused", { host: host.slice(0, 100) });
        return json({ error: `Host ${host.slice(0, 100)} refused: without http.token only loopback host names are served` }, 421);
      }
    }
    if (url.pathname === "/health") {
      const bad = checkQuery(url, {});
      if (bad !== null) return bad;
      const h = source.health();
      return json(h, h.ok ? 200 : 503);
    }
    if (token !== "") {
      const given = presentedToken(req);
      if (given === null || !sameSecret(given, token)) {
        log?.limited("http-unauthorized", "warn", "unauthorized request", { path: url.pathname.slice(0, 100), credentials: given === null ? "none" : "wrong" });
        return unauthorized();
      }
    }
    switch (url.pathname) {
      case "/": {
        const bad = checkQuery(url, {});
        if (bad !== null) return bad;
        return new Response(STATUS_PAGE_HTML, { headers: headers("text/html; charset=utf-8", PAGE_CSP) });
      }
      case "/api/status": {
        const bad = checkQuery(url, {});
        if (bad !== null) return bad;
        return json(source.status());
      }
      case "/api/history": {
        if (source.history === undefined) break;
        const bad = checkQuery(url, {
          seconds: (v) => (/^\d{1,6}$/.test(v) && Number(v) >= 1 && Number(v) <= maxHistory ? null : `must be an integer from 1 to ${maxHistory}`),
          symbol: SYMBOL_PARAM,
        });
        if (bad !== null) return bad;
        const seconds = Number(url.searchParams.get("seconds") ?? maxHistory);
        const symbol = url.searchParams.get("symbol")?.toUpperCase() ?? null;
        const h = source.history(seconds, symbol);
        return h === null ? json({ error: `symbol ${symbol} is not collected` }, 404) : json(h);
      }
      case "/orderbook": {
        // `levels` is checked by the source: its range is the book mode's (depth5 keeps 5 levels, the full book up to 1000).
        const bad = checkQuery(url, { symbol: SYMBOL_PARAM, levels: () => null }, ["symbol"]);
        if (bad !== null) return bad;
        const sym = url.searchParams.get("symbol")!.toUpperCase();
        const lv = url.searchParams.get("levels");
        const ob = source.orderbook(sym, lv === null ? undefined : /^\d{1,9}$/.test(lv) ? Number(lv) : Number.NaN);
        if (ob instanceof OrderbookRefusal) return json({ error: ob.error }, 400);
        return ob === null ? json({ error: `symbol ${sym} is not collected` }, 404) : json(ob);
      }
      case "/metrics": {
        if (source.metrics === undefined) break;
        const bad = checkQuery(url, {});
        if (bad !== null) return bad;
        return new Response(source.metrics() + counts.render(), { headers: headers(PROMETHEUS_CONTENT_TYPE) });
      }
    }
    return json({ error: "not found" }, 404);
  };

  const server = Bun.serve({
    hostname,
    port,
    fetch(req) {
      const url = new URL(req.url);
      let res: Response;
      try {
        res = route(req, url);
      } catch (e) {
        log?.limited("http-error", "error", "HTTP handler failed", { path: url.pathname.slice(0, 100), error: (e as Error).message });
        res = json({ error: "internal error" }, 500);
      }
      counts.add((ROUTES as readonly string[]).includes(url.pathname) ? (url.pathname as RouteLabel) : "other", res.status);
      return res;
    },
    error(e) {
      log?.limited("http-error", "error", "HTTP server error", { error: e.message });
      return json({ error: "internal error" }, 500);
    },
  });
  return {
    url: `http://${listen}`,
    async stop() {
      await server.stop(true);
    },
  };
}
