/**
 * Scale-out end to end (docs/scale-out.md): a real 3-node JetStream cluster on 127.0.0.1, two
 * collectors (the compiled binary) on the same symbols against the fake exchange, publishing to it
 * with their own Parquet off, and one `harvestd store`. Collector A starts first but reaches NATS
 * after B has begun publishing. Faults in sequence: collector A SIGKILLed and
 * restarted, one NATS node killed and restarted, the store SIGKILLed and restarted, collector A cut
 * off from NATS for 20 s. Afterwards the store's prices Parquet holds every trade id the exchange
 * produced in the run's span exactly once, and every kind of the store's Parquet equals a replay of
 * the store's NDJSON log.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, REPO, runBinary, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { query, hive } from "../helpers/duckdb.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { natsServerAvailable, startNatsCluster, startTcpProxy, type NatsCluster, type TcpProxy } from "../helpers/nats-cluster.ts";
import { ALL_KINDS, layout, treeDifference } from "./storage-support.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT"];
const OUTAGE_MS = 20_000;

let cluster: NatsCluster;
let fake: FakeExchange;
const root = tempDir("nats-scale-out");

interface Proc {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly port: number;
  run: Running | null;
  readonly outputs: RunResult[];
}

function natsToml(servers: readonly string[], extra: string): string {
  return `[publish.nats]\nservers = ${JSON.stringify(servers)}\nstream = "HARVESTD"\nsubject_prefix = "harvestd"\nreplicas = 3\nack_timeout_sec = 3\nack_wait_sec = 10\n${extra}\n`;
}

function proc(name: string, command: "run" | "store", toml: string): Proc {
  const dir = join(root, name);
  const config = join(root, `${name}.toml`);
  writeFileSync(config, `[storage]\nparquet_rotate_sec = 5\norderbook_rotate_sec = 5\nndjson_compress = "none"\n${command === "run" ? "write_parquet = false\n" : ""}\n${toml}`);
  const port = freePort();
  return { name, args: [command, "--config", config], env: collectorEnv(fake, SYMBOLS, dir, port), port, run: null, outputs: [] };
}

function start(p: Proc): void {
  p.run = startBinary(p.args, p.env);
}

async function stop(p: Proc, signal: NodeJS.Signals): Promise<RunResult> {
  const r = await p.run!.stop(signal);
  p.run = null;
  p.outputs.push(r);
  return r;
}

async function status(p: Proc): Promise<Record<string, any> | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${p.port}/api/status`);
    return r.ok ? ((await r.json()) as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

const storeTrades = async (p: Proc): Promise<number> => {
  const s = await status(p);
  return s === undefined ? 0 : (s.symbols as { trades: number }[]).reduce((a, x) => a + x.trades, 0);
};

/** Diagnosis of a failure: ids stored more than once, with their sequences and publishers. */
async function repeatedIds(nc: import("@nats-io/transport-node").NatsConnection, subject: string): Promise<unknown[]> {
  const { AckPolicy, jetstream } = await import("@nats-io/jetstream");
  // One filter subject (nats-server 2.9 has no filter_subjects).
  const ci = await (await jetstreamManager(nc)).consumers.add("HARVESTD", { filter_subject: subject, ack_policy: AckPolicy.None, inactive_threshold: 60e9 });
  const c = await jetstream(nc).consumers.get("HARVESTD", ci.name);
  const seen = new Map<string, { seq: number; by: string; at: string }[]>();
  const info = await c.info();
  let left = info.num_pending;
  while (left > 0) {
    const batch = await c.fetch({ max_messages: Math.min(left, 1000), expires: 2000 });
    for await (const m of batch) {
      left--;
      const id = m.headers?.get("Nats-Msg-Id") ?? "?";
      const list = seen.get(id) ?? [];
      list.push({ seq: m.seq, by: m.headers?.get("Harvestd-Collector") ?? "?", at: new Date(m.info.timestampNanos / 1e6).toISOString() });
      seen.set(id, list);
    }
  }
  return [...seen].filter(([, l]) => l.length > 1).slice(0, 8);
}

/** An exit code with the end of stderr when it is not 0 (the failure says why). */
const exit = (r: RunResult) => ({ code: r.exitCode, stderr: r.exitCode === 0 ? "" : r.stderr.slice(-1500) });

/** Every trade id in the two collectors' own NDJSON logs (data and backfill lines). */
function collectorTradeIds(symbol: string): Set<number> {
  const ids = new Set<number>();
  for (const c of ["collector-a", "collector-b"]) {
    for (const f of listFiles(join(root, c, "ndjson"), new RegExp(`symbol=${symbol}/raw-\\d{2}\\.ndjson$`))) {
      for (const line of readFileSync(f, "utf8").split("\n")) {
        const m = /"a":(\d+)[,}]/.exec(line);
        if (m !== null && line.includes("@aggTrade")) ids.add(Number(m[1]));
      }
    }
  }
  return ids;
}

let proxies: TcpProxy[] = [];
let a: Proc;
let b: Proc;
let store: Proc;

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error("nats-server is not installed (.ci/run installs Debian's nats-server)");
  [cluster, fake] = await Promise.all([startNatsCluster(), startFakeExchange({ symbols: SYMBOLS, speed: 8, recordFrames: false })]);
  proxies = await Promise.all(cluster.nodes.map((n) => startTcpProxy(n.clientPort)));
  // A reaches NATS only through the proxies (so the test can cut it off); B and the store directly.
  a = proc("collector-a", "run", natsToml(proxies.map((x) => x.url), `enable = true\ncollector_id = "a"\ndiscover_servers = false`));
  b = proc("collector-b", "run", natsToml(cluster.servers, `enable = true\ncollector_id = "b"`));
  store = proc("store", "store", natsToml(cluster.servers, `consumer = "store-test"`));
}, 90_000);

afterAll(async () => {
  for (const p of [a, b, store]) if (p?.run) await p.run.stop("SIGKILL");
  for (const x of proxies) x.stop();
  await fake?.stop();
  await cluster?.stop();
  // HARVESTD_KEEP_TEST_DIRS=1 keeps the collectors' and the store's folders for a post-mortem.
  if (process.env.HARVESTD_KEEP_TEST_DIRS !== "1") rmSync(root, { recursive: true, force: true });
});

test("two collectors and a store through faults: every trade id exactly once, Parquet = replay of the log", async () => {
  // The collectors start at their own moments and reach NATS at their own speed: A collects first
  // but gets through to NATS only after B has begun publishing the later trades. The store must
  // still begin at A's first trade, not drop A's earlier ones as old.
  start(store);
  for (const x of proxies) x.cut();
  start(a);
  await waitFor("A collecting", async () => ((await status(a))?.symbols?.some((s: { trades: number }) => s.trades > 0) ? true : undefined), 20_000, 100);
  await Bun.sleep(1000);
  start(b);
  await waitFor("B collecting", async () => ((await status(b))?.symbols?.some((s: { trades: number }) => s.trades > 0) ? true : undefined), 20_000, 100);
  await Bun.sleep(1000);
  for (const x of proxies) x.restore();
  await waitFor("store receiving trades", async () => ((await storeTrades(store)) > 50 ? true : undefined), 40_000, 250);

  // Collector A dies without a word and comes back.
  await Bun.sleep(3000);
  await stop(a, "SIGKILL");
  await Bun.sleep(3000);
  start(a);

  // One NATS node dies (stream replicas 3: the other two keep a quorum) and comes back.
  await Bun.sleep(4000);
  await cluster.kill(0);
  await Bun.sleep(6000);
  await cluster.restart(0);

  // The store dies without a word while busy (a backlog built up while it was paused: records are
  // being applied, written and acknowledged at full speed) and comes back: resumes without loss or
  // duplicates.
  await Bun.sleep(2000);
  store.run!.proc.kill("SIGSTOP");
  await Bun.sleep(4000);
  store.run!.proc.kill("SIGCONT");
  await Bun.sleep(150);
  await stop(store, "SIGKILL");
  await Bun.sleep(2000);
  start(store);

  // A loses NATS for 20 s while it keeps collecting; then it publishes what it missed from its log.
  await Bun.sleep(3000);
  for (const x of proxies) x.cut();
  await Bun.sleep(OUTAGE_MS);
  const aDuring = await status(a);
  for (const x of proxies) x.restore();
  await waitFor("collector A caught up", async () => {
    const n = (await status(a))?.nats;
    return n?.connected && n.mode === "live" && n.behindSymbols === 0 && n.inFlight === 0 ? true : undefined;
  }, 60_000, 250);
  await Bun.sleep(2000);

  // Clean stop: collectors first, then the store once it has everything.
  const ra = await stop(a, "SIGTERM");
  const rb = await stop(b, "SIGTERM");
  expect(exit(ra)).toEqual({ code: 0, stderr: "" });
  expect(exit(rb)).toEqual({ code: 0, stderr: "" });
  await waitFor("store drained the stream", async () => {
    const s = await status(store);
    return s?.store?.consumer?.pending === 0 && s.store.consumer.unacked_here === 0 ? s : undefined;
  }, 30_000, 250);
  const finalStatus = (await status(store))!;
  const rs = await stop(store, "SIGTERM");
  expect(exit(rs)).toEqual({ code: 0, stderr: "" });

  // While cut off, A knew it was behind; both collectors' records arrived at the store.
  expect(aDuring?.nats?.connected).toBe(false);
  expect(Object.keys(finalStatus.store.collectors).sort()).toEqual(["a", "b"]);
  // Some collector had every trade: the restarted store never had to ask the exchange (a record
  // acknowledged before its line was on disk would have left a hole after the restart).
  const t = finalStatus.totals;
  expect({ backfills: t.backfills, gaps: t.tradeGaps, missing: t.missingTradeIds }).toEqual({ backfills: 0, gaps: 0, missing: 0 });
  // The store watches the wall clock as the collector does (docs/feed.md "When the clock steps"); it did not step here.
  expect(t.clock_steps).toBe(0);

  const L = layout(join(root, "store"));
  // Every trade id of the span the store covers, exactly once, matching what the exchange produced.
  for (const symbol of SYMBOLS) {
    const rows = await query(
      `SELECT agg_trade_id AS a, count(*) AS n FROM ${hive(join(L.raw, "*", `symbol=${symbol}`, "kind=prices", "*.parquet"))} GROUP BY 1 ORDER BY 1`,
    );
    const ids = rows.map((r) => Number(r.a));
    expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    // From the first trade either collector logged to the last: each produced id, once.
    const seen = collectorTradeIds(symbol);
    const lo = Math.min(...seen);
    const hi = Math.max(...seen);
    const produced = fake.producedTrades(symbol).map((t) => t.a).filter((x) => x >= lo && x <= hi);
    expect(produced.length).toBe(hi - lo + 1);
    expect({ symbol, first: ids[0], last: ids[ids.length - 1], count: ids.length }).toEqual({ symbol, first: lo, last: hi, count: hi - lo + 1 });
    expect(ids).toEqual(produced);
    expect(ids.length).toBeGreaterThan(100);
  }

  // JetStream kept one message per trade id (Nats-Msg-Id from `a`): both collectors' copies, the
  // catch-up after A's outage and A's republish after its restart were all recognised as duplicates.
  const nc = await connect({ servers: [...cluster.servers] });
  try {
    const info = await (await jetstreamManager(nc)).streams.info("HARVESTD", { subjects_filter: "harvestd.binance.*.aggTrade" });
    for (const symbol of SYMBOLS) {
      const [r] = await query(`SELECT count(*) AS n FROM ${hive(join(L.raw, "*", `symbol=${symbol}`, "kind=prices", "*.parquet"))}`);
      const messages = info.state.subjects?.[`harvestd.binance.${symbol}.aggTrade`];
      if (messages !== Number(r!.n)) console.error(symbol, "repeated ids in the stream:", await repeatedIds(nc, `harvestd.binance.${symbol}.aggTrade`));
      expect({ symbol, messages }).toEqual({ symbol, messages: Number(r!.n) });
    }
  } finally {
    await nc.close();
  }

  // The store's Parquet, every kind, equals a replay of its NDJSON log.
  const out = join(root, "replayed");
  const rep = await runBinary(["replay", L.ndjson, "--out", out, "--config", join(REPO, "config.toml")], { ARTIFACTS_DIR: join(out, "artifacts") });
  expect(exit(rep)).toEqual({ code: 0, stderr: "" });
  const R = { raw: join(out, "raw"), preview: join(out, "preview"), ndjson: "", artifacts: "" };
  for (const kind of ALL_KINDS) expect({ kind, ...(await treeDifference(L, R, kind)) }).toEqual({ kind, onlyA: 0, onlyB: 0 });
}, 240_000);
