/**
 * One combined-stream WebSocket connection that never gives up: reconnects with exponential backoff
 * and jitter (honouring 429/418 and Retry-After), answers pings (Bun's ws does), sends its own pings,
 * and treats a connection that delivers no frame for the heartbeat timeout as dead — a routed URL can
 * accept the handshake and then send nothing (docs/binance.md §0). Our own messages (pings) stay
 * within Binance's 10 messages per second per connection (message-budget.ts).
 */
import WebSocket from "ws";
import { DISCONNECT_SHUTDOWN, type ConnectionState } from "../../core/feed.ts";
import type { Route } from "../../core/market-events.ts";
import type { ConnectionPlan } from "./streams.ts";
import { combinedUrl } from "./streams.ts";
import { MessageBudget } from "./message-budget.ts";

/** Numbers every socket any connection opens, so the feed can tell which socket delivered a frame. */
let socketSeq = 0;

/** The disconnect reason of a connection this process closed on purpose (stop), not one it lost. */
export const STOPPED_BY_US = DISCONNECT_SHUTDOWN;

export interface ConnectionOptions {
  readonly baseUrl: string;
  readonly pingIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly maxFrameBytes: number;
}

export interface ConnectionListener {
  /** The socket is open (frames may follow); `reason` says why it was opened when not the obvious. */
  onConnect(conn: StreamConnection, reason?: string): void;
  /** A text frame, with the wall-clock ms at which it was received. */
  onFrame(conn: StreamConnection, text: string, recvTsMs: number): void;
  /** A frame was rejected before parsing (binary, oversized). */
  onRejectedFrame(conn: StreamConnection, reason: string, recvTsMs: number): void;
  /** The socket closed or failed; a reconnect is scheduled unless the connection was stopped. */
  onDisconnect(conn: StreamConnection, reason: string): void;
  /** An attempt to connect failed before the socket opened; the next one follows in `retryInMs`. */
  onConnectFailed?(conn: StreamConnection, reason: string, retryInMs: number): void;
}


export class StreamConnection {
  readonly id: string;
  readonly route: Route;
  readonly streams: readonly string[];
  readonly url: string;

  state: ConnectionState = "backoff";
  /** Completed reconnects (connects after the first). */
  reconnects = 0;
  frames = 0;
  bytes = 0;
  lastFrameAtMs = 0;
  connectedAtMs = 0;
  /** performance.now() at the open: the connection's age for rotation, whatever the wall clock does. */
  connectedAtMono = 0;
  /** Why the last attempt failed or the last socket closed ("" = never): history once open again. */
  lastError = "";
  /** When (wall-clock ms) lastError happened; 0 = never. */
  lastErrorAtMs = 0;
  /** Number of the current socket (0 before the first open); a new number on every (re)connect. */
  socket = 0;
  pingsSent = 0;
  /** Our pings not sent because the message budget was used up. */
  pingsSkipped = 0;

  private ws: WebSocket | null = null;
  private attempt = 0;
  private everConnected = false;
  private receivedSinceConnect = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private retryAfterMs = 0;
  private budget = new MessageBudget();

  constructor(
    plan: ConnectionPlan,
    private readonly opts: ConnectionOptions,
    private readonly listener: ConnectionListener,
  ) {
    this.id = plan.id;
    this.route = plan.route;
    this.streams = plan.streams;
    this.url = combinedUrl(opts.baseUrl, plan.streams);
  }

  start(): void {
    if (this.state === "stopped") return;
    this.open();
  }

  /** Closes the socket for good; no reconnect follows. */
  stop(): void {
    // Only an open socket has a disconnect to report; a failed attempt already reported its own.
    const wasOpen = this.state === "open";
    this.state = "stopped";
    this.clearTimers();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.removeAllListeners();
      ws.on("error", () => {});
      try {
        ws.close(1000, STOPPED_BY_US);
      } catch {
        ws.terminate();
      }
    }
    if (wasOpen) this.listener.onDisconnect(this, STOPPED_BY_US);
  }

  private open(): void {
    this.state = "connecting";
    this.receivedSinceConnect = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { maxPayload: this.opts.maxFrameBytes * 4 });
    } catch (e) {
      this.fail(`cannot connect: ${(e as Error).message}`, false);
      return;
    }
    this.ws = ws;
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.state = "open";
      this.socket = ++socketSeq;
      this.budget = new MessageBudget();
      if (this.everConnected) this.reconnects++;
      this.everConnected = true;
      this.connectedAtMs = Date.now();
      this.connectedAtMono = performance.now();
      this.lastFrameAtMs = this.connectedAtMs;
      this.startTimers();
      this.listener.onConnect(this);
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (this.ws !== ws) return;
      const now = Date.now();
      this.lastFrameAtMs = now;
      this.frames++;
      this.bytes += data.length;
      if (!this.receivedSinceConnect) {
        // Data flows again: the next failure starts from the first backoff step.
        this.receivedSinceConnect = true;
        this.attempt = 0;
      }
      if (isBinary) return this.listener.onRejectedFrame(this, "binary frame", now);
      if (data.length > this.opts.maxFrameBytes) return this.listener.onRejectedFrame(this, `oversized frame (${data.length} bytes)`, now);
      this.listener.onFrame(this, data.toString("utf8"), now);
    });
    // The library answers a server ping with a pong on its own; that pong counts toward the limit.
    ws.on("ping", () => {
      if (this.ws === ws) this.budget.force(Date.now());
    });
    // Pongs deliberately do not count as liveness: a silent routed URL still answers pings.
    ws.on("unexpected-response", (_req: unknown, res: { statusCode?: number; headers?: Record<string, string> }) => {
      const status = res.statusCode ?? 0;
      const ra = Number(res.headers?.["retry-after"]);
      if ((status === 429 || status === 418) && Number.isFinite(ra) && ra > 0) this.retryAfterMs = ra * 1000;
      else if (status === 429 || status === 418) this.retryAfterMs = 60_000;
      this.fail(`handshake rejected with HTTP ${status}`, true);
    });
    ws.on("error", (err: Error) => {
      if (this.ws === ws) this.fail(err.message, true);
    });
    ws.on("close", (code: number, reason: Buffer) => {
      if (this.ws === ws) this.fail(`closed (${code}${reason?.length ? ` ${reason.toString()}` : ""})`, true);
    });
  }

  private startTimers(): void {
    this.clearTimers();
    this.pingTimer = setInterval(() => {
      if (!this.budget.tryTake(Date.now())) {
        this.pingsSkipped++;
        return;
      }
      try {
        this.ws?.ping();
        this.pingsSent++;
      } catch {
        /* the close handler reconnects */
      }
    }, this.opts.pingIntervalMs);
    // Silence is measured on the monotonic clock, from the frame count: a wall clock stepped
    // forward (NTP) would make every connection look silent, one stepped back none.
    const check = Math.min(1000, Math.max(50, this.opts.heartbeatTimeoutMs / 4));
    let lastCheck = performance.now();
    let framesSeen = this.frames;
    let lastProgress = lastCheck;
    this.watchdog = setInterval(() => {
      const now = performance.now();
      // A late check means this process was stalled: frames may be waiting unread in the socket.
      // Let them be read first rather than kill a healthy connection.
      const stalled = now - lastCheck > 2 * check;
      lastCheck = now;
      if (this.frames !== framesSeen) {
        framesSeen = this.frames;
        lastProgress = now;
      }
      if (!stalled && this.state === "open" && now - lastProgress > this.opts.heartbeatTimeoutMs) {
        this.fail(`no frame for ${this.opts.heartbeatTimeoutMs} ms`, true);
      }
    }, check);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.pingTimer = null;
    this.watchdog = null;
  }

  /** Tears the socket down once and schedules the next attempt. */
  private fail(reason: string, hadSocket: boolean): void {
    if (this.state === "stopped" || this.state === "backoff") return;
    const wasOpen = this.state === "open";
    this.lastError = reason;
    this.lastErrorAtMs = Date.now();
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (hadSocket && ws) {
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
    }
    this.state = "backoff";
    if (wasOpen) this.listener.onDisconnect(this, reason);
    const delay = this.nextDelayMs();
    // Without this, an unreachable or refusing exchange would be silence in the logs.
    if (!wasOpen) this.listener.onConnectFailed?.(this, reason, delay);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === "backoff") this.open();
    }, delay);
  }

  /** Exponential backoff with full jitter over the upper half, capped; Retry-After wins when longer. */
  private nextDelayMs(): number {
    const base = Math.min(this.opts.reconnectMaxDelayMs, this.opts.reconnectDelayMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = base * (0.5 + Math.random() * 0.5);
    const delay = Math.max(jittered, this.retryAfterMs);
    this.retryAfterMs = 0;
    return delay;
  }
}
