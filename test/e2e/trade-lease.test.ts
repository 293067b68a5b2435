// One trader per account (trade.lease = "nats"): two compiled collectors with the same [trade] and
// the same key, a real nats-server, the fake testnet. Exactly one trades; the other sends no order.
// When the trader is killed, the other takes over within the lease's TTL; when the trader is cut off
// from NATS, it stops sending orders before the other sends its first one; a clean stop hands the
// lease over at once; a collector whose start the venue refuses gives the lease up for good.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { LEASE_BUCKET } from "../../src/pipeline/trading.ts";
import { waitFor } from "../helpers/binary.ts";
import { natsServerAvailable, startNatsCluster, startTcpProxy, type NatsCluster, type TcpProxy } from "../helpers/nats-cluster.ts";
import { busyStrategy, startTrader, startWorld, status, type Trader, type World } from "./trade-support.ts";

const SYMBOLS = ["BTCUSDT"];
const TTL_SEC = 12;
let w: World;
let nats: NatsCluster;

beforeAll(async () => {
  [w, nats] = await Promise.all([startWorld(SYMBOLS, 5), startNatsCluster({ size: 1 })]);
});
afterAll(async () => {
  await w.stop();
  await nats.stop();
});

function leased(server: string): string[] {
  return busyStrategy(SYMBOLS, ["trade.lease=\"nats\"", `trade.lease_ttl_sec=${TTL_SEC}`, "trade.resolve_deadline_ms=4000", "trade.flatten_on_exit=true"]).concat(
    ["--set", `publish.nats.servers=["${server}"]`, "--set", "publish.nats.replicas=1", "--set", "publish.nats.discover_servers=false"],
  );
}

interface AuditLine {
  readonly kind: string;
  readonly ts_ms: number;
  readonly method?: string;
  readonly path?: string;
  readonly what?: string;
}

function audit(t: Trader): AuditLine[] {
  const dir = join(t.dir, "ndjson", "trading");
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith("audit-")).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as AuditLine));
}

/** Times at which the collector's order requests were answered (entries, exits and stops). */
const orderTimes = (t: Trader): number[] => audit(t).filter((a) => a.kind === "rest" && a.method === "POST" && (a.path === "/fapi/v1/order" || a.path === "/fapi/v1/algoOrder")).map((a) => a.ts_ms);

async function lease(t: Trader): Promise<{ held: boolean; holder: string | null; me: string; ready: boolean } | undefined> {
  try {
    const st = await status(t);
    const l = st.trading?.lease;
    return l === undefined ? undefined : { held: l.held, holder: l.holder, me: l.me, ready: st.trading.ready === true };
  } catch {
    return undefined;
  }
}

/** Who holds each account's lease, read from the bucket itself. */
async function leaseHolders(server: string): Promise<string[]> {
  const nc = await connect({ servers: [server] });
  try {
    const kv = await new Kvm(nc).open(LEASE_BUCKET);
    const out: string[] = [];
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e !== null && e.operation === "PUT") out.push(e.string());
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Waits until one of the two trades and the other stands by, naming it. */
async function oneLeader(a: Trader, b: Trader, timeoutMs: number): Promise<[leader: Trader, standby: Trader]> {
  return waitFor(
    "one collector trading, the other standing by",
    async () => {
      const [la, lb] = await Promise.all([lease(a), lease(b)]);
      if (la === undefined || lb === undefined) return undefined;
      if (la.held && la.ready && !lb.held && lb.holder === la.me) return [a, b] as [Trader, Trader];
      if (lb.held && lb.ready && !la.held && la.holder === lb.me) return [b, a] as [Trader, Trader];
      return undefined;
    },
    timeoutMs,
    200,
  );
}

describe.skipIf(!natsServerAvailable())("trade.lease = nats: one trader per account", () => {
  test("exactly one of two collectors trades; when it is killed the other takes over within the TTL", async () => {
    const url = nats.servers[0]!;
    const a = startTrader(w, SYMBOLS, leased(url));
    const b = startTrader(w, SYMBOLS, leased(url));
    try {
      const [leader, standby] = await oneLeader(a, b, 40_000);
      const fills0 = w.tn.server.ledger.fills.length;
      await waitFor("the leader's fills", () => (w.tn.server.ledger.fills.length >= fills0 + 2 ? true : undefined), 60_000, 100);
      expect(orderTimes(leader).length).toBeGreaterThan(0);
      expect(orderTimes(standby)).toEqual([]);
      expect((await status(standby)).health.ok).toBe(true);

      leader.run.proc.kill("SIGKILL");
      await leader.run.proc.exited;
      const killedAt = Date.now();
      const took = await waitFor("the standby to take over", async () => ((await lease(standby))?.held === true && (await lease(standby))?.ready === true ? Date.now() : undefined), (TTL_SEC + 15) * 1000, 100);
      // Not before the lease lapsed (nobody released it), not much after.
      expect(took - killedAt).toBeLessThan((TTL_SEC + 10) * 1000);
      const fills1 = w.tn.server.ledger.fills.length;
      await waitFor("the new trader's fills", () => (w.tn.server.ledger.fills.length >= fills1 + 2 ? true : undefined), 60_000, 100);
      expect(Math.min(...orderTimes(standby))).toBeGreaterThan(killedAt);
      const st = await status(standby);
      expect(st.trading.lease.terms).toBe(1);
    } finally {
      for (const t of [a, b]) if (t.run.proc.exitCode === null && !t.run.proc.killed) await t.run.stop("SIGTERM");
    }
    // The survivor's SIGTERM flattened and cancelled what it held, the killed one's leftovers included.
    expect(w.tn.server.ledger.position("BTCUSDT").qty).toBe(0);
    expect(w.tn.server.ledger.openAlgos()).toEqual([]);
  }, 240_000);

  test("a trader cut off from NATS stops sending orders before the other sends its first", async () => {
    const node = nats.nodes[0]!.clientPort;
    const proxies: TcpProxy[] = await Promise.all([startTcpProxy(node), startTcpProxy(node)]);
    const a = startTrader(w, SYMBOLS, leased(proxies[0]!.url));
    const b = startTrader(w, SYMBOLS, leased(proxies[1]!.url));
    try {
      const [leader, standby] = await oneLeader(a, b, 40_000);
      const fills0 = w.tn.server.ledger.fills.length;
      await waitFor("the leader's fills", () => (w.tn.server.ledger.fills.length >= fills0 + 2 ? true : undefined), 60_000, 100);
      const cutProxy = proxies[leader === a ? 0 : 1]!;
      cutProxy.cut();
      const cutAt = Date.now();
      await waitFor("the standby to take over", async () => ((await lease(standby))?.held === true ? true : undefined), (TTL_SEC + 15) * 1000, 100);
      const fenced = audit(leader).find((x) => x.kind === "note" && x.what === "fenced");
      expect(fenced).toBeDefined();
      // It stopped at half the TTL, without any answer from NATS.
      expect(fenced!.ts_ms - cutAt).toBeLessThan((TTL_SEC / 2 + 3) * 1000);
      const fills1 = w.tn.server.ledger.fills.length;
      await waitFor("the new trader's fills", () => (w.tn.server.ledger.fills.length >= fills1 + 2 ? true : undefined), 60_000, 100);
      // No overlap: every order of the old trader was answered before the new one sent its first.
      expect(Math.max(...orderTimes(leader))).toBeLessThan(Math.min(...orderTimes(standby)));
      // Back on NATS, the old trader finds the lease taken and stands by.
      cutProxy.restore();
      await waitFor("the old trader to stand by", async () => {
        const l = await lease(leader);
        return l !== undefined && !l.held && l.holder === (await lease(standby))?.me ? true : undefined;
      }, 30_000, 200);
      expect((await status(leader)).trading.ready).toBe(false);
      // A clean stop gives the lease up: the other takes it at its next ask, not after a TTL.
      const stoppedAt = Date.now();
      expect((await standby.run.stop("SIGTERM")).exitCode).toBe(0);
      const back = await waitFor("the old trader to take the released lease", async () => ((await lease(leader))?.held === true ? Date.now() : undefined), TTL_SEC * 1000, 100);
      expect(back - stoppedAt).toBeLessThan((TTL_SEC / 2) * 1000);
    } finally {
      for (const t of [a, b]) if (t.run.proc.exitCode === null) await t.run.stop("SIGTERM");
      for (const p of proxies) p.stop();
    }
    expect(w.tn.server.ledger.position("BTCUSDT").qty).toBe(0);
  }, 240_000);

  test("a collector whose signature the venue refuses gives the account's lease up for good: the other takes it at once and trades", async () => {
    const url = nats.servers[0]!;
    // The same key (one account, one lease), a secret the venue's signature check refuses.
    const wrongSecret = "not-the-secret-0123456789abcdef";
    const refused = startTrader(w, SYMBOLS, leased(url), { BINANCE_API_SECRET: wrongSecret });
    let good: Trader | null = null;
    let refusedStderr = "";
    try {
      const health = await waitFor("/health naming the refused start", async () => {
        const r = await fetch(`http://127.0.0.1:${refused.port}/health`).catch(() => undefined);
        const reasons = r === undefined ? undefined : ((await r.json()) as { reasons: string[] }).reasons;
        const reason = reasons?.find((x) => x.startsWith("trade: not started: "));
        return reason === undefined ? undefined : { status: r!.status, reason, at: Date.now() };
      }, 40_000, 100);
      expect(health.status).toBe(503);
      expect(health.reason).toMatch(/Signature for this request is not valid.*; not retrying: the venue refused it \(fix it, then restart\)$/);
      const me = (await lease(refused))!;
      expect(me).toMatchObject({ held: false, ready: false });
      // Given up in the bucket, not left to lapse: no key names it a second after the refusal.
      await waitFor("the lease given up in the bucket", async () => ((await leaseHolders(url)).includes(me.me) ? undefined : true), 1000, 50);
      good = startTrader(w, SYMBOLS, leased(url));
      const took = await waitFor("the other collector trading", async () => {
        const l = await lease(good!);
        return l?.held === true && l.ready ? Date.now() : undefined;
      }, 40_000, 100);
      // At its first asks, not once a TTL had lapsed.
      expect(took - health.at).toBeLessThan((TTL_SEC - 2) * 1000);
      const fills0 = w.tn.server.ledger.fills.length;
      await waitFor("its fills", () => (w.tn.server.ledger.fills.length >= fills0 + 2 ? true : undefined), 60_000, 100);
      // The refused collector never asked again: still standing aside, still "not retrying", no order sent.
      const st = await status(refused);
      expect(st.trading.lease).toMatchObject({ held: false, terms: 1 });
      expect(st.trading.start).toMatchObject({ attempts: 1, retrying: false });
      expect(orderTimes(refused)).toEqual([]);
    } finally {
      refusedStderr = (await refused.run.stop("SIGTERM")).stderr;
      if (good !== null) await good.run.stop("SIGTERM");
    }
    expect(refusedStderr.split("\n").filter((l) => l.includes("the venue refused the trader's start"))).toHaveLength(1);
    expect(refusedStderr.includes(wrongSecret)).toBe(false);
    expect(w.tn.server.ledger.position("BTCUSDT").qty).toBe(0);
  }, 240_000);
});
