/**
 * An asynchronous check run now and then: the first after `firstMs`, the next `everyMs` after the
 * previous one ended (a slow answer never overlaps the next), none once stopped. The timer does not
 * hold the process open. `everyMs` may be a function, asked after each run (a backoff after failures).
 */
export class Periodic {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private done = false;

  constructor(
    private readonly firstMs: number,
    private readonly everyMs: number | (() => number),
    private readonly run: () => Promise<void>,
  ) {}

  /** True once stop() was called: a run that was in flight checks it before it acts on its answer. */
  get stopped(): boolean {
    return this.done;
  }

  start(): void {
    this.schedule(Math.min(this.firstMs, this.interval()));
  }

  stop(): void {
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private interval(): number {
    return typeof this.everyMs === "number" ? this.everyMs : this.everyMs();
  }

  private schedule(ms: number): void {
    if (this.done) return;
    this.timer = setTimeout(() => void this.run().finally(() => this.schedule(this.interval())), ms);
    this.timer.unref?.();
  }
}
