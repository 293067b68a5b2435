/**
 * Where a raw-log record goes in the stream and under which `Nats-Msg-Id`, read from the record's
 * own text (the NDJSON line, docs/scale-out.md):
 *
 *  - a trade (a data line of an `@aggTrade` stream, or a `backfill` line): subject
 *    `<prefix>.<exchange>.<SYMBOL>.aggTrade`, id `<exchange>.<SYMBOL>.aggTrade.<a>`;
 *  - a book message (`@depth…` data line): `….depth`, id `<exchange>.<SYMBOL>.depth.<u>`;
 *  - anything else (session, connect, disconnect, gap lines; a payload without a usable id):
 *    `….control`, id `<exchange>.<SYMBOL>.control.<collector>.<hash of the line>`.
 *
 * The exchange's ids make the copies two collectors publish of one trade or book message the same
 * message for JetStream's duplicate window and for the store's stream gate. Control lines are each
 * collector's own; the hash makes a line published again from the log (catch-up) the same message.
 */

export type RecordKind = "aggTrade" | "depth" | "control";

export interface RecordAddress {
  readonly kind: RecordKind;
  readonly subject: string;
  readonly msgId: string;
  /** The exchange id (`a` or `u`), or null for control records. */
  readonly id: number | null;
}

const STREAM_KEY = '"stream":"';
const DATA_KEY = '"data":';
const TRADE_ID = /"a":(\d+)[,}]/;
const BOOK_ID = /"u":(\d+)[,}]/;

/** Stream name of a data or backfill line (`btcusdt@aggTrade`), or null. */
function streamOf(line: string): string | null {
  const i = line.indexOf(STREAM_KEY);
  if (i < 0) return null;
  const j = line.indexOf('"', i + STREAM_KEY.length);
  return j < 0 ? null : line.slice(i + STREAM_KEY.length, j);
}

/** The exchange id of a data/backfill record, or null. Only the `data` part is searched. */
function idIn(line: string, kind: "aggTrade" | "depth"): number | null {
  const d = line.indexOf(DATA_KEY);
  if (d < 0) return null;
  const m = (kind === "aggTrade" ? TRADE_ID : BOOK_ID).exec(line.slice(d + DATA_KEY.length));
  if (m === null) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

export class RecordAddresser {
  private readonly base: string;

  constructor(
    prefix: string,
    private readonly exchange: string,
    private readonly collector: string,
  ) {
    this.base = `${prefix}.${exchange}.`;
  }

  /** Subjects of every record of `symbol` (for a consumer filter), or of every symbol when null. */
  filter(symbol: string | null): string {
    return `${this.base}${symbol ?? "*"}.>`;
  }

  address(symbol: string, line: string): RecordAddress {
    const isControl = line.includes('"event":"') && !line.includes('"event":"backfill"');
    if (!isControl) {
      const stream = streamOf(line);
      const kind = stream === null ? null : stream.endsWith("@aggTrade") ? "aggTrade" : stream.includes("@depth") ? "depth" : null;
      if (kind !== null) {
        const id = idIn(line, kind);
        if (id !== null) return { kind, subject: `${this.base}${symbol}.${kind}`, msgId: `${this.exchange}.${symbol}.${kind}.${id}`, id };
      }
    }
    const hash = Bun.hash.xxHash64(line).toString(16);
    return { kind: "control", subject: `${this.base}${symbol}.control`, msgId: `${this.exchange}.${symbol}.control.${this.collector}.${hash}`, id: null };
  }
}

/** SYMBOL and kind of a subject this addresser made (`<prefix>.<exchange>.<SYMBOL>.<kind>`), or null. */
export function parseSubject(subject: string, prefix: string): { readonly exchange: string; readonly symbol: string; readonly kind: RecordKind } | null {
  if (!subject.startsWith(prefix + ".")) return null;
  const parts = subject.slice(prefix.length + 1).split(".");
  if (parts.length !== 3) return null;
  const [exchange, symbol, kind] = parts as [string, string, string];
  if (kind !== "aggTrade" && kind !== "depth" && kind !== "control") return null;
  return { exchange, symbol, kind };
}
