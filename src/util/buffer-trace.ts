/**
 * `HARVESTD_BUFFER_TRACE=FILE`: where a thread's memory outside JS objects goes. Typed arrays and
 * Buffers keep their bytes outside the JS heap (jsc `extraMemorySize`), so a heap snapshot counts them
 * but cannot say who made them. While the trace runs, every typed array or Buffer of 2 KiB or more is
 * counted against the place that made it (three stack frames), and counted off again when it is
 * collected. Once a minute (`HARVESTD_BUFFER_TRACE_EVERY_S`), after a full collection, the sites
 * holding the most live bytes are appended to FILE as one JSON line, with what each site made in all.
 *
 * A diagnosis, not a feature: it slows allocation down (a stack trace per large buffer). It found that
 * the ingest thread's dedup rings and NDJSON line buffers held 13 MiB at 50 symbols (docs/performance.md).
 */
import { appendFileSync } from "node:fs";
import { heapStats } from "bun:jsc";

/** Buffers smaller than this are not traced: the cost of a stack trace each is not worth their bytes. */
const TRACE_MIN_BYTES = 2048;
/** Sites written per report. */
const REPORT_SITES = 25;
const STACK_FRAMES = 3;

interface Counts {
  /** Bytes of the site's buffers not yet collected, and how many buffers. */
  liveBytes: number;
  live: number;
  /** Every buffer the site made since the trace started, and their bytes. */
  made: number;
  madeBytes: number;
}

export type TraceSite = { readonly site: string } & Readonly<Counts>;

const TYPED_ARRAYS = ["Float64Array", "Float32Array", "Int32Array", "Uint32Array", "Uint8Array"] as const;
const BUFFER_FACTORIES = ["alloc", "allocUnsafe", "allocUnsafeSlow", "from"] as const;

export class BufferTrace {
  private readonly sites = new Map<string, Counts>();
  private readonly registry = new FinalizationRegistry<{ readonly counts: Counts; readonly bytes: number }>((h) => {
    h.counts.liveBytes -= h.bytes;
    h.counts.live--;
  });
  private readonly restore: (() => void)[] = [];

  /** Starts counting: replaces the typed array constructors and Buffer's factories of this thread. */
  constructor() {
    const g = globalThis as unknown as Record<string, unknown>;
    for (const name of TYPED_ARRAYS) {
      const original = g[name] as new (...args: unknown[]) => ArrayBufferView;
      g[name] = new Proxy(original, {
        construct: (target, args, newTarget) => {
          const made = Reflect.construct(target, args, newTarget) as ArrayBufferView;
          // A view of an existing buffer owns no bytes of its own.
          if (!(args[0] instanceof ArrayBuffer) && !(args[0] instanceof SharedArrayBuffer)) this.count(made, made.byteLength);
          return made;
        },
      });
      this.restore.push(() => {
        g[name] = original;
      });
    }
    const b = Buffer as unknown as Record<string, (...args: unknown[]) => Buffer>;
    for (const name of BUFFER_FACTORIES) {
      const original = b[name]!;
      b[name] = (...args: unknown[]) => {
        const made = original.apply(Buffer, args);
        // Buffer.from(arrayBuffer) is a view as well.
        if (!(name === "from" && (args[0] instanceof ArrayBuffer || args[0] instanceof SharedArrayBuffer))) this.count(made, made.byteLength);
        return made;
      };
      this.restore.push(() => {
        b[name] = original;
      });
    }
  }

  private count(made: object, bytes: number): void {
    if (bytes < TRACE_MIN_BYTES) return;
    // Frames 0–2 are "Error", this method and the wrapper: the caller starts at 3.
    const site = (new Error().stack ?? "")
      .split("\n")
      .slice(3, 3 + STACK_FRAMES)
      .map((l) => l.trim().replace(/^at /, ""))
      .join(" < ");
    let c = this.sites.get(site);
    if (c === undefined) this.sites.set(site, (c = { liveBytes: 0, live: 0, made: 0, madeBytes: 0 }));
    c.liveBytes += bytes;
    c.live++;
    c.made++;
    c.madeBytes += bytes;
    this.registry.register(made, { counts: c, bytes });
  }

  /** The sites holding the most live bytes (or that made the most, `by` "madeBytes"), largest first. */
  top(n = REPORT_SITES, by: "liveBytes" | "madeBytes" = "liveBytes"): TraceSite[] {
    return [...this.sites]
      .map(([site, c]) => ({ site, ...c }))
      .sort((a, b) => b[by] - a[by])
      .slice(0, n);
  }

  /** Puts the original constructors and factories back. */
  stop(): void {
    for (const r of this.restore.splice(0)) r();
  }
}

/** `HARVESTD_BUFFER_TRACE_EVERY_S` (default 60): shorter for a thread that lives less than a minute. */
function reportEveryMs(): number {
  const s = Number(process.env.HARVESTD_BUFFER_TRACE_EVERY_S ?? "60");
  return Number.isFinite(s) && s >= 1 ? s * 1000 : 60_000;
}

/**
 * Starts a trace of this thread when `HARVESTD_BUFFER_TRACE` names a file, reporting every
 * `everyMs` under the name `thread` (threads share the file, a line each); returns a function that
 * stops it (null when the variable is not set).
 */
export function traceBuffersFromEnv(thread: string, everyMs = reportEveryMs()): (() => void) | null {
  const file = process.env.HARVESTD_BUFFER_TRACE;
  if (file === undefined || file === "") return null;
  const trace = new BufferTrace();
  const timer = setInterval(() => {
    // Two collections: the first runs the finalizers of what the second then finds gone.
    Bun.gc(true);
    setTimeout(() => {
      Bun.gc(true);
      const h = heapStats();
      appendFileSync(file, `${JSON.stringify({ thread, at_ms: Date.now(), heap_bytes: h.heapSize, extra_bytes: h.extraMemorySize, sites: trace.top(), most_made: trace.top(REPORT_SITES, "madeBytes") })}\n`);
    }, 500);
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    trace.stop();
  };
}
