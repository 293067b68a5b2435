/**
 * What the trader records: Parquet rows of kind `orders` and `fills` (core/rows.ts), and an NDJSON
 * audit log of every request and response and every user-stream event, one file per UTC day under
 * `<ndjson_dir>/trading/`. Secrets never reach these: the API key travels only in a header, the
 * signature is removed by the transport, and listen keys (which let anyone read the account's
 * stream) are replaced here.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { VenueAudit } from "../../core/execution.ts";
import type { Row, RowSink } from "../../core/rows.ts";

export interface OrderRecord {
  readonly symbol: string;
  readonly ts_ms: number;
  readonly client_order_id: string;
  readonly order_id: number | null;
  readonly side: string;
  readonly type: string;
  readonly qty: number;
  readonly price: number | null;
  readonly status: string;
  readonly reason: string;
  readonly latency_ms: number | null;
  readonly attempts: number;
  readonly error: string | null;
  readonly intent_key: string | null;
  readonly ref_price: number | null;
}

export interface FillRecord {
  readonly symbol: string;
  readonly ts_ms: number;
  readonly trade_id: number;
  readonly order_id: number;
  readonly client_order_id: string;
  readonly side: string;
  readonly price: number;
  readonly qty: number;
  readonly commission: number;
  readonly commission_asset: string;
  readonly realized_pnl: number;
  readonly maker: boolean;
  readonly intent_key: string | null;
  readonly ref_price: number | null;
}

const REDACT_KEYS = new Set(["listenKey", "signature", "apiKey", "secret"]);

/** A deep copy with secret-bearing fields replaced. */
export function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = REDACT_KEYS.has(k) ? "<redacted>" : redact(x);
    return out;
  }
  return v;
}

export class TradeRecords {
  private day = "";
  private file = "";

  constructor(
    private readonly sink: RowSink,
    private readonly auditDir: string,
    /** Strings that must never be written (the key material, as a last line of defence). */
    private readonly secrets: readonly string[],
  ) {}

  order(r: OrderRecord): void {
    this.sink.append("orders", r as unknown as Row);
  }

  fill(r: FillRecord): void {
    this.sink.append("fills", r as unknown as Row);
  }

  rest(e: VenueAudit): void {
    this.audit({ kind: "rest", ...e, response: redact(e.response) });
  }

  stream(ev: unknown): void {
    this.audit({ kind: "stream", ts_ms: Date.now(), event: redact(ev) });
  }

  note(what: string, fields: Record<string, unknown>): void {
    this.audit({ kind: "note", ts_ms: Date.now(), what, ...fields });
  }

  /**
   * The halts this audit log holds for the UTC day `day` (YYYY-MM-DD), by symbol: a trader started
   * again that day (a restart, a crash, a takeover on this host) stays halted.
   */
  haltsOf(day: string): Map<string, { reason: string; since_ts_ms: number }> {
    const out = new Map<string, { reason: string; since_ts_ms: number }>();
    let text = "";
    try {
      text = readFileSync(join(this.auditDir, `audit-${day}.ndjson`), "utf8");
    } catch {
      return out;
    }
    for (const line of text.split("\n")) {
      if (!line.includes('"what":"halt"')) continue;
      try {
        const e = JSON.parse(line) as { kind?: unknown; what?: unknown; symbol?: unknown; reason?: unknown; day?: unknown; ts_ms?: unknown };
        if (e.kind !== "note" || e.what !== "halt" || typeof e.symbol !== "string" || typeof e.reason !== "string") continue;
        if (e.day !== undefined && e.day !== day) continue;
        if (!out.has(e.symbol)) out.set(e.symbol, { reason: e.reason, since_ts_ms: typeof e.ts_ms === "number" ? e.ts_ms : 0 });
      } catch {
        // A line cut by a crash: the others still count.
      }
    }
    return out;
  }

  private audit(entry: Record<string, unknown>): void {
    let line = JSON.stringify(entry);
    for (const s of this.secrets) if (s.length >= 8 && line.includes(s)) line = line.split(s).join("<redacted>");
    const day = new Date().toISOString().slice(0, 10);
    try {
      if (day !== this.day) {
        mkdirSync(this.auditDir, { recursive: true });
        this.day = day;
        this.file = join(this.auditDir, `audit-${day}.ndjson`);
      }
      // Synchronous: a few lines per order, and each must be on disk before a crash could lose it.
      appendFileSync(this.file, line + "\n");
    } catch {
      // The audit log must not stop trading (a full disk is reported by the storage health).
    }
  }
}
