/**
 * Records of one stream reaching the store out of order (docs/scale-out.md, "The store"): what a
 * collector's catch-up or a second collector does when records published later land first. A
 * collector (the compiled binary, no NATS) logs BTCUSDT from the fake exchange; its log lines are
 * then published to a real JetStream server, as a collector publishes them (subject, Nats-Msg-Id,
 * collector header), with a run of book messages and a run of trades each published after the 150
 * records that follow them. `harvestd store` must log every trade and every book message the
 * collector logged, each once and in sequence, with no gap: none is missing from every collector.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { headers, connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { RecordAddresser } from "../../src/sinks/nats/record-address.ts";
import { COLLECTOR_HEADER } from "../../src/sinks/nats/publisher.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type RunResult } from "../helpers/binary.ts";
import { listFiles, readSymbolLines } from "../helpers/ndjson.ts";
import { natsServerAvailable, startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";
import { apiStatus, storeDrained } from "./storage-support.ts";

const SYMBOL = "BTCUSDT";
const LATE_BY = 150;

let cluster: NatsCluster;
let fx: FakeExchange;
const root = tempDir("nats-store-order");
let collectorRun: RunResult;
let storeRun: RunResult;
let published = { books: 0, trades: 0 };

/** The collector's raw-log lines of SYMBOL, as text, in log order. */
function logLines(dir: string): string[] {
  const files = listFiles(join(dir, "ndjson"), new RegExp(`symbol=${SYMBOL}/raw-\\d\\d\\.ndjson$`)).sort();
  return files.flatMap((f) => readFileSync(f, "utf8").split("\n").filter((l) => l.length > 0));
}

const isBook = (l: string) => l.includes('"stream":"btcusdt@depth') && !l.includes('"event"');
const isTrade = (l: string) => l.includes('"stream":"btcusdt@aggTrade"') && !l.includes('"event"');

/** Moves `count` lines matching `pick`, from the middle of `lines`, to after the LATE_BY lines that follow them. */
function delayRun(lines: string[], pick: (l: string) => boolean, count: number): string[] {
  const idx = lines.map((l, i) => (pick(l) ? i : -1)).filter((i) => i >= 0);
  const first = idx[Math.floor(idx.length / 2)]!;
  const run = idx.slice(idx.indexOf(first), idx.indexOf(first) + count);
  const moved = new Set(run);
  const rest = lines.filter((_, i) => !moved.has(i));
  const at = rest.indexOf(lines[run.at(-1)! + 1]!) + LATE_BY;
  return [...rest.slice(0, at), ...run.map((i) => lines[i]!), ...rest.slice(at)];
}

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error("nats-server is not installed (.ci/run installs Debian's nats-server)");
  [cluster, fx] = await Promise.all([startNatsCluster({ size: 1, name: "store-order" }), startFakeExchange({ symbols: [SYMBOL], speed: 5, recordFrames: false })]);
  const collectorPort = freePort();
  const collectorConfig = join(root, "collector.toml");
  writeFileSync(collectorConfig, `[storage]\nwrite_parquet = false\nndjson_compress = "none"\n`);
  const collector = startBinary(["run", "--config", collectorConfig], collectorEnv(fx, [SYMBOL], join(root, "collector"), collectorPort));
  await waitFor("the collector has logged books and trades", async () => {
    const s = await apiStatus(collectorPort).catch(() => undefined);
    const sym = (s?.symbols as Record<string, any>[] | undefined)?.find((x) => x.symbol === SYMBOL);
    return sym !== undefined && Number(sym.trades ?? 0) > 400 ? true : undefined;
  }, 30_000, 200);
  await Bun.sleep(2000);
  collectorRun = await collector.stop("SIGTERM");

  const config = join(root, "store.toml");
  writeFileSync(
    config,
    `[storage]\nwrite_parquet = false\nndjson_compress = "none"\n\n[publish.nats]\nservers = ${JSON.stringify(cluster.servers)}\nstream = "HARVESTD"\nsubject_prefix = "harvestd"\nreplicas = 1\nack_timeout_sec = 3\nack_wait_sec = 30\nconsumer = "store-order"\n`,
  );
  const storePort = freePort();
  const store = startBinary(["store", "--config", config], collectorEnv(fx, [SYMBOL], join(root, "store"), storePort));
  try {
    await waitFor("the store's consumer is up", async () => ((await apiStatus(storePort).catch(() => undefined))?.store?.consumer != null ? true : undefined), 20_000, 200);
    const lines = logLines(join(root, "collector"));
    const books = lines.filter(isBook);
    const trades = lines.filter(isTrade);
    let order = delayRun(lines, isBook, 20);
    order = delayRun(order, isTrade, 20);
    const moved = (pick: (l: string) => boolean) => {
      const inLog = lines.filter(pick);
      const sent = order.filter(pick);
      return sent.filter((l, i) => l !== inLog[i]).length;
    };
    published = { books: books.length, trades: trades.length };
    expect(moved(isBook)).toBeGreaterThan(0);
    expect(moved(isTrade)).toBeGreaterThan(0);
    const nc = await connect({ servers: [...cluster.servers] });
    const js = jetstream(nc);
    const addresser = new RecordAddresser("harvestd", "binance", "a");
    for (const line of order) {
      const a = addresser.address(SYMBOL, line);
      const h = headers();
      h.set(COLLECTOR_HEADER, "a");
      await js.publish(a.subject, line, { msgID: a.msgId, headers: h });
    }
    await nc.close();
    await storeDrained(storePort, order.length);
  } finally {
    storeRun = await store.stop("SIGTERM");
  }
}, 120_000);

afterAll(async () => {
  await fx?.stop();
  await cluster?.stop();
});

test("the collector and the store exit 0", () => {
  for (const r of [collectorRun, storeRun]) {
    if (r.exitCode !== 0) console.error(r.stderr.slice(-2000));
    expect(r.exitCode).toBe(0);
  }
});

test("the store logs every book message and every trade the collector logged, once each and in sequence, with no gap", () => {
  const ids = (dir: string) => {
    const lines = readSymbolLines(join(root, dir, "ndjson"), SYMBOL);
    return {
      books: lines.filter((l) => l.event === undefined && String(l.stream).includes("@depth")).map((l) => (l.data as { u: number }).u),
      trades: lines.filter((l) => (l.event === undefined || l.event === "backfill") && String(l.stream).endsWith("@aggTrade")).map((l) => (l.data as { a: number }).a),
      gaps: lines.filter((l) => l.event === "gap"),
    };
  };
  const theirs = ids("collector");
  const mine = ids("store");
  expect(theirs.books.length).toBe(published.books);
  expect(theirs.trades.length).toBe(published.trades);
  expect(mine.gaps).toEqual([]);
  expect(mine.books).toEqual(theirs.books);
  expect(mine.trades).toEqual(theirs.trades);
});

test("records keep the collector's receipt time: only those that waited for an earlier one are later", () => {
  const times = (dir: string, pick: (s: string) => boolean, id: (d: Record<string, number>) => number) =>
    new Map(
      readSymbolLines(join(root, dir, "ndjson"), SYMBOL)
        .filter((l) => l.event === undefined && pick(String(l.stream)))
        .map((l) => [id(l.data as Record<string, number>), l.ts_recv as number]),
    );
  for (const [pick, id] of [
    [(s: string) => s.endsWith("@aggTrade"), (d: Record<string, number>) => d.a!],
    [(s: string) => s.includes("@depth"), (d: Record<string, number>) => d.u!],
  ] as const) {
    const theirs = times("collector", pick, id);
    const mine = times("store", pick, id);
    let same = 0;
    for (const [k, t] of theirs) if (mine.get(k) === t) same++;
    console.log(`receipt times kept: ${same} of ${theirs.size}`);
    // The delayed run of 20, and at most the 150 records published before it, waited.
    expect(theirs.size - same).toBeLessThanOrEqual(20 + LATE_BY);
  }
});
