/**
 * The user data stream: creates the listen key (POST /fapi/v1/listenKey), keeps it alive (PUT every
 * `keepaliveMs`; the venue closes a stream 60 min after the last one), connects to
 * `<wsBase>/ws/<listenKey>`, and reconnects after any drop, a `listenKeyExpired` event or a keepalive
 * answered "does not exist" (-1125), with a fresh key and growing delays. Every (re)connection is
 * reported through `onConnected`, so the owner reconciles with REST before trusting the stream again.
 */
import type { SignedRest } from "./signed-rest.ts";

export interface UserStreamOptions {
  readonly wsBase: string;
  readonly keepaliveMs: number;
  readonly reconnectDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly onEvent: (ev: Record<string, unknown>) => void;
  /** After every (re)connection; `reconnect` is false for the first. */
  readonly onConnected: (reconnect: boolean) => void;
  readonly onDisconnected: (why: string) => void;
}

export class UserStream {
  readonly counters = { connects: 0, drops: 0, keyExpiries: 0, events: 0 };
  private ws: WebSocket | null = null;
  private listenKey: string | null = null;
  private keepalive: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private delay: number;
  private everConnected = false;

  constructor(
    private readonly rest: SignedRest,
    private readonly opts: UserStreamOptions,
  ) {
    this.delay = opts.reconnectDelayMs;
  }

  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the first connection is open (or failed: it keeps retrying in the background). */
  async start(): Promise<boolean> {
    return this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.keepalive !== null) clearInterval(this.keepalive);
    if (this.retry !== null) clearTimeout(this.retry);
    this.ws?.close(1000, "shutdown");
    this.ws = null;
  }

  private async connect(): Promise<boolean> {
    if (this.stopped) return false;
    const r = await this.rest.keyed("POST", "/fapi/v1/listenKey");
    const key = r.kind === "ok" ? (r.body as { listenKey?: unknown }).listenKey : undefined;
    if (typeof key !== "string" || key === "") {
      this.scheduleReconnect(`listenKey create failed: ${r.kind === "ok" ? "no key in answer" : r.msg}`);
      return false;
    }
    this.listenKey = key;
    const url = `${this.opts.wsBase.replace(/\/+$/, "")}/ws/${key}`;
    return new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.counters.connects++;
        this.delay = this.opts.reconnectDelayMs;
        this.armKeepalive();
        const reconnect = this.everConnected;
        this.everConnected = true;
        this.opts.onConnected(reconnect);
        resolve(true);
      };
      ws.onmessage = (m) => {
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(String(m.data)) as Record<string, unknown>;
        } catch {
          return;
        }
        this.counters.events++;
        if (ev.e === "listenKeyExpired") {
          this.counters.keyExpiries++;
          ws.close(1000, "listenKey expired");
          return;
        }
        this.opts.onEvent(ev);
      };
      ws.onclose = (c) => {
        if (this.ws === ws) this.ws = null;
        if (!opened) resolve(false);
        if (this.stopped) return;
        this.counters.drops++;
        this.scheduleReconnect(`user stream closed (${c.code}${c.reason ? ` ${c.reason}` : ""})`);
      };
    });
  }

  private armKeepalive(): void {
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.keepalive = setInterval(async () => {
      const r = await this.rest.keyed("PUT", "/fapi/v1/listenKey");
      if (r.kind === "rejected" && r.code === -1125) {
        this.counters.keyExpiries++;
        this.ws?.close(1000, "listenKey gone");
      }
    }, this.opts.keepaliveMs);
  }

  private scheduleReconnect(why: string): void {
    if (this.stopped || this.retry !== null) return;
    if (this.keepalive !== null) clearInterval(this.keepalive);
    this.keepalive = null;
    this.opts.onDisconnected(why);
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxDelayMs);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, wait);
  }
}
