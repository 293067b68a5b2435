/**
 * The NATS publisher against a real 3-node JetStream cluster: two publishers of the same records give
 * one copy per exchange id; a publisher cut off from NATS keeps only its NDJSON log and, once NATS is
 * back, publishes what it missed from that log; a stream with other settings is refused by name, by
 * the module and by the compiled binary's `run` and `store` (exit 78), as is an unreadable NATS_CREDS.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { join } from "node:path";
import { NdjsonSink } from "../../src/sinks/ndjson/ndjson-sink.ts";
import { NatsParamsSchema, type NatsParams } from "../../src/sinks/nats/params.ts";
import { NatsPublisher } from "../../src/sinks/nats/publisher.ts";
import { ensureStream } from "../../src/sinks/nats/stream-config.ts";
import { rmSync, writeFileSync } from "node:fs";
import { freePort, runBinary, tempDir, waitFor } from "../helpers/binary.ts";
import { startNatsCluster, startTcpProxy, type NatsCluster, type TcpProxy } from "../helpers/nats-cluster.ts";

let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  cluster = await startNatsCluster();
  nc = await connect({ servers: [...cluster.servers] });
  jsm = await jetstreamManager(nc);
}, 60_000);

const dirs: string[] = [];

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const quiet = { log() {}, limited() {} };

function params(stream: string, servers: readonly string[], extra: Record<string, unknown> = {}): NatsParams {
  return NatsParamsSchema.parse({ enable: true, servers, stream, subject_prefix: stream.toLowerCase(), discover_servers: false, ack_timeout_sec: 2, ...extra });
}

function tradeLine(ts: number, symbol: string, a: number): string {
  return `{"ts_recv":${ts},"stream":"${symbol.toLowerCase()}@aggTrade","latency_event_ms":1,"latency_pipeline_ms":0.01,"data":{"e":"aggTrade","E":${ts - 1},"s":"${symbol}","a":${a},"p":"100.0","q":"1","f":${a},"l":${a},"T":${ts - 2},"m":false}}`;
}

/** Subjects and message ids of every message in the stream. */
async function streamIds(stream: string): Promise<{ ids: string[]; count: number }> {
  const info = await jsm.streams.info(stream);
  const ids: string[] = [];
  const s = await jsm.streams.get(stream);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await s.getMessage({ seq });
    const id = m?.header.get("Nats-Msg-Id");
    if (id) ids.push(id);
  }
  return { ids, count: info.state.messages };
}

interface Source {
  readonly ndjson: NdjsonSink;
  readonly pub: NatsPublisher;
  readonly dir: string;
}

async function source(p: NatsParams, name: string): Promise<Source> {
  const dir = tempDir(`natspub-${name}`);
  dirs.push(dir);
  const ndjson = new NdjsonSink({ dir: join(dir, "ndjson"), compress: "none", sweep: false });
  const pub = new NatsPublisher({ params: { ...p, collector_id: name }, exchange: "binance", ndjsonDir: join(dir, "ndjson"), flushLog: () => ndjson.flush(), stateFile: join(dir, "state.json"), log: quiet });
  const r = await pub.start(5000);
  expect(r).toEqual({ ok: true });
  return { ndjson, pub, dir };
}

function emit(s: Source, symbol: string, ts: number, a: number): void {
  const line = tradeLine(ts, symbol, a);
  s.ndjson.append(symbol, ts, line);
  s.pub.append(symbol, ts, line);
}

test("two publishers of the same trades leave one message per id; an outage is caught up from the log", async () => {
  const proxies: TcpProxy[] = await Promise.all(cluster.nodes.map((n) => startTcpProxy(n.clientPort)));
  const p = params("PUBTEST", proxies.map((x) => x.url));
  const a = await source(p, "a");
  const b = await source(params("PUBTEST", cluster.servers), "b");
  const symbols = ["BTCUSDT", "ETHUSDT"];
  const N = 3000;
  const t0 = Date.now();
  // b misses 1000-1200 and 2000-2100 (as if its exchange socket had dropped) and stops at 2700;
  // a is cut off from NATS from 1500 to 2500: 2000-2100 reach the stream only by a's catch-up.
  const bHas = (i: number) => !(i >= 1000 && i <= 1200) && !(i >= 2000 && i <= 2100) && i <= 2700;
  for (let i = 1; i <= N; i++) {
    const ts = t0 + Math.floor(i / 2);
    for (const s of symbols) {
      emit(a, s, ts, i);
      if (bHas(i)) emit(b, s, ts, i);
    }
    if (i === 1500) for (const x of proxies) x.cut();
    if (i === 2500) {
      await Bun.sleep(3000);
      expect(a.pub.status().connected).toBe(false);
      expect(a.pub.status().behindSymbols).toBe(2);
      for (const x of proxies) x.restore();
    }
    if (i % 200 === 0) await Bun.sleep(5);
  }
  await waitFor("a caught up", () => (a.pub.status().behindSymbols === 0 && a.pub.status().inFlight === 0 && a.pub.status().mode === "live" ? true : undefined), 30_000);
  await waitFor("b acked", () => (b.pub.status().inFlight === 0 ? true : undefined), 10_000);
  const { ids, count } = await streamIds("PUBTEST");
  const want: string[] = [];
  for (const s of symbols) for (let i = 1; i <= N; i++) want.push(`binance.${s}.aggTrade.${i}`);
  // Exactly one message per trade id: duplicates of both publishers and of the catch-up are gone.
  expect(count).toBe(ids.length);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(want.sort());
  expect(a.pub.status().caughtUp).toBeGreaterThan(0);
  expect(a.pub.status().duplicates + b.pub.status().duplicates).toBeGreaterThan(0);
  for (const x of [a, b]) {
    await x.pub.close();
    await x.ndjson.close();
  }
  for (const x of proxies) x.stop();
}, 90_000);

test("a stream with other settings is refused, naming each difference", async () => {
  const r1 = await ensureStream(jsm, params("MISMATCH", cluster.servers, { replicas: 3 }));
  expect(r1.ok).toBe(true);
  const r2 = await ensureStream(jsm, params("MISMATCH", cluster.servers, { replicas: 1, max_age_hours: 1 }));
  expect(r2.ok).toBe(false);
  if (!r2.ok) {
    expect(r2.error).toContain("stream MISMATCH exists with other settings");
    expect(r2.error).toContain("replicas: stream has 3, config wants 1");
    expect(r2.error).toContain("max_age");
  }
}, 30_000);

test("the binary refuses a mismatched stream (run and store) and unreadable credentials, with one clear line", async () => {
  expect((await ensureStream(jsm, params("REFUSED", cluster.servers, { replicas: 1 }))).ok).toBe(true);
  const dir = tempDir("nats-refuse");
  dirs.push(dir);
  const config = join(dir, "config.toml");
  writeFileSync(config, `symbols = ["BTCUSDT"]\n[publish.nats]\nenable = true\nservers = ${JSON.stringify(cluster.servers)}\nstream = "REFUSED"\nsubject_prefix = "refused"\nreplicas = 3\n`);
  const env = {
    BINANCE_PUBLIC_WS: "ws://127.0.0.1:9/public",
    BINANCE_MARKET_WS: "ws://127.0.0.1:9/market",
    BINANCE_REST: "http://127.0.0.1:9",
    OUTPUT_DIR: join(dir, "raw"),
    PREVIEW_DIR: join(dir, "preview"),
    NDJSON_DIR: join(dir, "ndjson"),
    ARTIFACTS_DIR: join(dir, "artifacts"),
    HTTP_LISTEN: `127.0.0.1:${freePort()}`,
  };
  for (const command of ["run", "store"]) {
    const r = await runBinary([command, "--config", config], env);
    expect({ command, code: r.exitCode }).toEqual({ command, code: 78 });
    expect(r.stderr).toContain("stream REFUSED exists with other settings (replicas: stream has 1, config wants 3)");
  }
  const creds = await runBinary(["run", "--config", config], { ...env, NATS_CREDS: join(dir, "missing.creds") });
  expect(creds.exitCode).toBe(78);
  expect(creds.stderr).toContain("NATS_CREDS: cannot read the credentials file: ENOENT");
}, 60_000);
