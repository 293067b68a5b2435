/**
 * The store's /health tells the truth about storing (docs/scale-out.md, "The store"): a real 3-node
 * JetStream cluster on 127.0.0.1, one collector (the compiled binary) publishing to it from the fake
 * exchange, and `harvestd store` processes. /health fails, naming why, and the log says so, when
 * the store cannot reach NATS from its start, when two of three nodes are down (no quorum: nothing
 * stored), and when every collector has gone silent; the node leading the store's consumer dying
 * stalls it for seconds, not the 40 s and more it did; a second store on the same consumer is refused
 * at start; an error once over is no longer the current one; a store configured to trade is told
 * that the store does not trade. `health.depth_timeout_sec = 6` (the store's quiet limit) keeps it short.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DeliverPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { hostname } from "node:os";
import { CONSUMER_LEASE_BUCKET } from "../../src/pipeline/store/consumer.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { collectorEnv, freePort, runBinary, startBinary, tempDir, waitFor, type RunResult, type Running } from "../helpers/binary.ts";
import { natsServerAvailable, startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.ts";

const SYMBOLS = ["BTCUSDT", "SANDUSDT"];
let cluster: NatsCluster;
let fake: FakeExchange;
const root = tempDir("nats-store-health");
const running: Running[] = [];

interface Proc {
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly port: number;
}

function proc(name: string, command: "run" | "store", toml: string): Proc {
  const config = join(root, `${name}.toml`);
  writeFileSync(config, `[storage]\nndjson_compress = "none"\n${command === "run" ? "write_parquet = false\n" : ""}\n[health]\ndepth_timeout_sec = 6\n\n${toml}`);
  const port = freePort();
  return { args: [command, "--config", config], env: collectorEnv(fake, SYMBOLS, join(root, name), port), port };
}

function natsToml(servers: readonly string[], extra: string): string {
  return `[publish.nats]\nservers = ${JSON.stringify(servers)}\nstream = "HARVESTD"\nsubject_prefix = "harvestd"\nreplicas = 3\nack_timeout_sec = 3\n${extra}\n`;
}

function start(p: Proc): Running {
  const r = startBinary(p.args, p.env);
  running.push(r);
  return r;
}

async function get(p: Proc, path: string): Promise<{ status: number; body: Record<string, any> } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${p.port}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  } catch {
    return undefined;
  }
}

/** Resolves with /health's reasons once one of them matches. */
const unhealthy = (p: Proc, re: RegExp, timeoutMs: number) =>
  waitFor(`/health failing with ${re}`, async () => {
    const h = await get(p, "/health");
    return h?.status === 503 && (h.body.reasons as string[]).some((r) => re.test(r)) ? (h.body.reasons as string[]) : undefined;
  }, timeoutMs, 250);

let collector: Proc;
let store: Proc;
let lonely: Proc;
let collectorRun: Running;
let storeRun: Running;
let lonelyRun: Running;
let lonelyStatus: Record<string, any> | undefined;
/** The node that led the store's consumer (killed first). */
let leader = 0;

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error("nats-server is not installed (.ci/run installs Debian's nats-server)");
  [cluster, fake] = await Promise.all([startNatsCluster(), startFakeExchange({ symbols: SYMBOLS, speed: 5, recordFrames: false })]);
  // A store that cannot reach NATS at all (nothing listens on port 1).
  lonely = proc("lonely", "store", natsToml(["nats://127.0.0.1:1"], `consumer = "lonely"`));
  collector = proc("collector", "run", natsToml(cluster.servers, `enable = true\ncollector_id = "a"`));
  store = proc("store", "store", natsToml(cluster.servers, `consumer = "main"`));
  lonelyRun = start(lonely);
  collectorRun = start(collector);
  storeRun = start(store);
}, 60_000);

afterAll(async () => {
  for (const r of running) if (r.proc.exitCode === null) await r.stop("SIGKILL");
  await fake?.stop();
  await cluster?.stop();
  if (process.env.HARVESTD_KEEP_TEST_DIRS !== "1") rmSync(root, { recursive: true, force: true });
});

const NO_QUORUM = /^store: (not connected to nats|no answer from the stream|received nothing|stream or consumer not ready)/;

test("a store configured to trade is refused because the store does not trade", async () => {
  const trading = proc("trading", "store", `[trade]\nenable = true\n\n${natsToml(cluster.servers, "")}`);
  const t = await runBinary(trading.args, trading.env);
  expect(t.exitCode).toBe(78);
  expect(t.stderr).toContain("trade.enable: the store does not trade");
  expect(t.stderr).not.toContain("needs at least one symbol");
});

test("a store given credentials in a server URL is refused, naming the address without them", async () => {
  const withPassword = proc("url-credentials", "store", natsToml(["nats://harvest:s3cr3t-pw@127.0.0.1:1"], `consumer = "lonely"`));
  const t = await runBinary(withPassword.args, withPassword.env);
  expect(t.stderr).not.toContain("s3cr3t-pw");
  expect({ code: t.exitCode, line: t.stderr.trim().split("\n").at(-1) }).toEqual({ code: 78, line: "harvestd: store: servers[0] (nats://127.0.0.1:1): credentials in a server URL are not used; set NATS_USER and NATS_PASSWORD (or NATS_CREDS) in the environment instead" });
});

test("a store that cannot reach NATS serves /health at once, failing and naming NATS", async () => {
  expect(await unhealthy(lonely, /^store: not connected to nats for \d+ s/, 20_000)).toBeDefined();
  lonelyStatus = await waitFor("the store names what is wrong with its address", async () => {
    const st = (await get(lonely, "/api/status"))?.body;
    return typeof st?.store?.nats?.last_error === "string" && st.store.nats.last_error.includes("refused") ? st : undefined;
  }, 15_000, 250);
  // Its log is read at the end (the health log looks every 5 s).
}, 40_000);

test("a second store on the same consumer is refused at start, naming the consumer", async () => {
  await waitFor("store receiving trades", async () => {
    const s = (await get(store, "/api/status"))?.body;
    return s !== undefined && (s.symbols as { trades: number }[]).reduce((a, x) => a + x.trades, 0) > 20 ? true : undefined;
  }, 40_000, 250);
  const dupe = proc("dupe", "store", natsToml(cluster.servers, `consumer = "main"`));
  const dupeRun = start(dupe);
  const exit = await Promise.race([dupeRun.proc.exited, Bun.sleep(20_000).then(() => "still running")]);
  const out = await dupeRun.stop("SIGKILL");
  expect({ exit, named: /consumer main on stream HARVESTD is in use by another store/.test(out.stderr) }).toEqual({ exit: 78, named: true });
}, 70_000);

test("a store whose lease the cluster forgot is still refused: the running store's pull requests show the consumer read", async () => {
  // The lease names the newcomer, as if the cluster had lost the running store's (seen after two of
  // three nodes died and came back): only the consumer's waiting pull requests can tell.
  await waitFor("store receiving", async () => ((await received()) > 20 ? true : undefined), 40_000, 250);
  const dupe = proc("dupe2", "store", natsToml(cluster.servers, `consumer = "main"`));
  const nc = await connect({ servers: [...cluster.servers] });
  try {
    const kv = await new Kvm(nc).open(CONSUMER_LEASE_BUCKET);
    await kv.put("HARVESTD.main", `${hostname()}:${dupe.env.NDJSON_DIR}`);
  } finally {
    await nc.close();
  }
  const before = await received();
  const dupeRun = start(dupe);
  const exit = await Promise.race([dupeRun.proc.exited, Bun.sleep(40_000).then(() => "still running")]);
  const out = await dupeRun.stop("SIGKILL");
  expect({ exit, named: out.stderr.includes("consumer main on stream HARVESTD is in use by another store (its pull requests keep coming: another process reads it)") }).toEqual({ exit: 78, named: true });
  // The running store read on, its consumer untouched.
  await waitFor("the store receiving on", async () => ((await received()) > before + 20 ? true : undefined), 20_000, 250);
  expect((await get(store, "/api/status"))?.body.store?.nats?.lost_consumer ?? null).toBeNull();
}, 90_000);

const received = async (): Promise<number> => (await get(store, "/api/status"))?.body.store?.counters?.messages ?? 0;

test("a running store whose consumer is recreated under it stops reading it and says so", async () => {
  const third = proc("third", "store", natsToml(cluster.servers, `consumer = "third"`));
  const thirdRun = start(third);
  try {
    await waitFor("the third store receiving", async () => (((await get(third, "/api/status"))?.body.store?.counters?.messages ?? 0) > 20 ? true : undefined), 40_000, 250);
    // What a second store does on finding unacknowledged messages: the consumer again, at its floor.
    const nc = await connect({ servers: [...cluster.servers] });
    try {
      const jsm = await jetstreamManager(nc);
      const ci = await jsm.consumers.info("HARVESTD", "third");
      await jsm.consumers.delete("HARVESTD", "third");
      await jsm.consumers.add("HARVESTD", { ...ci.config, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: ci.ack_floor.stream_seq + 1 });
    } finally {
      await nc.close();
    }
    expect(await unhealthy(third, /^store: consumer third on stream HARVESTD: it was recreated under this store \(delivery sequence \d+ after \d+\) by another process/, 20_000)).toBeDefined();
  } finally {
    await thirdRun.stop("SIGKILL");
  }
}, 70_000);

test("the node leading the store's consumer dies: the store goes on receiving within 20 s (it stalled 40 s and more)", async () => {
  const nc = await connect({ servers: [...cluster.servers] });
  try {
    const name = await waitFor("consumer leader", async () => (await (await jetstreamManager(nc)).consumers.info("HARVESTD", "main")).cluster?.leader);
    leader = cluster.nodes.findIndex((n) => n.name === name);
  } finally {
    await nc.close();
  }
  await cluster.kill(leader);
  // While the cluster elects and the store reconnects, what it received then must grow again.
  await Bun.sleep(3000);
  const before = await received();
  const t0 = Date.now();
  await waitFor("the store receiving again", async () => ((await received()) > before + 20 ? true : undefined), 20_000, 250);
  expect(Date.now() - t0).toBeLessThan(20_000);
}, 40_000);

test("two of three NATS nodes down: /health fails naming it; once back, healthy and the error is no longer current", async () => {
  const other = [0, 1, 2].find((i) => i !== leader)!;
  await cluster.kill(other);
  expect(await unhealthy(store, NO_QUORUM, 30_000)).toBeDefined();
  // One look of the health log (every 5 s) while the outage lasts: the last test reads it from the log,
  // and /health, polled every 250 ms, can see the reason before the log's next look does.
  await Bun.sleep(5500);
  await cluster.restart(leader);
  await cluster.restart(other);
  let last: unknown;
  await waitFor("store healthy again", async () => {
    const h = await get(store, "/health");
    last = [h?.body, (await get(store, "/api/status"))?.body.store?.nats];
    return h?.status === 200 ? true : undefined;
  }, 45_000, 250).catch((e: Error) => {
    throw new Error(`${e.message}; last /health and store.nats: ${JSON.stringify(last)}`);
  });
  // The error stops being current once consuming works again: at the next message, which may come
  // a moment after /health turned (a missed heartbeat during the outage is cleared by it).
  const lastError = await waitFor("no current error", async () => {
    const e = (await get(store, "/api/status"))?.body.store.nats.last_error;
    return e === null ? null : undefined;
  }, 10_000, 250).catch(() => (get(store, "/api/status").then((r) => r?.body.store.nats.last_error)));
  expect(lastError).toBeNull();
}, 90_000);

test("every collector silent: /health fails naming it; the log has each unhealthy turn", async () => {
  const c = await collectorRun.stop("SIGTERM");
  expect(c.exitCode).toBe(0);
  expect(await unhealthy(store, /^store: every collector silent for \d+ s or more \(a\)/, 20_000)).toBeDefined();
  await Bun.sleep(5500); // one look of the health log (every 5 s)
  const s = await storeRun.stop("SIGTERM");
  expect(s.exitCode).toBe(0);
  expect(s.stderr).toMatch(/"msg":"unhealthy","reasons":\[[^\]]*store: (not connected to nats|no answer from the stream|received nothing|stream or consumer not ready)/);
  expect(s.stderr).toMatch(/"msg":"unhealthy","reasons":\[[^\]]*store: every collector silent/);
}, 40_000);

test("the store that could not reach NATS logged it: retrying, and unhealthy", async () => {
  const out = await lonelyRun.stop("SIGTERM");
  expect(out.exitCode).toBe(0);
  expect(out.stderr).toContain("store: cannot reach nats; retrying");
  expect(out.stderr).toMatch(/"level":"warn","msg":"unhealthy","reasons":\["store: not connected to nats/);
  // What is wrong with the address is named; its credentials never appear.
  expect(out.stderr).toContain("127.0.0.1:1: connection refused (nothing listens on port 1)");
  expect(lonelyStatus?.store?.nats?.last_error).toContain("connection refused");
}, 40_000);
