/**
 * Make-before-break rotation (src/exchange/binance/connection-manager.ts) and the client message budget of a
 * connection, against a real local WebSocket server.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import type { ConnectionListener, StreamConnection } from "../../src/exchange/binance/connection.ts";
import { StreamConnection as Conn } from "../../src/exchange/binance/connection.ts";
import { ConnectionManager, type RotationOptions } from "../../src/exchange/binance/connection-manager.ts";
import { waitFor } from "../helpers/binary.ts";

interface Sock {
  readonly n: number;
  pings: number[];
  openedAt?: number;
  closedAt?: number;
}

/**
 * Pushes a numbered frame on every stream of every open socket each `everyMs`, except to sockets
 * `silent(n)` says to leave out (n = 1 for the first socket opened).
 */
function exchange(streams: readonly string[], opts: { everyMs?: number; silent?: (n: number) => boolean } = {}) {
  const open = new Set<ServerWebSocket<Sock>>();
  const socks: Sock[] = [];
  let id = 0;
  const server = Bun.serve<Sock>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const s: Sock = { n: socks.length + 1, pings: [] };
      socks.push(s);
      return srv.upgrade(req, { data: s }) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      idleTimeout: 0,
      sendPings: false,
      open: (ws) => {
        ws.data.openedAt = Date.now();
        open.add(ws);
      },
      close: (ws) => {
        ws.data.closedAt = Date.now();
        open.delete(ws);
      },
      message() {},
      ping: (ws) => void ws.data.pings.push(Date.now()),
    },
  });
  const timer = setInterval(() => {
    id++;
    for (const ws of open) {
      if (opts.silent?.(ws.data.n)) continue;
      for (const s of streams) ws.send(`{"stream":"${s}","data":{"a":${id}}}`);
    }
  }, opts.everyMs ?? 20);
  return {
    url: `ws://127.0.0.1:${server.port}/market`,
    socks,
    open,
    stop() {
      clearInterval(timer);
      server.stop(true);
    },
  };
}

function listener() {
  const events: string[] = [];
  const frames: { conn: string; text: string }[] = [];
  const l: ConnectionListener = {
    onConnect: (c, reason) => events.push(`connect ${c.id}${reason ? ` ${reason}` : ""}`),
    onDisconnect: (c, reason) => events.push(`disconnect ${c.id} ${reason}`),
    onFrame: (c, text) => frames.push({ conn: c.id, text }),
    onRejectedFrame: (c, reason) => events.push(`rejected ${c.id} ${reason}`),
  };
  return { events, frames, l };
}

const STREAMS = ["aaausdt@aggTrade", "bbbusdt@aggTrade"];
const conn = (url: string) => ({ baseUrl: url, pingIntervalMs: 60_000, heartbeatTimeoutMs: 5000, reconnectDelayMs: 50, reconnectMaxDelayMs: 200, maxFrameBytes: 1 << 20 });
const rot = (over: Partial<RotationOptions> = {}): RotationOptions => ({ rotateAfterMs: 400, settleMs: 200, maxWaitMs: 1000, retryMs: 300, checkEveryMs: 20, ...over });

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.reverse()) c();
  cleanup = [];
});

describe("make-before-break rotation", () => {
  test("the replacement opens before the old socket closes; no disconnect reaches the feed; every id keeps arriving", async () => {
    const ex = exchange(STREAMS);
    cleanup.push(() => ex.stop());
    const rec = listener();
    const notices: string[] = [];
    const m = new ConnectionManager([{ id: "market-0", route: "market", streams: STREAMS }], () => conn(ex.url), rec.l, rot(), (ev, slot, f) => notices.push(`${ev} ${slot} ${String(f.why ?? "")}`));
    cleanup.push(() => m.stop());
    m.start();
    await waitFor("two rotations", () => (m.rotations >= 2 ? true : undefined), 10_000, 20);
    m.stop();
    expect(rec.events.filter((e) => e.startsWith("disconnect")).map((e) => e.replace(/#\d+/, "#N"))).toEqual(["disconnect market-0#N shutdown"]);
    expect(rec.events[0]).toBe("connect market-0#1");
    expect(rec.events[1]).toBe("connect market-0#2 rotation");
    expect(notices.some((n) => n.startsWith("rotation-done market-0 replacement delivered on every stream"))).toBe(true);
    // Socket k+1 was opened before socket k was closed (make-before-break).
    const opened = ex.socks.filter((x) => x.openedAt !== undefined);
    await waitFor("every socket closed", () => (opened.every((x) => x.closedAt !== undefined) ? true : undefined), 5000, 10);
    expect(opened.length).toBeGreaterThanOrEqual(3);
    for (let k = 1; k < opened.length; k++) expect(opened[k]!.openedAt!).toBeLessThan(opened[k - 1]!.closedAt!);
    // No id was missed on either stream across the rotations (copies are the feed's to drop).
    for (const s of STREAMS) {
      const ids = [...new Set(rec.frames.filter((f) => f.text.includes(s)).map((f) => (JSON.parse(f.text) as { data: { a: number } }).data.a))].sort((a, b) => a - b);
      for (let i = 1; i < ids.length; i++) expect(ids[i]! - ids[i - 1]!).toBe(1);
    }
    // Frames of the overlap came from two sockets.
    expect(new Set(rec.frames.map((f) => f.conn)).size).toBeGreaterThanOrEqual(3);
    expect(m.slots[0]!.reconnects).toBe(0);
  });

  test("a replacement that never delivers is dropped; the old socket keeps going and the rotation is retried", async () => {
    const ex = exchange(STREAMS, { silent: (n) => n === 2 });
    cleanup.push(() => ex.stop());
    const rec = listener();
    const m = new ConnectionManager([{ id: "market-0", route: "market", streams: STREAMS }], () => conn(ex.url), rec.l, rot({ maxWaitMs: 500 }));
    cleanup.push(() => m.stop());
    m.start();
    await waitFor("a failed then a completed rotation", () => (m.failedRotations >= 1 && m.rotations >= 1 ? true : undefined), 10_000, 20);
    m.stop();
    expect(ex.socks[1]!.closedAt).toBeDefined();
    expect(rec.frames.some((f) => f.conn === "market-0#2")).toBe(false);
    expect(rec.events.filter((e) => e.startsWith("disconnect"))).toHaveLength(1);
  });

  test("after the settle time, a replacement that delivered what the old one delivered takes over (quiet streams)", async () => {
    // Only the first stream ever trades: "every stream" is never reached.
    const ex = exchange(["aaausdt@aggTrade"]);
    cleanup.push(() => ex.stop());
    const rec = listener();
    const notices: string[] = [];
    const m = new ConnectionManager([{ id: "market-0", route: "market", streams: STREAMS }], () => conn(ex.url), rec.l, rot(), (ev, _s, f) => notices.push(`${ev} ${String(f.why ?? "")}`));
    cleanup.push(() => m.stop());
    m.start();
    await waitFor("a rotation", () => (m.rotations >= 1 ? true : undefined), 10_000, 20);
    m.stop();
    expect(notices).toContain("rotation-done replacement delivered");
  });

  test("if the old socket dies during the overlap, the open replacement simply takes over", async () => {
    const ex = exchange(STREAMS, { silent: (n) => n === 2 });
    cleanup.push(() => ex.stop());
    const rec = listener();
    const m = new ConnectionManager([{ id: "market-0", route: "market", streams: STREAMS }], () => conn(ex.url), rec.l, rot({ maxWaitMs: 5000 }));
    cleanup.push(() => m.stop());
    m.start();
    await waitFor("replacement open", () => (ex.open.size === 2 ? true : undefined), 5000, 10);
    for (const ws of ex.open) if (ws.data.n === 1) ws.terminate();
    await waitFor("switched", () => (m.rotations === 1 ? true : undefined), 5000, 10);
    m.stop();
    expect(rec.events.filter((e) => e.startsWith("disconnect"))).toEqual(["disconnect market-0#2 shutdown"]);
  });
});

describe("client message budget of a connection", () => {
  test("with pings asked for every 10 ms, the server never sees more than 10 messages in any second", async () => {
    const ex = exchange(STREAMS);
    cleanup.push(() => ex.stop());
    const rec = listener();
    const c: StreamConnection = new Conn({ id: "market-0", route: "market", streams: STREAMS }, { ...conn(ex.url), pingIntervalMs: 10 }, rec.l);
    cleanup.push(() => c.stop());
    c.start();
    await Bun.sleep(3500);
    c.stop();
    const pings = ex.socks[0]!.pings;
    expect(pings.length).toBeGreaterThanOrEqual(25);
    for (let i = 0; i < pings.length; i++) {
      let n = 0;
      for (let j = i; j < pings.length && pings[j]! < pings[i]! + 1000; j++) n++;
      expect(n).toBeLessThanOrEqual(10);
    }
    expect(c.pingsSkipped).toBeGreaterThan(0);
  });
});
