/**
 * Shared set-up of the operator-surface tests (http-*.test.ts, browser-*.test.ts): the compiled
 * binary collecting from the fake exchange into a temporary folder, with its HTTP server on a free
 * loopback port.
 */
import { join } from "node:path";
import { startFakeExchange, type FakeExchange, type FakeExchangeOptions } from "../fake-exchange/index.ts";
import { freePort, startBinary, tempDir, waitFor, REPO, type RunResult, type Running } from "../helpers/binary.ts";

export interface CollectorUnderTest {
  readonly fake: FakeExchange;
  readonly run: Running;
  /** Temporary root holding raw/, preview/, ndjson/, artifacts/. */
  readonly dir: string;
  /** http://127.0.0.1:<port> */
  readonly base: string;
  readonly token: string;
  /** GET with the bearer token when one is configured (or the given headers instead). */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** Health status code and body. */
  health(): Promise<{ status: number; body: { ok: boolean; reasons: string[] } & Record<string, unknown> }>;
  /** SIGTERM, then stops the fake exchange. */
  stop(): Promise<RunResult>;
}

export interface CollectorOptions {
  readonly symbols: readonly string[];
  readonly fake?: Omit<FakeExchangeOptions, "symbols">;
  readonly token?: string;
  /** Extra environment (overrides the defaults below). */
  readonly env?: Record<string, string>;
  /** Address the server binds (default 127.0.0.1); tests always reach it on 127.0.0.1. */
  readonly listenHost?: string;
  /** Runs on the data folder before the binary starts (e.g. to plant a fault). */
  readonly prepare?: (dir: string) => void;
  /** Extra command-line arguments after `run --config config.toml`, e.g. ["--set", "health.depth_timeout_sec=2"]. */
  readonly args?: readonly string[];
  /** The data folder of an earlier collector, to start again on it (default: a fresh one). */
  readonly dir?: string;
}

export async function startCollector(opts: CollectorOptions): Promise<CollectorUnderTest> {
  const fake = await startFakeExchange({ speed: 2, ...opts.fake, symbols: opts.symbols });
  const dir = opts.dir ?? tempDir("http");
  opts.prepare?.(dir);
  const port = freePort();
  const token = opts.token ?? "";
  const run = startBinary(["run", "--config", join(REPO, "config.toml"), ...(opts.args ?? [])], {
    SYMBOLS: opts.symbols.join(","),
    BINANCE_PUBLIC_WS: fake.publicWsBase,
    BINANCE_MARKET_WS: fake.marketWsBase,
    BINANCE_REST: fake.restBase,
    OUTPUT_DIR: join(dir, "raw"),
    PREVIEW_DIR: join(dir, "preview"),
    NDJSON_DIR: join(dir, "ndjson"),
    ARTIFACTS_DIR: join(dir, "artifacts"),
    HTTP_LISTEN: `${opts.listenHost ?? "127.0.0.1"}:${port}`,
    HTTP_TOKEN: token,
    PARQUET_ROTATE_SEC: "2",
    ORDERBOOK_ROTATE_SEC: "2",
    ...opts.env,
  });
  const base = `http://127.0.0.1:${port}`;
  const get = (path: string, headers?: Record<string, string>) =>
    fetch(base + path, { headers: headers ?? (token === "" ? {} : { authorization: `Bearer ${token}` }) });
  const health = async () => {
    const r = await get("/health", {});
    return { status: r.status, body: (await r.json()) as { ok: boolean; reasons: string[] } & Record<string, unknown> };
  };
  await waitFor("the HTTP server to answer", async () => ((await health()).status > 0 ? true : undefined), 30_000, 200);
  return {
    fake,
    run,
    dir,
    base,
    token,
    get,
    health,
    async stop() {
      const r = await run.stop("SIGTERM");
      await fake.stop();
      return r;
    },
  };
}

/** Waits until /health answers `status`, returning its body. */
export function waitForHealth(c: CollectorUnderTest, status: 200 | 503, timeoutMs = 30_000): Promise<{ ok: boolean; reasons: string[] }> {
  return waitFor(`/health ${status}`, async () => {
    const h = await c.health();
    return h.status === status ? h.body : undefined;
  }, timeoutMs, 250);
}
