/**
 * An asynchronous check run now and then: the first after `firstMs`, the next `everyMs` after the
 * previous one ended (a slow answer never overlaps the next), none once stopped. The timer does not
 * hold the process open.
 */
export class Periodic {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private done = false;

  constructor(
    private readonly firstMs: number,
    private readonly everyMs: number,
    private readonly run: () => Promise<void>,
  ) {}

  /** True once stop() was called: a run that was in flight checks it before it acts on its answer. */
  get stopped(): boolean {
    return this.done;
  }

  start(): void {
    this.schedule(Math.min(this.firstMs, this.everyMs));
  }

  stop(): void {
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.done) return;
    this.timer = setTimeout(() => void this.run().finally(() => this.schedule(this.everyMs)), ms);
    this.timer.unref?.();
  }
}
