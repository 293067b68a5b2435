/**
 * Sinks as components (docs/extending.md): every sink has the same lifecycle — records in, a
 * periodic tick, close — and answers for its own health, so /health, /metrics and the status page
 * read components instead of knowing each sink. `test/unit/sink-contract.test.ts` runs one body
 * against every sink.
 */
import type { Row, RowSink } from "../core/rows.ts";

/** A component's verdict: reasons name the failure, never a file path (/health is open without the token). */
export interface ComponentHealth {
  readonly ok: boolean;
  readonly reasons: readonly string[];
}

export interface SinkComponent {
  /** Names the component in health reasons and metrics labels: `parquet`, `ndjson`, `nats`, … */
  readonly name: string;
  /** Called every few hundred ms: rotate, flush, retry. */
  tick(nowMs: number): void;
  /** Everything accepted is written (or reported lost) when this resolves. */
  close(): Promise<void>;
  health(nowMs: number): ComponentHealth;
}

/** Takes rows of the Parquet kinds. */
export interface RowSinkComponent extends SinkComponent, RowSink {}

/** Takes raw-log lines of a symbol, in the order they were applied. */
export interface LineSinkComponent extends SinkComponent {
  append(symbol: string, tsRecvMs: number, line: string): void;
  /** A data line: the text core/raw-log.ts `dataLine` gives for these values (a sink may write its bytes directly). */
  appendData(symbol: string, tsRecvMs: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): void;
}

/** A writer that dropped data within this window still reports it, unless told otherwise (`health.drop_alert_sec`). */
const DROP_ALERT_MS = 60_000;

/** The health reason of a drop at `lastDropAtMs` while it is recent (within `alertMs`), else null. */
export function recentDropReason(what: string, lastDropAtMs: number | null, nowMs: number, alertMs = DROP_ALERT_MS): string | null {
  return lastDropAtMs !== null && nowMs - lastDropAtMs < alertMs ? `${what} dropped in the last ${Math.round(alertMs / 1000)} s` : null;
}

export const healthy: ComponentHealth = { ok: true, reasons: [] };

export function verdict(reasons: readonly string[]): ComponentHealth {
  return reasons.length === 0 ? healthy : { ok: false, reasons };
}

/** Rows to every sink, in order. */
export class RowFanout implements RowSink {
  constructor(private readonly sinks: readonly RowSink[]) {}

  append(kind: Parameters<RowSink["append"]>[0], row: Row): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.append(kind, row);
  }
}

/** Lines to every line sink, in order. */
export class LineFanout {
  constructor(private readonly sinks: readonly LineSinkComponent[]) {}

  append(symbol: string, tsRecvMs: number, line: string): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.append(symbol, tsRecvMs, line);
  }

  appendData(symbol: string, tsRecvMs: number, stream: string, latencyEventMs: number | null, latencyPipelineMs: number, dataText: string): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.appendData(symbol, tsRecvMs, stream, latencyEventMs, latencyPipelineMs, dataText);
  }
}
