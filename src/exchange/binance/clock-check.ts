/**
 * The local clock against the exchange's, now and then (docs/feed.md, "The local clock"). Rows keep
 * the exchange's times, so a wrong clock does not move data between partitions; but every receipt
 * time (`recv_ts_ms`), latency figure (`latency_ms`, the status page's event latency) and the
 * NDJSON hour files follow the local clock, and a VPS without time sync drifts by seconds a week.
 * The offset is measured against `GET /fapi/v1/time` (midpoint of the request) and shown; a clock
 * off by more than CLOCK_WARN_MS, beyond what the round trip leaves uncertain, is said once, and
 * again when it is back.
 */
import type { Logger } from "../../util/log.ts";
import { Periodic } from "../../util/periodic.ts";
import type { RestClient } from "./rest-client.ts";

const TIME_PATH = "/fapi/v1/time";
/** Request weight of /fapi/v1/time (docs/binance.md). */
const TIME_WEIGHT = 1;
/** The first look comes this soon after the start. */
const FIRST_CHECK_MS = 2_000;
export const CLOCK_CHECK_EVERY_MS = 10 * 60_000;
/** An offset a user must hear of: latencies are quoted to the ms and a second is most of them. */
export const CLOCK_WARN_MS = 1_000;

export class ClockCheck {
  /** Local minus exchange time (ms) at the last answer; null before the first. */
  offsetMs: number | null = null;
  private warned = false;
  private readonly periodic: Periodic;

  constructor(
    private readonly rest: RestClient,
    private readonly log: Logger,
    everyMs = CLOCK_CHECK_EVERY_MS,
  ) {
    this.periodic = new Periodic(FIRST_CHECK_MS, everyMs, () => this.check());
  }

  start(): void {
    this.periodic.start();
  }

  stop(): void {
    this.periodic.stop();
  }

  private async check(): Promise<void> {
    const t0 = Date.now();
    const r = await this.rest.get(TIME_PATH, {}, TIME_WEIGHT);
    const t1 = Date.now();
    if (this.periodic.stopped || !r.ok) return;
    const serverTime = serverTimeOf(r.body);
    if (serverTime === null) {
      this.log.limited("clock-check", "warn", "clock check: the exchange's time answer is not a time", { body: r.body.slice(0, 120) });
      return;
    }
    const offset = -venueClockAheadMs(serverTime, t0, t1);
    this.offsetMs = offset;
    const off = Math.abs(offset) - (t1 - t0) / 2 > CLOCK_WARN_MS;
    if (off && !this.warned) {
      this.log.log("warn", "the local clock differs from the exchange's; receipt times, latencies and NDJSON hour files follow the local clock: sync it (NTP, chrony)", {
        offset_ms: offset,
        ahead: offset > 0,
        round_trip_ms: t1 - t0,
      });
    } else if (!off && this.warned) {
      this.log.log("info", "the local clock agrees with the exchange's again", { offset_ms: offset });
    }
    this.warned = off;
  }
}

/**
 * The venue's clock minus ours (ms), from a `GET /fapi/v1/time` sent at `sentAt` and answered at
 * `answeredAt` (local ms): the venue stamps its time about halfway through the round trip.
 */
export function venueClockAheadMs(serverTime: number, sentAt: number, answeredAt: number): number {
  return Math.round(serverTime - (sentAt + answeredAt) / 2);
}

function serverTimeOf(body: string): number | null {
  try {
    const t = (JSON.parse(body) as { serverTime?: unknown }).serverTime;
    return typeof t === "number" && Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}
