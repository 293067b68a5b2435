/**
 * The store with the full-depth book (docs/scale-out.md, docs/depth.md): a collector (the compiled
 * binary, Parquet off) keeps ETHUSDT's and KSMUSDT's whole books from the fake exchange's diff
 * stream and publishes its raw log to a real JetStream server; `harvestd store` with
 * `feed.depth = "full"` takes the relayed diffs, fetches its own REST snapshots, and is killed
 * (SIGKILL) and started again midway: a new session whose book must resync, and the interrupted
 * run's Parquet rebuilt from the log. Then:
 * - every book_l2 snapshot the store wrote equals the exchange's own book at the same update id, in
 *   both of its sessions;
 * - the store's log holds each diff the collector logged exactly once, and its own snapshot lines;
 * - `harvestd replay` of the store's log gives its Parquet, kind by kind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { readSymbolLines } from "../helpers/ndjson.ts";
import { natsServerAvailable, startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";
import { bookSnapshots, expectExchangeBooks } from "./depth-support.ts";
import { ALL_KINDS, apiStatus, kindRows, layout, replayRun, storeDrained, treeDifference, type Layout } from "./storage-support.ts";

const SYMBOLS = ["ETHUSDT", "KSMUSDT"];
const LEVELS = 20;
const FEED = `[feed]\ndepth = "full"\nfull_levels = ${LEVELS}\nbook_snapshot_sec = 0.5\n`;
const BOOK_L2 = ["--set", `feed.full_levels=${LEVELS}`, "--set", "feed.book_snapshot_sec=0.5"];

let cluster: NatsCluster;
let fx: FakeExchange;
const root = tempDir("nats-store-full");
let storeDir: Layout;
const storeRuns: RunResult[] = [];
let collectorRun: RunResult;
let replay: RunResult;
let replayed: Layout;
/** The store's /orderbook in its second session, with the exchange's book at the same update id. */
let orderbook: { got: Record<string, any>; want: { bids: number[][]; asks: number[][] } | undefined } | null = null;
/** The store's /api/status in its second session. */
let storeStatus: Record<string, any> = {};
/** When the store's second session began (its book_l2 rows after it come from a book synced anew). */
let restartedAtMs = 0;

function config(name: string, command: "run" | "store"): string {
  const path = join(root, `${name}.toml`);
  const nats = `[publish.nats]\nservers = ${JSON.stringify(cluster.servers)}\nstream = "HARVESTD"\nsubject_prefix = "harvestd"\nreplicas = 1\nack_timeout_sec = 2\nack_wait_sec = 10\n${command === "run" ? 'enable = true\ncollector_id = "a"\n' : 'enable = true\nconsumer = "store-full"\n'}`;
  writeFileSync(path, `[storage]\nparquet_rotate_sec = 2\norderbook_rotate_sec = 1\nndjson_compress = "none"\n${command === "run" ? "write_parquet = false\n" : ""}\n${FEED}\n${nats}`);
  return path;
}

async function bookState(port: number, symbol: string): Promise<Record<string, any> | undefined> {
  try {
    return ((await apiStatus(port)).symbols as Record<string, any>[]).find((s) => s.symbol === symbol)?.book as Record<string, any> | undefined;
  } catch {
    return undefined;
  }
}

async function synced(port: number, what: string): Promise<void> {
  for (const symbol of SYMBOLS) {
    await waitFor(`${what}: ${symbol} in sync`, async () => ((await bookState(port, symbol))?.state === "synced" ? true : undefined), 30_000, 100);
  }
}

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error("nats-server is not installed (.ci/run installs Debian's nats-server)");
  [cluster, fx] = await Promise.all([
    startNatsCluster({ size: 1, name: "store-full" }),
    startFakeExchange({ symbols: SYMBOLS, speed: 2, diffDepth: true, bookHistoryLevels: LEVELS, recordFrames: false }),
  ]);
  const collectorPort = freePort();
  const storePort = freePort();
  const storeEnv = collectorEnv(fx, SYMBOLS, join(root, "store"), storePort);
  storeDir = layout(join(root, "store"));
  const storeArgs = ["store", "--config", config("store", "store")];
  let store: Running = startBinary(storeArgs, storeEnv);
  const collector = startBinary(["run", "--config", config("collector", "run")], collectorEnv(fx, SYMBOLS, join(root, "collector"), collectorPort));
  try {
    await synced(collectorPort, "collector");
    await synced(storePort, "store, first session");
    await Bun.sleep(3000);
    // Killed, not stopped: the next start must also rebuild the interrupted run's Parquet from its log.
    storeRuns.push(await store.stop("SIGKILL"));
    await Bun.sleep(1000);
    restartedAtMs = Date.now();
    store = startBinary(storeArgs, storeEnv);
    await synced(storePort, "store, second session");
    await Bun.sleep(3000);
    storeStatus = await apiStatus(storePort);
    const got = (await (await fetch(`http://127.0.0.1:${storePort}/orderbook?symbol=ETHUSDT&levels=${LEVELS}`)).json()) as Record<string, any>;
    orderbook = { got, want: got.last_update_id == null ? undefined : fx.exchangeBookAt("ETHUSDT", got.last_update_id) };
  } finally {
    fx.silence("public", true);
    fx.silence("market", true);
    await Bun.sleep(300);
    collectorRun = await collector.stop("SIGTERM");
    // The store takes everything the collector published before it stops.
    await storeDrained(storePort);
    storeRuns.push(await store.stop("SIGTERM"));
  }
  ({ replayed, replay } = await replayRun(storeDir, join(root, "store"), BOOK_L2));
}, 150_000);

afterAll(async () => {
  await fx?.stop();
  await cluster?.stop();
});

describe("the store keeps the full book from relayed diffs", () => {
  test("the collector, the store's second session and the replay exit 0; the first was killed", () => {
    expect(storeRuns.length).toBe(2);
    expect(storeRuns[0]!.exitCode).not.toBe(0);
    for (const r of [collectorRun, storeRuns[1]!, replay]) {
      if (r.exitCode !== 0) console.error(r.stderr.slice(-2000));
      expect(r.exitCode).toBe(0);
    }
    expect(storeRuns[1]!.stderr).toContain("Parquet was rebuilt");
  });

  test("every book_l2 snapshot of the store equals the exchange's book at its update id, in both sessions", async () => {
    const snaps = await bookSnapshots(storeDir);
    expectExchangeBooks(fx, snaps, LEVELS);
    const rows = await kindRows(storeDir, "book_l2");
    for (const symbol of SYMBOLS) {
      const times = rows.filter((r) => r.symbol === symbol).map((r) => Number(r.ts_ms));
      expect(times.filter((t) => t < restartedAtMs).length).toBeGreaterThan(0);
      expect(times.filter((t) => t > restartedAtMs).length).toBeGreaterThan(0);
    }
  });

  test("the store's log holds each relayed diff once and its own snapshot lines, one or more per session", () => {
    for (const symbol of SYMBOLS) {
      const diffU = (dir: string) =>
        readSymbolLines(join(root, dir, "ndjson"), symbol)
          .filter((l) => l.event === undefined && String(l.stream).endsWith("@depth@100ms"))
          .map((l) => (l.data as { u: number }).u);
      const mine = diffU("store");
      expect(new Set(mine).size).toBe(mine.length);
      const theirs = diffU("collector");
      const mineSet = new Set(mine);
      // Every diff the collector logged while the store ran reached the store's log (the store was
      // stopped for about a second; what the collector published meanwhile waited in the stream).
      expect(theirs.filter((u) => !mineSet.has(u))).toEqual([]);
      const lines = readSymbolLines(join(root, "store", "ndjson"), symbol);
      const sessions = lines.filter((l) => l.event === "session").length;
      expect(sessions).toBe(2);
      expect(lines.filter((l) => l.event === "depth_snapshot").length).toBeGreaterThanOrEqual(sessions);
    }
  });

  test("the store's /orderbook gives its kept book, equal to the exchange's at its update id", () => {
    expect(orderbook!.got.mode).toBe("full");
    expect(orderbook!.want).toBeDefined();
    expect(orderbook!.got.bids.map((l: { px: number; qty: number }) => [l.px, l.qty])).toEqual(orderbook!.want!.bids);
    expect(orderbook!.got.asks.map((l: { px: number; qty: number }) => [l.px, l.qty])).toEqual(orderbook!.want!.asks);
  });

  test("the store does not publish, though its configuration (shared with the collector) says enable = true", () => {
    expect(storeStatus.nats).toBeNull();
    expect(storeStatus.store.collectors.a.messages).toBeGreaterThan(0);
    expect(Object.keys(storeStatus.store.collectors)).toEqual(["a"]);
  });

  test("replay of the store's log gives its Parquet, kind by kind", async () => {
    for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(storeDir, replayed, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
  });
});
