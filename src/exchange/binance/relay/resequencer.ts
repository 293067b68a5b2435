/**
 * Puts a store's records of each stream back in sequence before the stream gate. Records of one
 * stream reach the store out of order when they come from several collectors, or from one
 * collector's catch-up after a publish failed while later records went through: the gate would
 * drop a record arriving after a later one as stale (a trade by its id, a book by its `u`), although
 * a collector logged it.
 *
 * A record names its place and the place before it: a trade `a` after `a − 1`, a book `u` after its
 * `pu`. One that does not continue its stream (the place before it is ahead of the last released)
 * waits here, at most `windowMs`, for the records before it; then everything waiting is released in
 * sequence and the gate deals with what is still missing (REST backfill of trades, a gap line and a
 * resync of books).
 *
 * A stream's first records also wait one window, for the same reason: two collectors start at their
 * own moments and reach NATS at their own speed, so the first record to arrive need not be the
 * earliest either of them logged; starting the stream there would drop the earlier ones as old.
 * Streams that begin while another's start window is open share its end, and whatever is released
 * at one tick goes out merged by receipt time, so the lines keep their collectors' receipt times
 * instead of taking the later time of another stream's lines written first (ingest.ts). After a
 * restart the last place is known from the store's own log (resume.ts) and nothing waits.
 */
import type { GateFrame } from "../stream-gate.ts";

interface Waiting {
  readonly seq: number;
  readonly prev: number;
  readonly frame: GateFrame;
}

class StreamQueue {
  /** Place of the last record released, or null before the first. */
  last: number | null;
  /** Waiting records, ascending by place. */
  readonly waiting: Waiting[] = [];
  /** Arrival time of the oldest waiting record. */
  since = 0;

  constructor(last: number | null) {
    this.last = last;
  }
}

export class Resequencer {
  private readonly streams = new Map<string, StreamQueue>();
  private waitingTotal = 0;
  /** End of the last start window opened (streams beginning before it join it), or null before any. */
  private startEndsAt: number | null = null;
  /** Records that arrived out of order and were put back in order here. */
  reordered = 0;

  constructor(
    private readonly windowMs: number,
    private readonly release: (f: GateFrame) => void,
  ) {}

  /** The last place of a stream known from the log (after a restart). */
  resumeAfter(stream: string, last: number): void {
    this.streams.set(stream, new StreamQueue(last));
  }

  get waiting(): number {
    return this.waitingTotal;
  }

  /** The records waiting here. */
  *heldFrames(): IterableIterator<GateFrame> {
    for (const q of this.streams.values()) for (const w of q.waiting) yield w.frame;
  }

  /** One record of `stream` at place `seq`, following place `prev`, received at `nowMs`. */
  offer(stream: string, seq: number, prev: number, f: GateFrame, nowMs: number): void {
    let q = this.streams.get(stream);
    if (q === undefined) this.streams.set(stream, (q = new StreamQueue(null)));
    if (q.last !== null && q.waiting.length === 0 && follows(q.last, seq, prev)) {
      if (seq > q.last) q.last = seq;
      this.release(f);
      return;
    }
    if (q.last !== null && seq <= q.last) {
      // Old: the gate counts it as a duplicate.
      this.release(f);
      return;
    }
    if (q.waiting.length === 0) q.since = q.last === null ? this.startWindowOpenedAt(nowMs) : nowMs;
    insertSorted(q.waiting, { seq, prev, frame: f });
    this.waitingTotal++;
    if (q.last !== null) this.drainInOrder(q);
  }

  /** Releases what waited longer than the window (in sequence), and what is now in order. */
  tick(nowMs: number): void {
    const due: StreamQueue[] = [];
    for (const q of this.streams.values()) {
      if (q.waiting.length > 0 && nowMs - q.since >= this.windowMs) due.push(q);
    }
    if (due.length > 0) this.releaseAll(due);
  }

  /** End of input: everything waiting goes to the gate, in sequence. */
  flush(): void {
    this.releaseAll([...this.streams.values()].filter((q) => q.waiting.length > 0));
  }

  /** When the start window a beginning stream joins opened (a new one opens when none is). */
  private startWindowOpenedAt(nowMs: number): number {
    if (this.startEndsAt === null || nowMs >= this.startEndsAt) this.startEndsAt = nowMs + this.windowMs;
    return this.startEndsAt - this.windowMs;
  }

  private drainInOrder(q: StreamQueue): void {
    while (q.waiting.length > 0 && follows(q.last!, q.waiting[0]!.seq, q.waiting[0]!.prev)) {
      const w = q.waiting.shift()!;
      this.waitingTotal--;
      if (w.seq > q.last!) q.last = w.seq;
      this.reordered++;
      this.release(w.frame);
    }
  }

  /** Everything waiting in `queues`, each in sequence, merged across them by receipt time. */
  private releaseAll(queues: readonly StreamQueue[]): void {
    const lists = queues.map((q) => q.waiting.splice(0));
    for (const list of lists) this.waitingTotal -= list.length;
    const at = lists.map(() => 0);
    for (;;) {
      let pick = -1;
      for (let i = 0; i < lists.length; i++) {
        if (at[i]! < lists[i]!.length && (pick < 0 || lists[i]![at[i]!]!.frame.recvTsMs < lists[pick]![at[pick]!]!.frame.recvTsMs)) pick = i;
      }
      if (pick < 0) return;
      const w = lists[pick]![at[pick]!++]!;
      const q = queues[pick]!;
      if (q.last === null || w.seq > q.last) q.last = w.seq;
      this.release(w.frame);
    }
  }
}

/**
 * Whether a record at `seq` after `prev` may go on when `last` was released: it continues the stream,
 * is old (the gate's business), or overlaps it (a book whose `pu` is behind the last `u` although its
 * own `u` is ahead: nothing to wait for).
 */
function follows(last: number, seq: number, prev: number): boolean {
  return prev <= last || seq <= last;
}

function insertSorted(list: Waiting[], w: Waiting): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > w.seq) i--;
  list.splice(i, 0, w);
}
