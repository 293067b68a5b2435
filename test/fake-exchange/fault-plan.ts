// A seeded schedule of faults for end-to-end tests: abrupt TCP cuts every N ms, connections that go
// silent, duplicate resends, skipped depth messages, withheld trades, malformed frames (a 2 MB one
// included), rejected upgrades and REST throttling. Every decision comes from one seeded PRNG, and
// every fault injected is recorded, so a test can compare the collector's counters with what was done.
import type { Faults } from "./faults.ts";
import type { ConnectionRecord, ConnectionView, Frame, Route } from "./types.ts";
import { prng } from "../helpers/prng.ts";
export { prng };

export type MalformedKind = "not-json" | "not-object" | "bad-id-type" | "missing-time" | "null-data" | "unknown-stream" | "oversized";

/** Malformed kinds a collector must count as bad frames (the rest: unexpected frames). */
export const BAD_FRAME_KINDS: readonly MalformedKind[] = ["not-json", "not-object", "bad-id-type", "missing-time", "null-data", "oversized"];

export interface FaultPlan {
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /** Cut every open connection (of `dropRoute`, default all) without a close frame, every N ms. */
  readonly dropEveryMs?: number;
  readonly dropRoute?: Route;
  /** Every N ms one open connection (of `silenceRoute`, default any) stops receiving data but stays open. */
  readonly silenceEveryMs?: number;
  readonly silenceRoute?: Route;
  /** Probability that a data frame is sent twice on a connection. */
  readonly duplicateRate?: number;
  /** Probability that a produced depth frame is withheld from everyone (never two in a row per symbol). */
  readonly skipDepthRate?: number;
  /** Probability that a produced trade is withheld from every socket (REST still serves it). */
  readonly withholdTradeRate?: number;
  /** One malformed frame, kinds in turn, is slipped in before a data frame every N ms. */
  readonly malformedEveryMs?: number;
  /** Kinds to cycle through (default: all). */
  readonly malformedKinds?: readonly MalformedKind[];
  /** Size of the oversized frame (default 2 MiB). */
  readonly oversizedBytes?: number;
  /** The first n upgrade attempts get HTTP 429 (or `status`) with Retry-After. */
  readonly rejectFirstUpgrades?: { readonly count: number; readonly status?: number; readonly retryAfterSec?: number };
  /** The first n REST requests get HTTP 429 (or `status`) with Retry-After. */
  readonly rejectFirstRest?: { readonly count: number; readonly status?: number; readonly retryAfterSec?: number };
  /**
   * No duplicate or malformed frame is injected this close before a scheduled drop (a cut can lose
   * frames in flight, which would make the injected counts unknowable). Default 400 ms.
   */
  readonly guardMs?: number;
}

export interface InjectedDuplicate {
  readonly connId: number;
  readonly stream: string;
  readonly at: number;
}
export interface InjectedMalformed {
  readonly connId: number;
  readonly kind: MalformedKind;
  readonly at: number;
}

export interface FaultLog {
  /** Each drop: when, and which connections were cut. */
  readonly drops: { readonly at: number; readonly connIds: readonly number[] }[];
  readonly silenced: { readonly at: number; readonly connId: number }[];
  readonly duplicates: InjectedDuplicate[];
  readonly skippedDepth: { readonly symbol: string; readonly u: number; readonly at: number }[];
  readonly withheldTrades: { readonly symbol: string; readonly a: number; readonly at: number }[];
  readonly malformed: InjectedMalformed[];
}

export interface FaultControl {
  readonly log: FaultLog;
  /** Stops scheduling and injecting (silenced connections stay silent). */
  stop(): void;
}


export interface FaultTargets {
  readonly faults: Faults;
  openConnections(): readonly ConnectionRecord[];
  drop(connIds: readonly number[]): void;
}

const ALL_KINDS: readonly MalformedKind[] = ["not-json", "not-object", "bad-id-type", "missing-time", "null-data", "unknown-stream", "oversized"];

export function malformedFrame(kind: MalformedKind, frame: Frame, oversizedBytes: number): string {
  switch (kind) {
    case "not-json":
      return `{"stream":"${frame.stream}","data":{"e":`;
    case "not-object":
      return "[1,2,3]";
    case "bad-id-type": {
      const key = frame.kind === "aggTrade" ? "a" : "u";
      return `{"stream":"${frame.stream}","data":${frame.data.replace(new RegExp(`"${key}":(\\d+)`), `"${key}":"$1"`)}}`;
    }
    case "missing-time": {
      const d = JSON.parse(frame.data) as Record<string, unknown>;
      delete d.E;
      delete d.T;
      return `{"stream":"${frame.stream}","data":${JSON.stringify(d)}}`;
    }
    case "null-data":
      return `{"stream":"${frame.stream}","data":null}`;
    case "unknown-stream":
      return `{"stream":"${frame.symbol.toLowerCase()}@markPrice","data":{"e":"markPriceUpdate","E":${Date.now()},"s":"${frame.symbol}","p":"1"}}`;
    case "oversized": {
      const head = `{"stream":"${frame.stream}","data":{"pad":"`;
      const tail = `"}}`;
      return head + "x".repeat(Math.max(0, oversizedBytes - head.length - tail.length)) + tail;
    }
  }
}

export function startFaultPlan(plan: FaultPlan, t: FaultTargets): FaultControl {
  const rnd = prng(plan.seed ?? 1);
  const guardMs = plan.guardMs ?? 400;
  const log: FaultLog = { drops: [], silenced: [], duplicates: [], skippedDepth: [], withheldTrades: [], malformed: [] };
  const timers: ReturnType<typeof setInterval>[] = [];
  const startedAt = Date.now();
  let running = true;

  if (plan.rejectFirstUpgrades) t.faults.rejectUpgrades(plan.rejectFirstUpgrades.count, plan.rejectFirstUpgrades.status ?? 429, plan.rejectFirstUpgrades.retryAfterSec);
  if (plan.rejectFirstRest) t.faults.rejectRest(plan.rejectFirstRest.count, plan.rejectFirstRest.status ?? 429, plan.rejectFirstRest.retryAfterSec);

  // Drops run on a timeout chain; from `guardMs` before each drop until it has happened, nothing is
  // injected.
  let dropQuiet = false;
  const quiet = (): boolean => dropQuiet;
  let dropTimer: ReturnType<typeof setTimeout> | undefined;
  if (plan.dropEveryMs) {
    const every = plan.dropEveryMs;
    let k = 1;
    const arm = () => {
      const dropAt = startedAt + k * every;
      dropTimer = setTimeout(() => {
        if (!running) return;
        dropQuiet = true;
        dropTimer = setTimeout(() => {
          if (!running) return;
          const ids = t
            .openConnections()
            .filter((c) => plan.dropRoute === undefined || c.route === plan.dropRoute)
            .map((c) => c.id);
          log.drops.push({ at: Date.now(), connIds: ids });
          t.drop(ids);
          dropQuiet = false;
          k++;
          arm();
        }, Math.max(0, dropAt - Date.now()));
      }, Math.max(0, dropAt - guardMs - Date.now()));
    };
    arm();
  }
  if (plan.silenceEveryMs) {
    timers.push(
      setInterval(() => {
        const open = t.openConnections().filter((c) => (plan.silenceRoute === undefined || c.route === plan.silenceRoute) && !t.faults.isConnSilenced(c.id));
        if (open.length === 0) return;
        const c = open[Math.floor(rnd() * open.length)]!;
        t.faults.silenceConn(c.id);
        log.silenced.push({ at: Date.now(), connId: c.id });
      }, plan.silenceEveryMs),
    );
  }
  let malformedDue = 0;
  let malformedNext = 0;
  const kinds = plan.malformedKinds ?? ALL_KINDS;
  if (plan.malformedEveryMs) timers.push(setInterval(() => malformedDue++, plan.malformedEveryMs));

  const lastSkipped = new Set<string>();
  t.faults.hooks = {
    beforePublish(frame: Frame): Frame | null | undefined {
      if (!running) return undefined;
      if ((frame.kind === "depth5" || frame.kind === "depthDiff") && plan.skipDepthRate) {
        if (!lastSkipped.has(frame.symbol) && rnd() < plan.skipDepthRate) {
          lastSkipped.add(frame.symbol);
          log.skippedDepth.push({ symbol: frame.symbol, u: (JSON.parse(frame.data) as { u: number }).u, at: Date.now() });
          return null;
        }
        lastSkipped.delete(frame.symbol);
      }
      if (frame.kind === "aggTrade" && plan.withholdTradeRate && rnd() < plan.withholdTradeRate) {
        log.withheldTrades.push({ symbol: frame.symbol, a: (JSON.parse(frame.data) as { a: number }).a, at: Date.now() });
        return null;
      }
      return undefined;
    },
    beforeSend(text: string, frame: Frame, conn: ConnectionView): readonly string[] | undefined {
      if (!running) return undefined;
      const now = Date.now();
      if (quiet()) return undefined;
      let out: string[] | undefined;
      if (malformedDue > 0) {
        malformedDue--;
        const kind = kinds[malformedNext++ % kinds.length]!;
        log.malformed.push({ connId: conn.id, kind, at: now });
        out = [malformedFrame(kind, frame, plan.oversizedBytes ?? 2 * 1024 * 1024), text];
      }
      if (plan.duplicateRate && rnd() < plan.duplicateRate) {
        log.duplicates.push({ connId: conn.id, stream: frame.stream, at: now });
        (out ??= [text]).push(text);
      }
      return out;
    },
  };

  return {
    log,
    stop() {
      running = false;
      for (const tm of timers) clearInterval(tm);
      if (dropTimer !== undefined) clearTimeout(dropTimer);
    },
  };
}
