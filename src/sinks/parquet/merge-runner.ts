/**
 * The writer worker's handle on merge-worker.ts. The thread is started by the first merge and
 * ended once no merge has been asked of it for IDLE_MS, so the memory a round of merges used goes
 * with it (merge-worker.ts says why). A round is paced by the writer (a pause of a few times each
 * merge's length between them), well within IDLE_MS, so it runs in one thread.
 */
import type { CompactOutcome } from "../storage/compaction.ts";
import type { FromMergeWorker, MergeInit, ToMergeWorker, WriteErrorInfo } from "./protocol.ts";

/** A merge's outcome, or why it could not be had (the merge worker's failure included). */
export type MergeResult = { readonly outcome: CompactOutcome } | { readonly error: WriteErrorInfo };

const IDLE_MS = 10_000;

export class MergeRunner {
  private worker: Bun.Worker | null = null;
  private readonly pending = new Map<number, { readonly dir: string; readonly settle: (r: MergeResult) => void }>();
  private nextId = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly specifier: string,
    private readonly init: () => MergeInit,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Whether the merge thread is running (tests, and what a stop has to end). */
  get running(): boolean {
    return this.worker !== null;
  }

  merge(root: string, dir: string, hour: number): Promise<MergeResult> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    let w: Bun.Worker;
    try {
      w = this.worker ?? this.start();
    } catch (e) {
      return Promise.resolve({ error: { code: "EWORKER", message: `cannot start the merge worker: ${(e as Error).message}`, path: dir } });
    }
    const id = ++this.nextId;
    return new Promise((settle) => {
      this.pending.set(id, { dir, settle });
      w.postMessage({ type: "merge", id, root, dir, hour } satisfies ToMergeWorker);
    });
  }

  /** Ends the thread now; merges still pending get an error. */
  stop(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.end("the writer is closing");
  }

  private start(): Bun.Worker {
    const w = new Worker(this.specifier) as unknown as Bun.Worker;
    w.onmessage = ((ev: MessageEvent) => this.onMessage(ev.data as FromMergeWorker)) as unknown as Bun.Worker["onmessage"];
    w.addEventListener("error", (ev: Event) => this.end(`the merge worker failed: ${(ev as ErrorEvent).message || "worker error"}`, w));
    w.addEventListener("close", () => this.end("the merge worker exited", w));
    w.postMessage(this.init() satisfies ToMergeWorker);
    // The writer's own message handler keeps its thread alive; this one must not, once idle.
    w.unref();
    this.worker = w;
    return w;
  }

  private onMessage(msg: FromMergeWorker): void {
    if (msg.type !== "merged") return;
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    p.settle("error" in msg ? { error: msg.error } : { outcome: msg.outcome });
    if (this.pending.size === 0 && this.worker !== null) this.idleTimer = setTimeout(() => this.end("idle"), this.idleMs);
  }

  /** Terminates `only` (or the current thread) and fails whatever it still owed. */
  private end(why: string, only?: Bun.Worker): void {
    const w = this.worker;
    if (w === null || (only !== undefined && only !== w)) return;
    this.worker = null;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    w.terminate();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.settle({ error: { code: "EWORKER", message: `merge not done: ${why}`, path: p.dir } });
    }
  }
}
