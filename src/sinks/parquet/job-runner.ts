/**
 * The Parquet writer's one-job-at-a-time runner. Urgent jobs (writes, retries, maintenance requests,
 * close) go first; background jobs (compaction, the start-up scan, retention) run only when no urgent
 * job waits, and after a background job that asks for it (`pauseBackground`) the next one waits, so
 * an hour turn's merges leave the disk to the rotations' commits. Each job runs from a timer, so
 * messages that arrived meanwhile are queued before the next job starts.
 */
export type Job = () => void | Promise<void>;

export interface JobRunnerOptions {
  /** A job threw or rejected (it is not retried; the runner goes on). */
  readonly onError: (e: unknown) => void;
  /** The queues ran empty. */
  readonly onIdle: () => void;
  /** Take jobs but never run one (a stuck writer, for tests). */
  readonly paused?: boolean;
}

export class JobRunner {
  private readonly urgent: Job[] = [];
  private readonly background: Job[] = [];
  /** Urgent jobs that are writes, so a write can tell whether another one is queued behind it. */
  private readonly writes = new WeakSet<Job>();
  private running = false;
  private backgroundNotBefore = 0;
  private backgroundTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: JobRunnerOptions) {}

  urgently(job: Job): void {
    this.urgent.push(job);
    this.kick();
  }

  /** An urgent job that writes a batch. */
  write(job: Job): void {
    this.writes.add(job);
    this.urgently(job);
  }

  inBackground(job: Job): void {
    this.background.push(job);
  }

  /** True while another write waits in the queue (a burst is going on). */
  writeQueued(): boolean {
    return this.urgent.some((j) => this.writes.has(j));
  }

  /** The next background job waits until `ms` from now (writes do not). */
  pauseBackground(ms: number): void {
    this.backgroundNotBefore = performance.now() + ms;
  }

  /** Forgets every background job not yet started (close). */
  dropBackground(): void {
    this.background.length = 0;
    if (this.backgroundTimer !== null) clearTimeout(this.backgroundTimer);
    this.backgroundTimer = null;
  }

  /** Starts running queued jobs, unless already running. */
  kick(): void {
    if (this.running || this.opts.paused === true) return;
    this.running = true;
    setTimeout(() => this.runNext(), 0);
  }

  private next(): Job | undefined {
    const job = this.urgent.shift();
    if (job !== undefined || this.background.length === 0) return job;
    const wait = this.backgroundNotBefore - performance.now();
    if (wait <= 0) return this.background.shift();
    if (this.backgroundTimer === null) {
      this.backgroundTimer = setTimeout(() => {
        this.backgroundTimer = null;
        this.kick();
      }, wait);
    }
    return undefined;
  }

  private async runNext(): Promise<void> {
    const job = this.next();
    if (job === undefined) {
      this.running = false;
      this.opts.onIdle();
      return;
    }
    try {
      await job();
    } catch (e) {
      this.opts.onError(e);
    }
    // A timer, not a loop: messages that arrived meanwhile are queued before the next job runs.
    setTimeout(() => this.runNext(), 0);
  }
}
