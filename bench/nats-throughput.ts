/**
 * Scale-out throughput: collector → JetStream (3-node cluster, stream replicas 3) → store, all on
 * this machine (docs/scale-out.md). Each step offers a frame rate from the fake exchange (its own
 * process, N synthetic clones of BTCUSDT 2024-08-08); one collector (build/harvestd run, Parquet off,
 * publishing) and one store (build/harvestd store) run for the step's window. Measured over the window:
 *
 *   published/s   records the collector had acknowledged by JetStream
 *   stored/s      records the store received from its consumer (and wrote: it acknowledges after)
 *   lag           the consumer's pending messages at the window's end
 *   bytes/msg     the stream's stored bytes per message (one replica; the cluster holds 3 copies)
 *   cpu           collector and store CPU, % of one core
 *
 * A step is sustained when the store kept up (stored/s ≥ 95% of published/s, lag under one second
 * of records) and the collector never fell behind (nothing left to catch up from its log).
 *
 * Usage: bun bench/nats-throughput.ts [--quick] [--symbols N] [--seconds S] [--rates a,b,c]
 * Writes bench/results/nats-throughput-<date>.json.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { recordingScripts } from "../test/fake-exchange/script.ts";
import { collectorEnv } from "../test/helpers/binary.ts";
import { startNatsCluster } from "../test/helpers/nats-cluster.ts";
import { ExchangeProcess, freePort, getJson, harvestdBinary, tempDir, waitFor } from "./lib/harvestd.ts";
import { argValue, cpuMsOf, header, printTable, QUICK, writeResult } from "./lib/report.ts";

const N = Number(argValue("symbols") ?? (QUICK ? 5 : 20));
const WINDOW_SEC = Number(argValue("seconds") ?? (QUICK ? 8 : 30));
const RATES = (argValue("rates") ?? (QUICK ? "1000,4000" : "2000,5000,10000,15000,20000,30000")).split(",").map(Number);

function framesPerSymbolSecond(): number {
  const s = recordingScripts("hftbacktest-2024-08-08").get("BTCUSDT")!;
  return (s.depthItems + s.tradeItems) / (s.period / 1000);
}

interface Proc {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly base: string;
}

function start(command: "run" | "store", dir: string, toml: string, ex: ExchangeProcess): Proc {
  const config = join(dir, `${command}.toml`);
  writeFileSync(config, toml);
  const port = freePort();
  const proc = Bun.spawn([harvestdBinary(), command, "--config", config], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...collectorEnv(ex, ex.symbols, join(dir, command), port) },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  });
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function stop(p: Proc): Promise<number> {
  p.proc.kill("SIGTERM");
  const t = setTimeout(() => p.proc.kill("SIGKILL"), 60_000);
  const code = await p.proc.exited;
  clearTimeout(t);
  return code;
}

const num = (x: unknown): number => (typeof x === "number" ? x : 0);

async function figures(collector: Proc, store: Proc) {
  const c = await getJson(`${collector.base}/api/status`);
  const s = await getJson(`${store.base}/api/status`);
  const nats = (c?.nats ?? {}) as Record<string, unknown>;
  const st = (s?.store ?? {}) as { counters?: Record<string, unknown>; consumer?: Record<string, unknown> };
  return {
    acked: num(nats.acked),
    behind: num(nats.behindSymbols),
    stored: num(st.counters?.messages),
    pending: num(st.consumer?.pending),
  };
}

const startLoad = header("nats-throughput", `collector → JetStream R3 (3 nodes) → store, ${N} symbols, ${WINDOW_SEC} s per step`);
const perSym = framesPerSymbolSecond();
const cluster = await startNatsCluster();
const nc = await connect({ servers: [...cluster.servers] });
const jsm = await jetstreamManager(nc);
const rows: Record<string, unknown>[] = [];
try {
  for (const [i, target] of RATES.entries()) {
    const ex = await ExchangeProcess.start({ synthetic: N, speed: target / (N * perSym) });
    const dir = tempDir("bench-nats");
    const stream = `BENCH${i}`;
    const nats = (extra: string) =>
      `[publish.nats]\nservers = ${JSON.stringify(cluster.servers)}\nstream = "${stream}"\nsubject_prefix = "bench${i}"\nreplicas = 3\n${extra}\n`;
    const store = start("store", dir, `[storage]\nndjson_compress = "none"\n${nats(`consumer = "bench"`)}`, ex);
    const collector = start("run", dir, `[storage]\nwrite_parquet = false\nndjson_compress = "none"\n${nats("enable = true")}`, ex);
    await waitFor("records flowing to the store", async () => ((await figures(collector, store)).stored > 0 ? true : undefined), 60_000, 250);
    await Bun.sleep(3000);
    const a = await figures(collector, store);
    const info0 = await jsm.streams.info(stream);
    const cpu0 = [cpuMsOf(collector.proc.pid) ?? 0, cpuMsOf(store.proc.pid) ?? 0];
    const exStats0 = await ex.stats();
    const t0 = performance.now();
    await Bun.sleep(WINDOW_SEC * 1000);
    const b = await figures(collector, store);
    const sec = (performance.now() - t0) / 1000;
    const info1 = await jsm.streams.info(stream);
    const cpu1 = [cpuMsOf(collector.proc.pid) ?? 0, cpuMsOf(store.proc.pid) ?? 0];
    const exStats1 = await ex.stats();
    await ex.silence();
    const drainT0 = performance.now();
    await waitFor("store drained", async () => {
      const f = await figures(collector, store);
      return f.pending === 0 && f.behind === 0 ? true : undefined;
    }, 300_000, 250).catch(() => undefined);
    const drainSec = (performance.now() - drainT0) / 1000;
    const published = (b.acked - a.acked) / sec;
    const stored = (b.stored - a.stored) / sec;
    const msgs = info1.state.messages - info0.state.messages;
    const bytesPerMsg = msgs > 0 ? (info1.state.bytes - info0.state.bytes) / msgs : 0;
    const sustained = stored >= 0.95 * published && b.pending < Math.max(published, 1) && b.behind === 0;
    rows.push({
      target,
      offered_per_s: Math.round((exStats1.total - exStats0.total) / ((exStats1.uptimeMs - exStats0.uptimeMs) / 1000)),
      published_per_s: Math.round(published),
      stored_per_s: Math.round(stored),
      lag_at_end: b.pending,
      drain_s: Math.round(drainSec * 10) / 10,
      bytes_per_msg: Math.round(bytesPerMsg),
      stream_mb_per_s: Math.round(((info1.state.bytes - info0.state.bytes) / sec / 1e6) * 100) / 100,
      collector_cpu_pct: Math.round(((cpu1[0]! - cpu0[0]!) / (sec * 1000)) * 100),
      store_cpu_pct: Math.round(((cpu1[1]! - cpu0[1]!) / (sec * 1000)) * 100),
      sustained,
    });
    printTable(rows.slice(-1));
    await stop(collector);
    await stop(store);
    await ex.stop();
    await jsm.streams.delete(stream);
  }
} finally {
  await nc.close();
  await cluster.stop();
}
printTable(rows);
const best = rows.filter((r) => r.sustained).reduce((m, r) => Math.max(m, r.stored_per_s as number), 0);
process.stdout.write(`sustained collector → JetStream R3 → store: ${best} messages/s (${N} symbols, 2 cores shared with the cluster and the exchange)\n`);
writeResult("nats-throughput", startLoad, { symbols: N, window_sec: WINDOW_SEC, steps: rows, sustained_messages_per_s: best });
