// The WebSocket protocol of fstream.binance.com (routed 2026 URLs) plus the REST routes, on one
// Bun.serve bound to loopback.
import type { Server, ServerWebSocket } from "bun";
import type { Faults } from "./faults.ts";
import type { Records } from "./records.ts";
import type { ConnectionRecord, Frame, Route, StreamKind } from "./types.ts";

export interface ServerOptions {
  readonly port: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly maxMessagesPerSecond: number;
  readonly enforceRateLimit: boolean;
  readonly maxStreamsPerConnection: number;
  readonly maxConnectionAgeMs: number;
}

interface Conn {
  readonly rec: ConnectionRecord;
  ws: ServerWebSocket<Conn> | undefined;
  combined: boolean;
  second: number;
  countInSecond: number;
  ageTimer: ReturnType<typeof setTimeout> | undefined;
  /** Data frames queued during one replay tick, written in one corked batch by flush(). */
  pending: string[];
}

/** Which route pushes a stream kind; a stream subscribed elsewhere is accepted but stays silent. */
const ROUTE_OF: Readonly<Record<StreamKind, Route>> = { depth5: "public", aggTrade: "market", depthDiff: "public" };

function delivers(route: Route, kind: StreamKind): boolean {
  const home = ROUTE_OF[kind];
  // Unrouted legacy URLs only receive /public data.
  return route === home || (route === "unrouted" && home === "public");
}

function parsePath(url: URL): { route: Route; mode: "combined" | "raw"; streams: string[] } | undefined {
  const m = /^(?:\/(public|market))?\/(stream|ws)(?:\/(.*))?$/.exec(url.pathname);
  if (!m) return undefined;
  const route = (m[1] as Route | undefined) ?? "unrouted";
  if (m[2] === "stream") {
    if (m[3]) return undefined;
    const list = url.searchParams.get("streams") ?? "";
    return { route, mode: "combined", streams: list.split("/").filter((s) => s.length > 0) };
  }
  return { route, mode: "raw", streams: (m[3] ?? "").split("/").filter((s) => s.length > 0) };
}

export class ProtocolServer {
  private server: Server<Conn> | undefined;
  private readonly conns = new Map<number, Conn>();
  private readonly subscribers = new Map<string, Set<Conn>>();
  private readonly dirty = new Set<Conn>();
  private nextConnId = 1;
  private pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly opts: ServerOptions,
    /** stream name → kind, for every stream the exchange produces. */
    private readonly streams: ReadonlyMap<string, StreamKind>,
    private readonly records: Records,
    private readonly faults: Faults,
    private readonly rest: (req: Request, url: URL) => Response | Promise<Response>,
  ) {}

  get port(): number {
    return this.server!.port!;
  }

  start(): void {
    this.server = Bun.serve<Conn>({
      hostname: "127.0.0.1",
      port: this.opts.port,
      fetch: (req, server) => this.fetch(req, server),
      websocket: {
        // Our own ping schedule stands for Binance's; Bun's idle pings would add frames it never sends.
        idleTimeout: 0,
        sendPings: false,
        perMessageDeflate: false,
        open: (ws) => this.onOpen(ws),
        message: (ws, msg) => this.onMessage(ws, typeof msg === "string" ? msg : new TextDecoder().decode(msg)),
        ping: (ws) => {
          this.countClientMessage(ws.data, "<ping>");
        },
        pong: (ws) => {
          ws.data.rec.pongsReceived++;
          ws.data.rec.lastPongAt = Date.now();
          this.countClientMessage(ws.data, "<pong>");
        },
        close: (ws, code, reason) => this.onClose(ws.data, code, reason),
      },
    });
    this.pingTimer = setInterval(() => this.pingAll(), this.opts.pingIntervalMs);
  }

  async stop(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const c of this.conns.values()) c.ws?.terminate();
    await this.server?.stop(true);
  }

  private fetch(req: Request, server: Server<Conn>): Response | Promise<Response> | undefined {
    const url = new URL(req.url);
    const path = parsePath(url);
    if (!path) return this.rest(req, url);
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("Upgrade Required", { status: 426 });
    const rejected = this.faults.takeUpgradeRejection() ?? this.faults.hooks.beforeUpgrade?.(req, path.route);
    const fullUrl = url.pathname + url.search;
    if (rejected) {
      this.records.upgrades.push({ at: Date.now(), url: fullUrl, route: path.route, status: rejected.status });
      return rejected;
    }
    const rec: ConnectionRecord = {
      id: this.nextConnId++,
      route: path.route,
      mode: path.mode,
      url: fullUrl,
      openedAt: Date.now(),
      urlStreams: path.streams,
      streams: new Set(),
      pingsSent: 0,
      pongsReceived: 0,
      framesSent: 0,
      clientMessages: [],
      rateViolations: [],
    };
    const conn: Conn = { rec, ws: undefined, combined: path.mode === "combined", second: 0, countInSecond: 0, ageTimer: undefined, pending: [] };
    if (!server.upgrade(req, { data: conn })) return new Response("upgrade failed", { status: 400 });
    this.records.upgrades.push({ at: rec.openedAt, url: fullUrl, route: path.route, status: 101 });
    return undefined;
  }

  private onOpen(ws: ServerWebSocket<Conn>): void {
    const conn = ws.data;
    conn.ws = ws;
    this.conns.set(conn.rec.id, conn);
    this.records.connections.set(conn.rec.id, conn.rec);
    if (Number.isFinite(this.opts.maxConnectionAgeMs)) {
      conn.ageTimer = setTimeout(() => ws.close(1000, "connection lifetime reached"), this.opts.maxConnectionAgeMs);
    }
    this.subscribe(conn, conn.rec.urlStreams);
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    if (conn.ageTimer) clearTimeout(conn.ageTimer);
    conn.rec.closedAt = Date.now();
    conn.rec.closeCode = code;
    conn.rec.closeReason = reason;
    for (const s of conn.rec.streams) this.subscribers.get(s)?.delete(conn);
    this.conns.delete(conn.rec.id);
    this.dirty.delete(conn);
    conn.pending = [];
    conn.ws = undefined;
  }

  private subscribe(conn: Conn, names: readonly string[]): boolean {
    for (const name of names) {
      conn.rec.streams.add(name);
      const kind = this.streams.get(name);
      if (kind === undefined || !delivers(conn.rec.route, kind)) continue;
      let set = this.subscribers.get(name);
      if (!set) this.subscribers.set(name, (set = new Set()));
      set.add(conn);
    }
    if (conn.rec.streams.size > this.opts.maxStreamsPerConnection) {
      conn.ws?.close(1008, "subscribed channels exceeds limit");
      return false;
    }
    return true;
  }

  private unsubscribe(conn: Conn, names: readonly string[]): void {
    for (const name of names) {
      conn.rec.streams.delete(name);
      this.subscribers.get(name)?.delete(conn);
    }
  }

  /** Counts toward the 10 messages/s limit; false when the connection was closed for it. */
  private countClientMessage(conn: Conn, text: string): boolean {
    const now = Date.now();
    conn.rec.clientMessages.push({ at: now, text });
    const second = Math.floor(now / 1000);
    if (second !== conn.second) {
      conn.second = second;
      conn.countInSecond = 0;
    }
    if (++conn.countInSecond <= this.opts.maxMessagesPerSecond) return true;
    const v = conn.rec.rateViolations;
    if (v.length > 0 && v[v.length - 1].second === second) v[v.length - 1].count = conn.countInSecond;
    else v.push({ second, count: conn.countInSecond });
    if (!this.opts.enforceRateLimit) return true;
    conn.ws?.close(1008, "Too many requests");
    return false;
  }

  private onMessage(ws: ServerWebSocket<Conn>, text: string): void {
    const conn = ws.data;
    if (!this.countClientMessage(conn, text)) return;
    let req: { method?: unknown; params?: unknown; id?: unknown };
    try {
      req = JSON.parse(text);
    } catch {
      return this.reply(conn, { code: 3, msg: "Invalid JSON: expected value at line 1 column 1" });
    }
    const id = req?.id;
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      return this.reply(conn, { code: 2, msg: "Invalid request: request ID must be an unsigned integer" });
    }
    const params = Array.isArray(req.params) ? req.params : [];
    switch (req.method) {
      case "SUBSCRIBE":
        if (!params.every((p) => typeof p === "string")) return this.reply(conn, { code: 2, msg: "Invalid request: invalid params", id });
        if (this.subscribe(conn, params as string[])) this.reply(conn, { result: null, id });
        return;
      case "UNSUBSCRIBE":
        this.unsubscribe(conn, params.filter((p): p is string => typeof p === "string"));
        return this.reply(conn, { result: null, id });
      case "LIST_SUBSCRIPTIONS":
        return this.reply(conn, { result: [...conn.rec.streams], id });
      case "SET_PROPERTY":
        if (params[0] !== "combined") return this.reply(conn, { code: 0, msg: "Unknown property", id });
        if (typeof params[1] !== "boolean") return this.reply(conn, { code: 1, msg: "Invalid value type: expected Boolean", id });
        conn.combined = params[1];
        return this.reply(conn, { result: null, id });
      case "GET_PROPERTY":
        if (params[0] !== "combined") return this.reply(conn, { code: 0, msg: "Unknown property", id });
        return this.reply(conn, { result: conn.combined, id });
      default:
        return this.reply(conn, {
          code: 2,
          msg: `Invalid request: unknown variant \`${String(req.method)}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\` at line 1 column 28`,
          id,
        });
    }
  }

  private reply(conn: Conn, body: object): void {
    const text = JSON.stringify(body);
    conn.ws?.sendText(text);
    this.sent(conn, text, null);
  }

  private sent(conn: Conn, text: string, stream: string | null): void {
    conn.rec.framesSent++;
    if (this.records.recordFrames) this.records.frames.push({ connId: conn.rec.id, route: conn.rec.route, stream, text, at: Date.now() });
  }

  private queue(conn: Conn, text: string, stream: string): void {
    if (!conn.ws) return;
    if (conn.pending.length === 0) this.dirty.add(conn);
    conn.pending.push(text);
    this.sent(conn, text, stream);
  }

  /**
   * Writes the frames queued since the last flush, one corked batch per connection: one write
   * syscall per connection per tick instead of one per frame (the benchmarks' bottleneck).
   */
  flush(): void {
    for (const conn of this.dirty) {
      const { ws, pending } = conn;
      conn.pending = [];
      ws?.cork(() => {
        for (const t of pending) ws.sendText(t);
      });
    }
    this.dirty.clear();
  }

  /** The frame pipeline: one produced frame → every connection subscribed to its stream. Call flush() after a batch. */
  publish(produced: Frame): void {
    const subs = this.subscribers.get(produced.stream);
    if (!subs || subs.size === 0) return;
    const hooks = this.faults.hooks;
    // undefined = unchanged, null = withheld (FaultHooks).
    const replaced = hooks.beforePublish?.(produced);
    const frame = replaced === undefined ? produced : replaced;
    if (!frame) return;
    let wrapped: string | undefined;
    for (const conn of subs) {
      if (this.faults.isSilenced(conn.rec.route) || this.faults.isConnSilenced(conn.rec.id)) continue;
      const text = conn.combined ? (wrapped ??= `{"stream":"${frame.stream}","data":${frame.data}}`) : frame.data;
      const replaced = hooks.beforeSend?.(text, frame, conn.rec);
      if (replaced === undefined) this.queue(conn, text, frame.stream);
      else for (const t of replaced) this.queue(conn, t, frame.stream);
    }
  }

  private pingAll(): void {
    const now = Date.now();
    for (const conn of this.conns.values()) {
      const last = conn.rec.lastPongAt ?? conn.rec.openedAt;
      if (conn.rec.pingsSent > 0 && now - last > this.opts.pongTimeoutMs) {
        conn.ws?.close(1008, "pong timeout");
        continue;
      }
      conn.ws?.ping();
      conn.rec.pingsSent++;
    }
  }

  /** Abrupt close of the given connections, without a close frame. */
  dropIds(ids: readonly number[]): void {
    for (const id of ids) this.conns.get(id)?.ws?.terminate();
  }

  /** Abrupt close without a close frame, as when the TCP connection is cut. */
  drop(route?: Route): number {
    let n = 0;
    for (const conn of [...this.conns.values()]) {
      if (route !== undefined && conn.rec.route !== route) continue;
      conn.ws?.terminate();
      n++;
    }
    return n;
  }

  openConnections(): readonly ConnectionRecord[] {
    return [...this.conns.values()].map((c) => c.rec);
  }
}
