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
 * A stream's first record is released at once and starts it: the store's data of a stream begins
 * there, as a collector's begins at its first frame. (Holding the first records one window, to sort
 * the earliest of them too, delayed every trade of a new store behind its books, and the ingest
 * then had to give those trades the later time of the book lines written meanwhile.) After a
 * restart the last place is known from the store's own log (resume.ts).
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

  /** One record of `stream` at place `seq`, following place `prev`, received at `nowMs`. */
  offer(stream: string, seq: number, prev: number, f: GateFrame, nowMs: number): void {
    let q = this.streams.get(stream);
    if (q === undefined) this.streams.set(stream, (q = new StreamQueue(null)));
    if (q.waiting.length === 0 && (q.last === null || follows(q.last, seq, prev))) {
      if (q.last === null || seq > q.last) q.last = seq;
      this.release(f);
      return;
    }
    if (seq <= q.last!) {
      // Old: the gate counts it as a duplicate.
      this.release(f);
      return;
    }
    if (q.waiting.length === 0) q.since = nowMs;
    insertSorted(q.waiting, { seq, prev, frame: f });
    this.waitingTotal++;
    this.drainInOrder(q);
  }

  /** Releases what waited longer than the window (in sequence), and what is now in order. */
  tick(nowMs: number): void {
    for (const q of this.streams.values()) {
      if (q.waiting.length > 0 && nowMs - q.since >= this.windowMs) this.releaseAll(q);
    }
  }

  /** End of input: everything waiting goes to the gate, in sequence. */
  flush(): void {
    for (const q of this.streams.values()) if (q.waiting.length > 0) this.releaseAll(q);
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

  private releaseAll(q: StreamQueue): void {
    const list = q.waiting.splice(0);
    this.waitingTotal -= list.length;
    for (const w of list) {
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
