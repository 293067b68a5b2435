// The exchange's clock: plays every symbol's script in recorded event-time order at `speed`,
// looping with shifted ids, whether or not anyone is connected.
import type { DepthItem, ScriptItem, SymbolScript } from "./script.ts";
import type { Frame } from "./types.ts";

export interface Track {
  readonly symbol: string;
  readonly script: SymbolScript;
  /** Recorded ms this track runs ahead of the exchange clock (spreads synthetic clones). */
  readonly phase: number;
  readonly tradeStream: string;
  readonly depthStream: string;
  /** `<sym>@depth@100ms` (served with the diffDepth option). */
  readonly diffStream: string;
  loop: number;
  idx: number;
  /** Exchange time (recorded ms since start of loop 0 of the recording) of items[idx]. */
  nextAt: number;
  lastE: number;
  /** Last T sent per kind: the loop wrap may otherwise step T back by up to the recorded E−T lag. */
  lastTradeT: number;
  lastDepthT: number;
  lastDepth: { loop: number; item: DepthItem } | undefined;
  done: boolean;
}

export function makeTrack(symbol: string, script: SymbolScript, phase: number, startAt: number): Track {
  const lower = symbol.toLowerCase();
  const track: Track = {
    symbol,
    script,
    phase,
    tradeStream: `${lower}@aggTrade`,
    depthStream: `${lower}@depth5@100ms`,
    diffStream: `${lower}@depth@100ms`,
    loop: 0,
    idx: 0,
    nextAt: 0,
    lastE: 0,
    lastTradeT: 0,
    lastDepthT: 0,
    lastDepth: undefined,
    done: false,
  };
  const local = startAt + phase;
  track.loop = Math.floor(local / script.period);
  const offset = local - track.loop * script.period;
  const items = script.items;
  let i = 0;
  while (i < items.length && items[i].t < offset) i++;
  if (i === items.length) {
    track.loop++;
    i = 0;
  }
  track.idx = i;
  track.nextAt = track.loop * script.period + items[i].t - phase;
  return track;
}

/**
 * Payload text for one script item at loop `loop`, sent at wall time E. T is the item's recorded
 * transaction time carried through the exchange clock (so the recorded E−T lag shrinks with the
 * speed and trade times stay ordered whatever the timer jitter), never after E.
 */
export function renderItem(track: Track, item: ScriptItem, loop: number, E: number, T: number): Frame {
  const sh = track.script.shift;
  if (item.kind === "trade") {
    const a = item.a + loop * sh.a;
    const f = item.f + loop * sh.tradeId;
    const l = item.l + loop * sh.tradeId;
    return {
      stream: track.tradeStream,
      symbol: track.symbol,
      kind: "aggTrade",
      data: `{"e":"aggTrade","E":${E},"a":${a},"s":"${track.symbol}",${item.pq},"f":${f},"l":${l},"T":${T},"m":${item.m}}`,
    };
  }
  if (item.kind === "diff") {
    const d = loop * sh.diffId;
    return {
      stream: track.diffStream,
      symbol: track.symbol,
      kind: "depthDiff",
      data: `{"e":"depthUpdate","E":${E},"T":${T},"s":"${track.symbol}","U":${item.U + d},"u":${item.u + d},"pu":${item.pu + d},${item.book}}`,
    };
  }
  const d = loop * sh.updateId;
  return {
    stream: track.depthStream,
    symbol: track.symbol,
    kind: "depth5",
    data: `{"e":"depthUpdate","E":${E},"T":${T},"s":"${track.symbol}","U":${item.U + d},"u":${item.u + d},"pu":${item.pu + d},${item.book}}`,
  };
}

export interface ReplayOptions {
  readonly speed: number;
  readonly loop: boolean;
  readonly startOffsetMs: number;
}

// Bounds one timer callback so a slow consumer cannot starve the sockets and HTTP handlers.
const MAX_ITEMS_PER_TICK = 20_000;

export class Replayer {
  private readonly heap: Track[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private startPerf = 0;
  private startWall = 0;
  private running = false;
  /** Exchange time at startPerf, and its speed from then on (setSpeed rebases both). */
  private offsetMs: number;
  private speed: number;

  constructor(
    readonly tracks: readonly Track[],
    private readonly opts: ReplayOptions,
    private readonly emit: (track: Track, frame: Frame, item: ScriptItem, loop: number) => void,
    /** Called after each batch of emits (the server writes its queued frames here). */
    private readonly afterBatch: () => void,
  ) {
    for (const t of tracks) this.push(t);
    this.offsetMs = opts.startOffsetMs;
    this.speed = opts.speed;
  }

  /** From now on the clock runs at `speed` (benchmarks: a warm-up at a lower rate, then the rate measured). */
  setSpeed(speed: number): void {
    if (!(speed > 0)) throw new Error("fake exchange: speed must be > 0");
    if (this.running) {
      this.offsetMs = this.now();
      this.startPerf = performance.now();
      this.startWall = Date.now();
    }
    this.speed = speed;
    if (this.running && this.timer) {
      clearTimeout(this.timer);
      this.tick();
    }
  }

  /** Current exchange time in recorded ms. */
  now(): number {
    return this.offsetMs + (performance.now() - this.startPerf) * this.speed;
  }

  /** Wall-clock ms at which the exchange clock reads x. */
  private wallOf(x: number): number {
    return this.startWall + (x - this.offsetMs) / this.speed;
  }

  start(): void {
    this.startPerf = performance.now();
    this.startWall = Date.now();
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const x = this.now();
    const wall = Date.now();
    let n = 0;
    while (this.heap.length > 0 && this.heap[0].nextAt <= x && n < MAX_ITEMS_PER_TICK) {
      const track = this.heap[0];
      const item = track.script.items[track.idx];
      const E = Math.max(wall, track.lastE);
      track.lastE = E;
      const loop = track.loop;
      let T = Math.min(E, Math.floor(this.wallOf(track.nextAt - item.lag)));
      if (item.kind === "trade") T = track.lastTradeT = Math.max(T, track.lastTradeT);
      else T = track.lastDepthT = Math.max(T, track.lastDepthT);
      const frame = renderItem(track, item, loop, E, T);
      if (item.kind === "depth") track.lastDepth = { loop, item };
      this.advance(track);
      this.emit(track, frame, item, loop);
      n++;
    }
    if (n > 0) this.afterBatch();
    if (!this.running || this.heap.length === 0) return;
    const delay = n >= MAX_ITEMS_PER_TICK ? 0 : Math.max(0, (this.heap[0].nextAt - this.now()) / this.speed);
    this.timer = setTimeout(this.tick, delay);
  };

  private advance(track: Track): void {
    const items = track.script.items;
    track.idx++;
    if (track.idx === items.length) {
      if (!this.opts.loop) {
        track.done = true;
        this.pop();
        return;
      }
      track.idx = 0;
      track.loop++;
    }
    track.nextAt = track.loop * track.script.period + items[track.idx].t - track.phase;
    this.siftDown(0);
  }

  // Binary min-heap on nextAt: frames of all symbols leave in global event-time order.
  private push(t: Track): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].nextAt <= h[i].nextAt) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].nextAt < h[m].nextAt) m = l;
      if (r < h.length && h[r].nextAt < h[m].nextAt) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
