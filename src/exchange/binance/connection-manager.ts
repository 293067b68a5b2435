/**
 * One slot per connection plan (streams.ts: per route, at most 200 streams each), each holding the
 * active StreamConnection and, during a planned rotation, its replacement (docs/feed.md).
 *
 * Binance cuts every connection at 24 h. Before that (feed.rotate_after_hours) the slot opens a
 * replacement socket with the same streams (make-before-break). Both deliver meanwhile; the feed drops
 * the doubled frames by id (stream-gate.ts). The slot switches once the replacement has delivered on
 * every stream — or, after a settle time, on every stream the old socket delivered during the overlap
 * (quiet symbols may not trade for minutes) — and then closes the old socket. A rotation writes a
 * `connect` line (reason "rotation") and no `disconnect` line: it is invisible to the indicators
 * (docs/indicators.md §15.5). A replacement that fails or does not deliver in time is dropped and the
 * rotation retried later; the old socket keeps running. If the old socket dies while an open
 * replacement exists, the replacement simply takes over.
 */
import { StreamConnection, type ConnectionListener, type ConnectionOptions } from "./connection.ts";
import type { Route } from "../../core/market-events.ts";
import type { ConnectionState, ConnectionView } from "../../core/feed.ts";

export type { ConnectionView };
import type { ConnectionPlan } from "./streams.ts";

/** What the status page shows per connection slot. */

export interface RotationOptions {
  /** Socket age at which a replacement is opened. */
  readonly rotateAfterMs: number;
  /** After this long, switch if the replacement delivered every stream the old one delivered meanwhile. */
  readonly settleMs: number;
  /** A replacement that has not qualified by then is dropped. */
  readonly maxWaitMs: number;
  /** Wait before trying again after a failed rotation. */
  readonly retryMs: number;
  /** How often slots check ages and switch conditions. */
  readonly checkEveryMs?: number;
}

/**
 * Rotation timing from the configuration: rotate at `rotateAfterHours`; let a replacement settle for
 * up to 5 s (never longer than the heartbeat timeout) before judging it on the streams that actually
 * delivered; give it up to twice the heartbeat timeout (at least 30 s); retry a failed rotation after
 * a minute, or sooner when connections are rotated very often (tests).
 */
export function rotationOptions(rotateAfterHours: number, heartbeatTimeoutSec: number): RotationOptions {
  const rotateAfterMs = rotateAfterHours * 3_600_000;
  const heartbeatMs = heartbeatTimeoutSec * 1000;
  return {
    rotateAfterMs,
    settleMs: Math.min(5000, heartbeatMs),
    maxWaitMs: Math.max(30_000, 2 * heartbeatMs),
    retryMs: Math.min(60_000, Math.max(1000, rotateAfterMs / 4)),
  };
}

export interface RotationNotice {
  (event: "rotation-start" | "rotation-done" | "rotation-failed", slot: string, fields: Readonly<Record<string, unknown>>): void;
}

/** `{"stream":"<name>",...` → name; null for any other layout (the router deals with those). */
function frameStream(text: string): string | null {
  if (!text.startsWith('{"stream":"')) return null;
  const end = text.indexOf('"', 11);
  return end < 0 ? null : text.slice(11, end);
}

export class ConnectionSlot implements ConnectionView {
  readonly id: string;
  readonly route: Route;
  readonly streams: readonly string[];
  rotations = 0;
  failedRotations = 0;
  private active: StreamConnection;
  private replacement: StreamConnection | null = null;
  private generation = 1;
  /** Totals of retired sockets, so the view's counters never go backwards. */
  private retired = { reconnects: 0, frames: 0, bytes: 0 };
  /** The last error of the retired sockets (a rotation does not wipe the slot's history). */
  private retiredError = { text: "", atMs: 0 };
  private overlapStartedAt = 0;
  private readonly newDelivered = new Set<string>();
  private readonly oldDelivered = new Set<string>();
  private nextTryAt = 0;
  private stopped = false;

  constructor(
    private readonly plan: ConnectionPlan,
    private readonly connOpts: ConnectionOptions,
    private readonly downstream: ConnectionListener,
    private readonly rotation: RotationOptions,
    private readonly notice?: RotationNotice,
  ) {
    this.id = plan.id;
    this.route = plan.route;
    this.streams = plan.streams;
    this.active = this.connection();
  }

  get state(): ConnectionState {
    return this.active.state;
  }
  get reconnects(): number {
    return this.retired.reconnects + this.active.reconnects;
  }
  get frames(): number {
    return this.retired.frames + this.active.frames + (this.replacement?.frames ?? 0);
  }
  get bytes(): number {
    return this.retired.bytes + this.active.bytes + (this.replacement?.bytes ?? 0);
  }
  get lastFrameAtMs(): number {
    return Math.max(this.active.lastFrameAtMs, this.replacement?.lastFrameAtMs ?? 0);
  }
  /** The slot's last error, kept across rotations (a retired socket's, when the active one has none since). */
  get lastError(): string {
    return this.active.lastErrorAtMs >= this.retiredError.atMs ? this.active.lastError : this.retiredError.text;
  }
  get lastErrorAtMs(): number {
    return Math.max(this.active.lastErrorAtMs, this.retiredError.atMs);
  }
  /** The socket connections (active first), for tests and diagnostics. */
  get sockets(): readonly StreamConnection[] {
    return this.replacement === null ? [this.active] : [this.active, this.replacement];
  }

  start(): void {
    this.active.start();
  }

  stop(): void {
    this.stopped = true;
    const r = this.replacement;
    this.replacement = null;
    r?.stop();
    this.active.stop();
  }

  /** Starts, completes or abandons a rotation as due; `now` is performance.now(). */
  check(now: number): void {
    if (this.stopped) return;
    const r = this.replacement;
    if (r === null) {
      if (this.active.state === "open" && now - this.active.connectedAtMono >= this.rotation.rotateAfterMs && now >= this.nextTryAt) this.beginRotation(now);
      return;
    }
    if (r.state === "open" && this.qualifies(now)) return this.switchTo(r, "replacement delivered");
    if (now - this.overlapStartedAt >= this.rotation.maxWaitMs) this.abandonReplacement(now, r.state === "open" ? "replacement did not deliver every stream in time" : `replacement not open (${r.lastError || r.state})`);
  }

  private qualifies(now: number): boolean {
    if (this.newDelivered.size === this.streams.length) return true;
    if (this.newDelivered.size === 0 || now - this.overlapStartedAt < this.rotation.settleMs) return false;
    for (const s of this.oldDelivered) if (!this.newDelivered.has(s)) return false;
    return true;
  }

  private connection(): StreamConnection {
    const conn: StreamConnection = new StreamConnection({ ...this.plan, id: `${this.plan.id}#${this.generation++}` }, this.connOpts, {
      onConnect: (c, reason) => {
        if (c === this.active) this.downstream.onConnect(c, reason);
        else if (c === this.replacement) this.downstream.onConnect(c, "rotation");
      },
      onFrame: (c, text, recvTsMs) => {
        if (c === this.replacement) {
          const s = frameStream(text);
          if (s !== null) this.newDelivered.add(s);
        } else if (c === this.active) {
          if (this.replacement !== null) {
            const s = frameStream(text);
            if (s !== null) this.oldDelivered.add(s);
          }
        } else {
          return;
        }
        this.downstream.onFrame(c, text, recvTsMs);
        if (c === this.replacement && this.newDelivered.size === this.streams.length) this.switchTo(c, "replacement delivered on every stream");
      },
      onRejectedFrame: (c, reason, recvTsMs) => {
        if (c === this.active || c === this.replacement) this.downstream.onRejectedFrame(c, reason, recvTsMs);
      },
      onConnectFailed: (c, reason, retryInMs) => {
        if (c === this.active || c === this.replacement) this.downstream.onConnectFailed?.(c, reason, retryInMs);
      },
      onDisconnect: (c, reason) => {
        if (c === this.active) {
          const r = this.replacement;
          if (r !== null && r.state === "open") {
            // The old socket died during the overlap; the replacement already delivers everything.
            this.switchTo(r, `old socket closed: ${reason}`);
            return;
          }
          if (r !== null) this.abandonReplacement(performance.now(), "old socket closed before the replacement opened");
          this.downstream.onDisconnect(c, reason);
        } else if (c === this.replacement) {
          this.abandonReplacement(performance.now(), `replacement closed: ${reason}`);
        }
      },
    });
    return conn;
  }

  private beginRotation(now: number): void {
    this.overlapStartedAt = now;
    this.newDelivered.clear();
    this.oldDelivered.clear();
    this.replacement = this.connection();
    this.notice?.("rotation-start", this.id, { old: this.active.id, replacement: this.replacement.id, age_s: Math.round((now - this.active.connectedAtMono) / 1000) });
    this.replacement.start();
  }

  private switchTo(r: StreamConnection, why: string): void {
    const old = this.active;
    this.active = r;
    this.replacement = null;
    this.retired.reconnects += old.reconnects;
    this.retired.frames += old.frames;
    this.retired.bytes += old.bytes;
    if (old.lastErrorAtMs > this.retiredError.atMs) this.retiredError = { text: old.lastError, atMs: old.lastErrorAtMs };
    this.rotations++;
    // `old` is neither active nor replacement now: its shutdown disconnect is not forwarded.
    old.stop();
    this.notice?.("rotation-done", this.id, { old: old.id, active: r.id, why, overlap_ms: Math.round(performance.now() - this.overlapStartedAt) });
  }

  private abandonReplacement(now: number, why: string): void {
    const r = this.replacement;
    if (r === null) return;
    this.replacement = null;
    this.retired.frames += r.frames;
    this.retired.bytes += r.bytes;
    r.stop();
    this.failedRotations++;
    this.nextTryAt = now + this.rotation.retryMs;
    this.notice?.("rotation-failed", this.id, { replacement: r.id, why });
  }
}

export class ConnectionManager {
  readonly slots: readonly ConnectionSlot[];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    plans: readonly ConnectionPlan[],
    optionsFor: (route: Route) => ConnectionOptions,
    listener: ConnectionListener,
    private readonly rotation: RotationOptions,
    notice?: RotationNotice,
  ) {
    this.slots = plans.map((p) => new ConnectionSlot(p, optionsFor(p.route), listener, rotation, notice));
  }

  start(): void {
    for (const s of this.slots) s.start();
    const every = this.rotation.checkEveryMs ?? Math.max(50, Math.min(1000, this.rotation.rotateAfterMs / 20));
    this.timer = setInterval(() => {
      // Ages and waits are durations: the monotonic clock, so a stepped wall clock does not move a rotation.
      const now = performance.now();
      for (const s of this.slots) s.check(now);
    }, every);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.slots) s.stop();
  }

  get rotations(): number {
    let n = 0;
    for (const s of this.slots) n += s.rotations;
    return n;
  }

  get failedRotations(): number {
    let n = 0;
    for (const s of this.slots) n += s.failedRotations;
    return n;
  }
}
