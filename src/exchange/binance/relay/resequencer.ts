/**
 * Puts a store's trades back in id order before the stream gate. Records of one stream reach the
 * store out of order when they come from several collectors, or from one collector's catch-up after
 * a publish failed while later records went through: the gate would drop a lower id arriving after
 * a higher one as stale. A trade that does not continue its stream (`a` is not the next id) waits
 * here, at most `windowMs`, for the ids before it; then everything waiting is released in id order
 * and the gate deals with what is still missing (REST backfill, or a gap line).
 *
 * The next id is known after the first release, or from the store's own log after a restart
 * (resume.ts); at the very start of a stream every record waits one window, so the earliest ids of
 * the stream are sorted too.
 */
import type { GateFrame } from "../stream-gate.ts";

interface Waiting {
  readonly id: number;
  readonly frame: GateFrame;
}

class StreamQueue {
  /** Next id expected, or null while unknown. */
  next: number | null;
  /** Waiting records, ascending by id. */
  readonly waiting: Waiting[] = [];
  /** Arrival time of the oldest waiting record. */
  since = 0;

  constructor(next: number | null) {
    this.next = next;
  }
}

export class TradeResequencer {
  private readonly streams = new Map<string, StreamQueue>();
  private waitingTotal = 0;
  /** Records that arrived out of order and were put back in order here. */
  reordered = 0;

  constructor(
    private readonly windowMs: number,
    private readonly release: (f: GateFrame) => void,
  ) {}

  /** The next id of a stream known from the log (after a restart). */
  expect(stream: string, nextId: number): void {
    this.streams.set(stream, new StreamQueue(nextId));
  }

  get waiting(): number {
    return this.waitingTotal;
  }

  /** One trade of `stream` with id `id`, received at `nowMs`. */
  offer(stream: string, id: number, f: GateFrame, nowMs: number): void {
    let q = this.streams.get(stream);
    if (q === undefined) this.streams.set(stream, (q = new StreamQueue(null)));
    if (q.next !== null && id <= q.next && q.waiting.length === 0) {
      // In order (or old: the gate counts it as a duplicate).
      if (id === q.next) q.next++;
      this.release(f);
      return;
    }
    if (q.next !== null && id < q.next) {
      this.release(f);
      return;
    }
    if (q.waiting.length === 0) q.since = nowMs;
    insertSorted(q.waiting, { id, frame: f });
    this.waitingTotal++;
    if (id === q.next) this.drainInOrder(q);
  }

  /** Releases what waited longer than the window (in id order), and what is now in order. */
  tick(nowMs: number): void {
    for (const q of this.streams.values()) {
      if (q.waiting.length > 0 && nowMs - q.since >= this.windowMs) this.releaseAll(q);
    }
  }

  /** End of input: everything waiting goes to the gate, in id order. */
  flush(): void {
    for (const q of this.streams.values()) if (q.waiting.length > 0) this.releaseAll(q);
  }

  private drainInOrder(q: StreamQueue): void {
    while (q.waiting.length > 0 && q.next !== null && q.waiting[0]!.id <= q.next) {
      const w = q.waiting.shift()!;
      this.waitingTotal--;
      if (w.id === q.next) q.next++;
      this.reordered++;
      this.release(w.frame);
    }
  }

  private releaseAll(q: StreamQueue): void {
    const list = q.waiting.splice(0);
    this.waitingTotal -= list.length;
    for (const w of list) {
      if (q.next === null || w.id >= q.next) q.next = w.id + 1;
      this.release(w.frame);
    }
  }
}

function insertSorted(list: Waiting[], w: Waiting): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.id > w.id) i--;
  list.splice(i, 0, w);
}
