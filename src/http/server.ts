/**
 * Embedded HTTP server (product.md §7): the status page, its JSON twin, /health and /orderbook.
 * Loopback by default; a non-loopback bind requires a bearer token (enforced by config validation);
 * with a token every endpoint except /health requires `Authorization: Bearer <token>`.
 */
import { timingSafeEqual } from "node:crypto";
import { STATUS_PAGE_HTML } from "./status-page.ts";

export interface HealthReport {
  readonly ok: boolean;
  readonly reasons: readonly string[];
  readonly [k: string]: unknown;
}

export interface StatusSource {
  status(): unknown;
  health(): HealthReport;
  /** Top-of-book for a symbol, or null when the symbol is not collected. */
  orderbook(symbol: string): unknown | null;
  metrics?(): string;
}

export interface HttpServer {
  readonly url: string;
  stop(): Promise<void>;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" } });
}

function authorized(req: Request, token: string): boolean {
  if (token === "") return true;
  const h = req.headers.get("authorization") ?? "";
  const m = /^Bearer (.+)$/.exec(h);
  if (m === null) return false;
  const given = Buffer.from(m[1]!, "utf8");
  const want = Buffer.from(token, "utf8");
  // Compare equal-length buffers only, in constant time; the length itself is not secret enough to matter.
  return given.length === want.length && timingSafeEqual(given, want);
}

export function splitListen(listen: string): { hostname: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  return { hostname: host, port: Number(listen.slice(i + 1)) };
}

export function startHttpServer(listen: string, token: string, source: StatusSource): HttpServer {
  const { hostname, port } = splitListen(listen);
  const server = Bun.serve({
    hostname,
    port,
    fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "GET" && req.method !== "HEAD") return json({ error: "method not allowed" }, 405);
      if (url.pathname === "/health") {
        const h = source.health();
        return json(h, h.ok ? 200 : 503);
      }
      if (!authorized(req, token)) {
        return new Response(JSON.stringify({ error: "unauthorized" }), {
          status: 401,
          headers: { ...SECURITY_HEADERS, "content-type": "application/json", "www-authenticate": 'Bearer realm="harvestd"' },
        });
      }
      switch (url.pathname) {
        case "/":
          return new Response(STATUS_PAGE_HTML, { headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" } });
        case "/api/status":
          return json(source.status());
        case "/orderbook": {
          const sym = url.searchParams.get("symbol") ?? "";
          if (!/^[A-Za-z0-9]{2,30}$/.test(sym)) return json({ error: "query parameter symbol must be a symbol such as BTCUSDT" }, 400);
          const ob = source.orderbook(sym.toUpperCase());
          return ob === null ? json({ error: `symbol ${sym.toUpperCase()} is not collected` }, 404) : json(ob);
        }
        case "/metrics":
          if (source.metrics === undefined) return json({ error: "not found" }, 404);
          return new Response(source.metrics(), { headers: { ...SECURITY_HEADERS, "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
        default:
          return json({ error: "not found" }, 404);
      }
    },
  });
  return {
    url: `http://${listen}`,
    async stop() {
      await server.stop(true);
    },
  };
}
