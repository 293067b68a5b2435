/**
 * Binance raw-log lines relayed by collectors (core/feed.ts `Relay`, the `store` command): each line
 * back to the frame its collector accepted (record-frame.ts), trades and books put back in sequence
 * (resequencer.ts), then the same stream gate a collector's own feed uses — dedup by id whichever
 * collector sent it first, gap detection, REST backfill of what no collector delivered.
 *
 * With the full book (`feed.depth = "full"`) the relayed diff messages are gated like a collector's,
 * and the store takes its own REST snapshots when its book asks: a snapshot line in a collector's log
 * belongs to that collector's book (taken at its moment, applied to its diffs) and is not relayed
 * into the store's.
 */
import type { FeedOutput, Relay, RelayOptions, RelayOutcome } from "../../../core/feed.ts";
import type { Logger } from "../../../util/log.ts";
import type { BinanceFeedParams } from "../params.ts";
import { RecoveringGate } from "../recovering-gate.ts";
import type { RestClient } from "../rest-client.ts";
import type { GateFrame, StreamGate } from "../stream-gate.ts";
import { streamName } from "../streams.ts";
import { recordInput } from "./record-frame.ts";
import { Resequencer } from "./resequencer.ts";

export class BinanceRelay implements Relay {
  private readonly recovering: RecoveringGate;
  private readonly gate: StreamGate;
  private readonly reseq: Resequencer;
  /** Resume ids not yet passed, per stream kind and symbol. */
  private readonly resumeTrade = new Map<string, number>();
  private readonly resumeDepth = new Map<string, number>();
  private readonly begun = new Set<string>();
  /** Each frame's record tag (offer), for `holding`. */
  private readonly tags = new WeakMap<GateFrame, number>();

  constructor(
    symbols: readonly string[],
    feed: BinanceFeedParams,
    rest: RestClient,
    out: FeedOutput,
    private readonly opts: RelayOptions,
    log: Logger,
  ) {
    this.recovering = new RecoveringGate(symbols, rest, feed, out, log);
    const depthStream = (symbol: string) => streamName(symbol, "depth", feed.depth);
    this.gate = this.recovering.gate;
    this.reseq = new Resequencer(opts.reorderWindowMs, (f) => this.toGate(f));
    for (const s of symbols) {
      const r = opts.resume.get(s);
      // What the log holds is the gate's past: a hole right after a restart is a gap like any other.
      if (r?.trade != null) {
        this.resumeTrade.set(s, r.trade);
        this.reseq.resumeAfter(streamName(s, "aggTrade"), r.trade);
        this.gate.resumeAt(streamName(s, "aggTrade"), r.trade);
      }
      if (r?.depth != null) {
        this.resumeDepth.set(s, r.depth);
        this.reseq.resumeAfter(depthStream(s), r.depth);
        this.gate.resumeAt(depthStream(s), r.depth);
      }
    }
  }

  offer(line: string, symbol: string, source: number, t0: number, tag: number): RelayOutcome {
    const r = recordInput(line, symbol, source, t0);
    if (r.type !== "frame") return r;
    const f = r.frame;
    this.tags.set(f, tag);
    const ev = f.event;
    if (ev !== null) {
      const resume = ev.kind === "aggTrade" ? this.resumeTrade : this.resumeDepth;
      const last = resume.get(symbol);
      if (last !== undefined) {
        if ((ev.kind === "aggTrade" ? ev.aggId : ev.lastId) <= last) return { type: "logged" };
        resume.delete(symbol);
      }
    }
    // Trades by id, books by their `pu` → `u` chain (a book without `pu` follows whatever came before).
    if (ev === null) this.toGate(f);
    else if (ev.kind === "aggTrade") this.reseq.offer(f.stream, ev.aggId, ev.aggId - 1, f, performance.now());
    else this.reseq.offer(f.stream, ev.lastId, ev.prevLastId ?? Number.NEGATIVE_INFINITY, f, performance.now());
    return { type: "frame", event: ev, recvTsMs: f.recvTsMs };
  }

  /** Full-depth mode: the store fetches its own snapshots; the collectors' are their own story. */
  requestDepthSnapshot(symbol: string): void {
    this.recovering.requestDepthSnapshot(symbol);
  }

  /** `nowMs` is monotonic (`performance.now()`), as the waits it ends are durations. */
  tick(nowMs: number): void {
    this.reseq.tick(nowMs);
    this.gate.tick(nowMs);
  }

  get pending(): number {
    return this.gate.totals.held + this.reseq.waiting;
  }

  holding(): ReadonlySet<number> {
    const held = new Set<number>();
    for (const frames of [this.reseq.heldFrames(), this.gate.heldFrames()]) {
      for (const f of frames) {
        const tag = this.tags.get(f);
        if (tag !== undefined) held.add(tag);
      }
    }
    return held;
  }

  get reordered(): number {
    return this.reseq.reordered;
  }

  drain(): void {
    this.reseq.flush();
    this.recovering.stop();
  }

  totals(): Readonly<Record<string, number>> {
    return this.recovering.totals();
  }

  counters(symbol: string): Readonly<Record<string, number>> | undefined {
    return this.gate.bySymbol.get(symbol) as Readonly<Record<string, number>> | undefined;
  }

  private toGate(f: GateFrame): void {
    const symbol = this.gate.symbolOf(f.stream)!;
    if (!this.begun.has(symbol)) {
      this.begun.add(symbol);
      this.opts.beginSession(symbol, f.recvTsMs);
    }
    this.gate.offer(f);
  }
}
