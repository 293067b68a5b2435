/**
 * A real 3-node NATS JetStream cluster on 127.0.0.1 for tests and benchmarks: Debian's `nats-server`,
 * each node with its own temporary store directory, client port and route port (all free ports).
 * Nodes can be killed (SIGKILL) and restarted on the same ports and store, so a test can take one
 * away and bring it back as an operator would.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, tempDir, waitFor } from "./binary.ts";

export interface NatsNode {
  readonly name: string;
  readonly clientPort: number;
  readonly routePort: number;
  readonly url: string;
  readonly storeDir: string;
  readonly configPath: string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** `nats://127.0.0.1:p1,nats://127.0.0.1:p2,…` as `[publish.nats] servers` wants it. */
  readonly servers: readonly string[];
  readonly dir: string;
  /** SIGKILLs node `i` (no clean shutdown: what a crashed machine does). */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its ports and store, and waits until it answers. */
  restart(i: number): Promise<void>;
  running(i: number): boolean;
  /** Stops every node and removes the temporary directory (unless `keep`). */
  stop(keep?: boolean): Promise<void>;
}

export const NATS_SERVER = "nats-server";

export function natsServerAvailable(): boolean {
  return Bun.which(NATS_SERVER) !== null;
}

/** Waits until a TCP connect to 127.0.0.1:port succeeds and the server greets with INFO. */
async function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, s?: { end(): void }) => {
      if (done) return;
      done = true;
      s?.end();
      resolve(ok);
    };
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(s, d) {
          finish(Buffer.from(d).toString().startsWith("INFO"), s);
        },
        error() {
          finish(false);
        },
        connectError() {
          finish(false);
        },
        close() {
          finish(false);
        },
      },
    }).catch(() => finish(false));
    setTimeout(() => finish(false), 1000);
  });
}

/**
 * Starts the cluster. Ports are picked free and then bound by nats-server a moment later, so on a
 * busy machine another process can take one in between: a cluster that does not come up is stopped
 * and started again on new ports (three attempts).
 */
export async function startNatsCluster(opts: { readonly size?: number; readonly name?: string } = {}): Promise<NatsCluster> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function startOnce(opts: { readonly size?: number; readonly name?: string }): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const dir = tempDir("nats");
  const clusterName = opts.name ?? "harvestd-test";
  const nodes: NatsNode[] = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const storeDir = join(dir, name);
    mkdirSync(storeDir, { recursive: true });
    nodes.push({ name, clientPort: freePort(), routePort: freePort(), url: "", storeDir, configPath: join(dir, `${name}.conf`) });
  }
  const full = nodes.map((n) => ({ ...n, url: `nats://127.0.0.1:${n.clientPort}` }));
  for (const n of full) {
    const routes = full.map((o) => `nats-route://127.0.0.1:${o.routePort}`).join(", ");
    writeFileSync(
      n.configPath,
      [
        `server_name: ${n.name}`,
        `listen: 127.0.0.1:${n.clientPort}`,
        // Small limits: a test cluster shares a small machine with everything else.
        `jetstream { store_dir: "${n.storeDir}", max_memory_store: 64MB, max_file_store: 2GB }`,
        // One node is a plain JetStream server: a cluster of one never elects a meta leader.
        size === 1 ? "" : `cluster { name: ${clusterName}, listen: 127.0.0.1:${n.routePort}, routes: [${routes}] }`,
        "",
      ].join("\n"),
    );
  }
  const procs: (Subprocess | null)[] = full.map(() => null);
  const logs = full.map((n) => join(dir, `${n.name}.log`));
  const spawn = (i: number) => {
    procs[i] = Bun.spawn([NATS_SERVER, "-c", full[i]!.configPath, "-l", logs[i]!], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  };
  const up = (i: number) => waitFor(`nats node ${full[i]!.name} on ${full[i]!.clientPort}`, async () => ((await greets(full[i]!.clientPort)) ? true : undefined), 15_000, 100);
  for (let i = 0; i < size; i++) spawn(i);
  try {
    await Promise.all(full.map((_, i) => up(i)));
    await waitForJetStream(full);
  } catch (e) {
    for (const p of procs) p?.kill("SIGKILL");
    await Promise.all(procs.map((p) => p?.exited));
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    nodes: full,
    servers: full.map((n) => n.url),
    dir,
    async kill(i) {
      const p = procs[i];
      if (p === null || p === undefined) return;
      p.kill("SIGKILL");
      await p.exited;
      procs[i] = null;
    },
    async restart(i) {
      if (procs[i] !== null) return;
      spawn(i);
      await up(i);
    },
    running(i) {
      return procs[i] !== null;
    },
    async stop(keep = false) {
      await Promise.all(
        procs.map(async (p) => {
          if (p === null) return;
          p.kill("SIGTERM");
          const t = setTimeout(() => p.kill("SIGKILL"), 5000);
          await p.exited;
          clearTimeout(t);
        }),
      );
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until JetStream works on every node: each answers an account-info request, and a replicated
 * probe stream accepts and acknowledges a message (a cluster that has just formed may still be
 * electing its meta leader; streams created then can be lost with it).
 */
async function waitForJetStream(nodes: readonly NatsNode[]): Promise<void> {
  const { connect } = await import("@nats-io/transport-node");
  const { jetstream, jetstreamManager } = await import("@nats-io/jetstream");
  for (const n of nodes) {
    const nc = await connect({ servers: [n.url], reconnect: false });
    try {
      await waitFor(`JetStream on ${n.name}`, async () => {
        await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
        return true;
      }, 30_000, 250);
    } finally {
      await nc.close();
    }
  }
  const nc = await connect({ servers: nodes.map((n) => n.url) });
  try {
    await waitFor("a replicated probe stream", async () => {
      const jsm = await jetstreamManager(nc, { timeout: 5000 });
      await jsm.streams.add({ name: "PROBE", subjects: ["probe.>"], num_replicas: Math.min(3, nodes.length) });
      await jetstream(nc).publish("probe.x", "1", { timeout: 5000 });
      await jsm.streams.delete("PROBE");
      return true;
    }, 30_000, 500);
  } finally {
    await nc.close();
  }
}

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Cuts every connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  stop(): void;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort`: a client that reaches NATS only through it (with
 * `discover_servers = false`) can be cut off from the cluster while the cluster itself stays up.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const net = await import("node:net");
  let open = true;
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const up = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(up);
    // pipe() buffers under backpressure: the NATS protocol stream arrives whole or not at all.
    client.pipe(up);
    up.pipe(client);
    const end = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as import("node:net").AddressInfo).port;
  const cut = () => {
    open = false;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    cut,
    restore() {
      open = true;
    },
    stop() {
      cut();
      server.close();
    },
  };
}
