/**
 * Closed hour files waiting for compression, compressed one at a time.
 *
 * Every symbol's hour file closes in the same second when the UTC hour turns. Started together, the
 * 50 gzip streams of a 50-symbol collector raised RSS from ≈ 136 to 213.6 MiB at the turn (4 minutes
 * of data per file); one after another, to 160.8 (bench/memory.ts --hour-turn-at 240, docs/storage.md).
 * They take the same CPU in all.
 */
export class CompressionQueue {
  private readonly waiting: { readonly path: string; readonly settle: () => void }[] = [];
  /** Per path: settles when its compression has ended (done or failed). */
  private readonly ended = new Map<string, Promise<void>>();
  private running = false;

  constructor(private readonly compress: (path: string) => Promise<void>) {}

  /** Queues `path` unless it is already queued or being compressed. */
  add(path: string): void {
    if (this.ended.has(path)) return;
    let settle!: () => void;
    this.ended.set(path, new Promise<void>((r) => (settle = r)));
    this.waiting.push({ path, settle });
    this.next();
  }

  /** Settles when `path` is neither queued nor being compressed. */
  whenFree(path: string): Promise<void> | undefined {
    return this.ended.get(path);
  }

  /** Settles when every compression queued so far has ended. */
  idle(): Promise<void> {
    return Promise.all([...this.ended.values()]).then(() => undefined);
  }

  get size(): number {
    return this.ended.size;
  }

  private next(): void {
    if (this.running) return;
    const job = this.waiting.shift();
    if (job === undefined) return;
    this.running = true;
    // `compress` reports its own failures; whatever it throws still ends this file's turn.
    void this.compress(job.path)
      .catch(() => undefined)
      .finally(() => {
        this.ended.delete(job.path);
        job.settle();
        this.running = false;
        this.next();
      });
  }
}
