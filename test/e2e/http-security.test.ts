/**
 * Issue "Operator surface", HTTP security, against the compiled binary: the token rules (every
 * endpoint but /health, Bearer or Basic, constant-time compare), malformed and unknown query
 * parameters, no file serving, methods, security headers, DNS-rebinding protection without a token,
 * the refusal to bind a non-loopback address without a token, and that the token never reaches a
 * log, the status document or the metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runBinary, tempDir, waitFor, REPO, type RunResult } from "../helpers/binary.ts";
import { startCollector, waitForHealth, type CollectorUnderTest } from "./http-support.ts";

const TOKEN = "sekret-9c1f7e2b84d05a36e1b7c4f2";
const WRONG = "wrong-token-7d3e1a9c5b2f8e04";
const PROTECTED = ["/", "/api/status", "/api/history", "/orderbook?symbol=SANDUSDT", "/metrics"];

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

describe("with a token, bound to 0.0.0.0 (non-loopback is allowed with a token)", () => {
  let c: CollectorUnderTest;
  let result: RunResult;
  let statusText = "";
  let metricsText = "";

  beforeAll(async () => {
    c = await startCollector({ symbols: ["BTCUSDT", "SANDUSDT"], token: TOKEN, listenHost: "0.0.0.0" });
    await waitForHealth(c, 200);
  }, 60_000);

  afterAll(async () => {
    if (result === undefined) await c?.stop();
  });

  test("/health needs no token and names no file path", async () => {
    const r = await fetch(`${c.base}/health`);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).not.toContain(c.dir);
  });

  test("every other endpoint refuses a missing, wrong, extended or truncated token with 401", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${WRONG}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer` },
      { authorization: TOKEN },
      { authorization: `Token ${TOKEN}` },
      { authorization: basic("me", WRONG) },
      { authorization: basic(TOKEN, "") },
    ];
    for (const path of PROTECTED) {
      for (const headers of attempts) {
        const r = await fetch(c.base + path, { headers });
        expect({ path, headers, status: r.status }).toEqual({ path, headers, status: 401 });
        expect(r.headers.get("www-authenticate")).toContain("Basic");
        expect(r.headers.get("www-authenticate")).toContain("Bearer");
        expect(await r.text()).not.toContain(TOKEN);
      }
    }
  });

  test("the token as Bearer (any case of the scheme) or as the Basic password is accepted", async () => {
    for (const path of PROTECTED) {
      for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, basic("anyone", TOKEN)]) {
        const r = await fetch(c.base + path, { headers: { authorization } });
        expect({ path, authorization, status: r.status }).toEqual({ path, authorization, status: 200 });
      }
    }
    statusText = await (await c.get("/api/status")).text();
    metricsText = await (await c.get("/metrics")).text();
  });

  test("no file is served: paths outside the fixed routes are 404, whatever they look like", async () => {
    for (const path of ["/config.toml", "/etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html", "/static/app.js", "/api", "/api/status/", "/favicon.ico"]) {
      const r = await c.get(path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.headers.get("content-type")).toContain("application/json");
      const body = await r.text();
      expect(body).not.toContain("root:");
      expect(body).not.toContain("[http]");
    }
  });

  test("only GET and HEAD: other methods get 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const r = await fetch(`${c.base}/api/status`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect({ method, status: r.status }).toEqual({ method, status: 405 });
      expect(r.headers.get("allow")).toBe("GET, HEAD");
    }
    const head = await fetch(`${c.base}/health`, { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  test("security headers: nosniff, no-store, frame denial everywhere; the page's CSP allows only its own script and style by hash", async () => {
    for (const path of ["/", "/api/status", "/metrics", "/health", "/nope"]) {
      const r = await c.get(path);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(r.headers.get("access-control-allow-origin")).toBeNull();
    }
    const page = await c.get("/");
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]{44}';/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]{44}';/);
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("connect-src 'self'");
    // The hash in the policy is the hash of the script actually served.
    const html = await page.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const hash = new Bun.CryptoHasher("sha256").update(script).digest("base64");
    expect(csp).toContain(`'sha256-${hash}'`);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect((await c.get("/metrics")).headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  test("malformed, repeated and unknown query parameters get 400 with a one-line reason", async () => {
    const bad: [string, RegExp][] = [
      ["/orderbook", /symbol is required/],
      ["/orderbook?symbol=", /symbol must be a symbol/],
      ["/orderbook?symbol=B", /symbol must be a symbol/],
      ["/orderbook?symbol=BTC/USDT", /symbol must be a symbol/],
      ["/orderbook?symbol=BTC%00USDT", /symbol must be a symbol/],
      ["/orderbook?symbol=%3Cscript%3Ealert(1)%3C/script%3E", /symbol must be a symbol/],
      [`/orderbook?symbol=${"A".repeat(31)}`, /symbol must be a symbol/],
      ["/orderbook?symbol=BTCUSDT&symbol=SANDUSDT", /symbol given more than once/],
      ["/orderbook?symbol=BTCUSDT&limit=10", /unknown query parameter "limit" \(allowed: symbol, levels\)/],
      // depth5 mode (this collector): 5 levels are all it has, so more is refused, saying how to get more.
      [
        "/orderbook?symbol=BTCUSDT&levels=10",
        /^query parameter levels must be an integer from 1 to 5: this collector keeps 5 levels per side \(feed\.depth = "depth5"\); for up to 1000, keep the full book with feed\.depth = "full" \(docs\/depth\.md\)$/,
      ],
      ["/orderbook?symbol=BTCUSDT&levels=1000", /levels must be an integer from 1 to 5: this collector keeps 5 levels/],
      ["/orderbook?symbol=BTCUSDT&levels=0", /levels must be an integer from 1 to 5:/],
      ["/orderbook?symbol=BTCUSDT&levels=1.5", /levels must be an integer from 1 to 5:/],
      ["/orderbook?symbol=BTCUSDT&levels=", /levels must be an integer from 1 to 5:/],
      ["/orderbook?symbol=NOPEUSDT&levels=6", /levels must be an integer from 1 to 5:/],
      ["/api/status?verbose=1", /unknown query parameter "verbose" \(this endpoint takes none\)/],
      ["/metrics?name[]=x", /unknown query parameter/],
      ["/?token=abc", /unknown query parameter "token"/],
      ["/api/history?seconds=0", /seconds must be an integer from 1 to 600/],
      ["/api/history?seconds=-5", /seconds must be an integer/],
      ["/api/history?seconds=1.5", /seconds must be an integer/],
      ["/api/history?seconds=abc", /seconds must be an integer/],
      ["/api/history?seconds=601", /seconds must be an integer/],
      ["/api/history?seconds=99999999999", /seconds must be an integer/],
      ["/api/history?symbol=BTC-USDT", /symbol must be a symbol/],
      ["/health?x=1", /unknown query parameter "x"/],
    ];
    for (const [path, reason] of bad) {
      const r = await c.get(path);
      const body = (await r.json()) as { error: string };
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
      expect(body.error).toMatch(reason);
      expect(body.error).not.toContain("\n");
      expect(body.error).not.toContain("<script>");
    }
  });

  test("valid parameters: symbols in any case, unknown symbols 404, history limited to what was asked", async () => {
    const ob = await c.get("/orderbook?symbol=btcusdt");
    expect(ob.status).toBe(200);
    expect(((await ob.json()) as { symbol: string }).symbol).toBe("BTCUSDT");
    // Once the book has its first frame, any 1 to 5 levels are answered.
    await waitFor("SANDUSDT's book", async () => (((await (await c.get("/orderbook?symbol=SANDUSDT")).json()) as { bids: unknown[] }).bids.length === 5 ? true : undefined), 20_000, 250);
    for (const levels of [1, 3, 5]) {
      const r = await c.get(`/orderbook?symbol=SANDUSDT&levels=${levels}`);
      const b = (await r.json()) as { mode: string; bids: unknown[]; asks: unknown[] };
      expect({ levels, status: r.status, mode: b.mode, bids: b.bids.length, asks: b.asks.length }).toEqual({ levels, status: 200, mode: "depth5", bids: levels, asks: levels });
    }
    const unknown = await c.get("/orderbook?symbol=NOPEUSDT");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe("symbol NOPEUSDT is not collected");
    expect((await c.get("/api/history?symbol=NOPEUSDT")).status).toBe(404);
    await waitFor("3 s of chart history", async () => (((await (await c.get("/api/history?seconds=3")).json()) as { t: number[] }).t.length === 3 ? true : undefined), 20_000, 250);
    const h = (await (await c.get("/api/history?seconds=3&symbol=SANDUSDT")).json()) as { t: number[]; symbols: Record<string, Record<string, unknown[]>> };
    expect(h.t.length).toBe(3);
    expect(Object.keys(h.symbols)).toEqual(["SANDUSDT"]);
    expect(Object.keys(h.symbols.SANDUSDT!).sort()).toEqual(["cvd", "mid", "ofi_z"]);
    for (const series of Object.values(h.symbols.SANDUSDT!)) expect(series.length).toBe(3);
  });

  test("the token never appears in stderr, the run log, metrics.json, /api/status or /metrics; refused requests are logged without it", async () => {
    // metrics.json is written every 10 s and once more at exit.
    result = await c.stop();
    expect(result.exitCode).toBe(0);
    const runLogs = join(c.dir, "artifacts", "run_logs");
    const logText = readdirSync(runLogs).map((f) => readFileSync(join(runLogs, f), "utf8")).join("");
    const metricsJson = readFileSync(join(c.dir, "artifacts", "metrics.json"), "utf8");
    for (const [where, text] of Object.entries({ stderr: result.stderr, stdout: result.stdout, runLog: logText, metricsJson, statusText, metricsText })) {
      expect({ where, leaks: text.includes(TOKEN) || text.includes(WRONG) }).toEqual({ where, leaks: false });
    }
    expect(statusText.length).toBeGreaterThan(100);
    const refused = logText.split("\n").filter((l) => l.includes('"unauthorized request"'));
    expect(refused.length).toBeGreaterThan(0);
    // Rate-limited: the test sent dozens of refused requests within a few seconds.
    expect(refused.length).toBeLessThanOrEqual(3);
  });
});

describe("without a token (loopback only)", () => {
  let c: CollectorUnderTest;

  beforeAll(async () => {
    c = await startCollector({ symbols: ["SANDUSDT"] });
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  test("every endpoint answers without credentials", async () => {
    for (const path of PROTECTED) expect({ path, status: (await c.get(path)).status }).toEqual({ path, status: 200 });
  });

  test("a foreign Host header is refused (DNS rebinding); loopback names are served", async () => {
    const port = new URL(c.base).port;
    for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.1.evil.example", "192.168.1.10"]) {
      const r = await fetch(`${c.base}/api/status`, { headers: { host } });
      expect({ host, status: r.status }).toEqual({ host, status: 421 });
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "localhost", `[::1]:${port}`]) {
      const r = await fetch(`${c.base}/api/status`, { headers: { host } });
      expect({ host, status: r.status }).toEqual({ host, status: 200 });
    }
  });
});

describe("refusing to start", () => {
  for (const listen of ["0.0.0.0:18088", "[::]:18088", "192.168.1.10:18088", "example.com:18088"]) {
    test(`HTTP_LISTEN=${listen} without HTTP_TOKEN: exit 78 with a message naming the key and the fix, before binding`, async () => {
      const dir = tempDir("refuse");
      const r = await runBinary(["run", "--config", join(REPO, "config.toml")], {
        HTTP_LISTEN: listen,
        OUTPUT_DIR: join(dir, "raw"),
        PREVIEW_DIR: join(dir, "preview"),
        NDJSON_DIR: join(dir, "nd"),
        ARTIFACTS_DIR: join(dir, "art"),
        // Unreachable on purpose: the refusal must come before any connection.
        BINANCE_PUBLIC_WS: "ws://127.0.0.1:9/public",
        BINANCE_MARKET_WS: "ws://127.0.0.1:9/market",
        BINANCE_REST: "http://127.0.0.1:9",
      });
      expect(r.exitCode).toBe(78);
      expect(r.stderr).toContain(`http.listen: binding a non-loopback address (${listen}) requires http.token (HTTP_TOKEN) [env HTTP_LISTEN]`);
      expect(r.stderr).not.toContain("    at ");
      expect(r.stderr.trim().split("\n").length).toBe(2);
      // Nothing was collected, nor a folder made: a refused configuration writes nothing.
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});
