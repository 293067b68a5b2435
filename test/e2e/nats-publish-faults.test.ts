/**
 * The compiled collector's publisher under the failures of docs/scale-out.md ("Failure modes"), with
 * real nats-server processes and the fake exchange:
 * - JetStream without quorum (two of three nodes killed) while the collector stays connected to the
 *   third: publishing backs off (a handful of failed publishes, not one per record per round, and
 *   little CPU), and once the nodes are back every logged trade is in the stream exactly once, in log
 *   order per symbol, with `caughtUp` about the outage's records and `lastError` cleared;
 * - a stream the server refuses as configured (replicas on a single server, subjects another stream
 *   takes): exit 78 at start with one line naming the key and the server's answer;
 * - wrong server addresses (nothing listening, a name that does not resolve, an HTTP server): the log
 *   and the status name each address and what is wrong with it, never the URL's credentials.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { listFiles } from "../helpers/ndjson.ts";
import { natsServerAvailable, startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";

const SYMBOLS = ["BTCUSDT", "ETHUSDT"];
let fake: FakeExchange;
const running: Running[] = [];
const clusters: NatsCluster[] = [];

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error("nats-server is not installed (.ci/run installs Debian's nats-server)");
  fake = await startFakeExchange({ symbols: SYMBOLS, speed: 5, recordFrames: false });
});

afterAll(async () => {
  for (const r of running) await r.stop("SIGKILL").catch(() => {});
  for (const c of clusters) await c.stop();
  await fake?.stop();
});

function collector(name: string, natsToml: string, command: "run" | "store" = "run"): { run: Running; port: number; dir: string } {
  const dir = tempDir(`nats-faults-${name}`);
  const config = join(dir, "config.toml");
  const who = command === "run" ? `collector_id = "${name}"` : `consumer = "${name}"`;
  writeFileSync(config, `[storage]\n${command === "run" ? "write_parquet = false\n" : ""}ndjson_compress = "none"\n\n[publish.nats]\nenable = true\n${who}\n${natsToml}\n`);
  const port = freePort();
  const run = startBinary([command, "--config", config], collectorEnv(fake, SYMBOLS, dir, port));
  running.push(run);
  return { run, port, dir };
}

async function natsStatus(port: number): Promise<Record<string, any> | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/status`);
    return r.ok ? (((await r.json()) as Record<string, any>).nats as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

async function health(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/health`).then((r) => r.text(), () => "");
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Trade ids of `symbol` in the collector's log, in log order. */
function loggedTradeIds(dir: string, symbol: string): number[] {
  const out: number[] = [];
  for (const f of listFiles(join(dir, "ndjson"), new RegExp(`symbol=${symbol}/raw-\\d{2}\\.ndjson$`)).sort()) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const m = /"a":(\d+)[,}]/.exec(line);
      if (m !== null && line.includes("@aggTrade")) out.push(Number(m[1]));
    }
  }
  return out;
}

/** Lines of the collector's log (every symbol, every kind) with `ts_recv` in [fromMs, toMs). */
function loggedLinesBetween(dir: string, fromMs: number, toMs: number): number {
  let n = 0;
  for (const f of listFiles(join(dir, "ndjson"), /raw-\d{2}\.ndjson$/)) {
    for (const line of readFileSync(f, "utf8").split("\n")) {
      const ts = Number(/^\{"ts_recv":(\d+)/.exec(line)?.[1]);
      if (ts >= fromMs && ts < toMs) n++;
    }
  }
  return n;
}

/** Trade ids of `symbol` in the stream, in stream order. */
async function streamTradeIds(servers: readonly string[], symbol: string): Promise<number[]> {
  const nc = await connect({ servers: [...servers] });
  try {
    const jsm = await jetstreamManager(nc);
    const ci = await jsm.consumers.add("HARVESTD", { filter_subject: `harvestd.binance.${symbol}.aggTrade`, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: 60e9 });
    const c = await jetstream(nc).consumers.get("HARVESTD", ci.name);
    let left = ci.num_pending;
    const ids: number[] = [];
    while (left > 0) {
      const batch = await c.fetch({ max_messages: Math.min(left, 2000), expires: 3000 });
      for await (const m of batch) {
        left--;
        ids.push(Number(/\.(\d+)$/.exec(m.headers?.get("Nats-Msg-Id") ?? "")?.[1]));
      }
    }
    return ids;
  } finally {
    await nc.close();
  }
}

test("no JetStream quorum: publishing backs off, then every logged trade lands once, in log order; lastError is cleared", async () => {
  const cluster = await startNatsCluster();
  clusters.push(cluster);
  const c = collector("q", `servers = ${JSON.stringify(cluster.servers)}\nreplicas = 3\nack_timeout_sec = 2`);
  await waitFor("publishing live", async () => {
    const s = await natsStatus(c.port);
    return s?.mode === "live" && s.acked > 50 ? s : undefined;
  }, 30_000, 250);
  // Keep the node the collector is connected to; kill the two others (no quorum, connection up).
  const s0 = (await natsStatus(c.port))!;
  const keep = cluster.nodes.findIndex((n) => String(s0.server).endsWith(`:${n.clientPort}`));
  expect(keep).toBeGreaterThanOrEqual(0);
  const killed = [0, 1, 2].filter((i) => i !== keep);
  const cpu0 = cpuSeconds(c.run.proc.pid);
  const t0 = performance.now();
  const killedAt = Date.now();
  for (const i of killed) await cluster.kill(i);
  await Bun.sleep(12_000);
  const during = (await natsStatus(c.port))!;
  const duringAt = Date.now();
  const cpuShare = (cpuSeconds(c.run.proc.pid) - cpu0) / ((performance.now() - t0) / 1000);
  for (const i of killed) await cluster.restart(i);
  const after = await waitFor("caught up", async () => {
    const s = await natsStatus(c.port);
    return s?.mode === "live" && s.behindSymbols === 0 && s.inFlight === 0 && s.acked > during.acked ? s : undefined;
  }, 40_000, 250);
  const caughtUpAt = Date.now();
  await Bun.sleep(1000);
  const r = await c.run.stop("SIGTERM");
  expect(r.exitCode).toBe(0);
  // Records logged since shortly before the outage (those still queued or in flight then may fail too), up to when it had caught up.
  const outageRecords = loggedLinesBetween(c.dir, killedAt - 10_000, caughtUpAt);
  console.log(JSON.stringify({ during: { failed: during.failed, caughtUp: during.caughtUp, published: during.published, mode: during.mode, lastError: during.lastError }, after: { failed: after.failed, caughtUp: after.caughtUp, published: after.published, lastError: after.lastError }, cpuShare, outageRecords }));
  // Backoff: the publishes in flight when the quorum went (up to ack_timeout_sec of records), then
  // a few single-record tries in 12 s, each record counted once however often it was tried: never
  // more than the records logged so far (the build before counted every try of every round: 61,210).
  expect(during.mode).toBe("behind");
  expect(during.failed).toBeLessThanOrEqual(loggedLinesBetween(c.dir, killedAt - 10_000, duringAt));
  expect(cpuShare).toBeLessThan(0.3);
  // Caught up: the records logged since the outage began (and up to 10 s before: queued or in flight
  // then), about once each. Records whose first publish landed but whose answer was lost are sent
  // again and acknowledged as duplicates, hence the margin (9,688 for 9,629 in one CI run); the build
  // before re-sent the whole outage every round (970,751 for ≈ 22,000).
  expect(after.caughtUp).toBeLessThanOrEqual(outageRecords * 1.25);
  expect(after.lastError).toBeNull();
  // Every logged trade is in the stream once, in log order.
  for (const symbol of SYMBOLS) {
    const logged = loggedTradeIds(c.dir, symbol);
    const stream = await streamTradeIds(cluster.servers, symbol);
    expect(new Set(stream).size).toBe(stream.length);
    expect([...new Set(logged)].sort((x, y) => x - y)).toEqual([...stream].sort((x, y) => x - y));
    const pos = new Map(logged.map((id, i) => [id, i]));
    let inversions = 0;
    for (let i = 1; i < stream.length; i++) if (pos.get(stream[i]!)! < pos.get(stream[i - 1]!)!) inversions++;
    expect({ symbol, inversions }).toEqual({ symbol, inversions: 0 });
  }
}, 120_000);

/** Waits at most `ms` for the process to end; null when it is still running (then it is killed). */
async function exitWithin(run: Running, ms: number): Promise<RunResult | null> {
  const ended = await Promise.race([run.proc.exited.then(() => true), Bun.sleep(ms).then(() => false)]);
  const r = await run.stop(ended ? "SIGTERM" : "SIGKILL");
  return ended ? r : null;
}

test("a stream the server refuses as configured is refused at start (exit 78), naming the key and the server's answer", async () => {
  const single = await startNatsCluster({ size: 1 });
  clusters.push(single);
  const nc = await connect({ servers: [...single.servers] });
  await (await jetstreamManager(nc)).streams.add({ name: "HARVESTD", subjects: ["harvestd.>"] });
  await nc.close();
  const cases = [
    { toml: `stream = "OTHER"\nreplicas = 1`, line: `harvestd: publish.nats: stream = "OTHER" with subject_prefix = "harvestd" refused by the server: subjects overlap with an existing stream (JetStream error 10065)` },
    { toml: `stream = "R3"\nsubject_prefix = "r3"\nreplicas = 3`, line: "harvestd: publish.nats: replicas = 3 refused by the server: replicas > 1 not supported in non-clustered mode (JetStream error 10074)" },
  ];
  const results = await Promise.all(cases.map((x, i) => exitWithin(collector(`refused${i}`, `servers = ${JSON.stringify(single.servers)}\n${x.toml}`).run, 15_000)));
  for (const [i, r] of results.entries()) {
    expect({ case: i, exit: r?.exitCode ?? "still running after 15 s" }).toEqual({ case: i, exit: 78 });
    expect(r!.stderr).toContain(cases[i]!.line);
  }
  // The store meets the same refusals the same way (it had retried them forever, without its HTTP surface).
  const stores = await Promise.all(cases.map((x, i) => exitWithin(collector(`store-refused${i}`, `servers = ${JSON.stringify(single.servers)}\n${x.toml}`, "store").run, 15_000)));
  for (const [i, r] of stores.entries()) {
    expect({ store: i, exit: r?.exitCode ?? "still running after 15 s" }).toEqual({ store: i, exit: 78 });
    expect(r!.stderr).toContain(cases[i]!.line.replace("harvestd: publish.nats: ", "harvestd: store: "));
  }
}, 60_000);

test("wrong server addresses are named in the log, the status and /health", async () => {
  const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("not nats") });
  try {
    const servers = ["nats://127.0.0.1:1", "nats://nats-nope.invalid:4222", `nats://127.0.0.1:${http.port}`];
    const c = collector("wrong", `servers = ${JSON.stringify(servers)}\nreplicas = 1`);
    const want = ["nats://127.0.0.1:1: connection refused", "nats://nats-nope.invalid:4222: name not resolved", `nats://127.0.0.1:${http.port}: not a NATS server`];
    const s = await waitFor("lastError naming every address", async () => {
      const x = await natsStatus(c.port);
      return typeof x?.lastError === "string" && want.every((w) => x.lastError.includes(w)) ? x : undefined;
    }, 20_000, 250);
    expect(s.connected).toBe(false);
    const h = await waitFor("/health naming the addresses", async () => {
      const t = await health(c.port);
      return want.every((w) => t.includes(w)) ? t : undefined;
    }, 20_000, 500);
    const r = await c.run.stop("SIGTERM");
    const out = r.stdout + r.stderr;
    expect(out).toContain("nats://127.0.0.1:1: connection refused");

  } finally {
    http.stop(true);
  }
}, 60_000);
