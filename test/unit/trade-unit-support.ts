/** What the live trader's unit tests share: the fake testnet's credentials and a sink that keeps the rows. */
import type { Row, RowSink } from "../../src/core/rows.ts";

export const API_KEY = "unitKey-0123456789abcdef";
export const SECRET = "unitSecret-0123456789abcdef";

/** Every row the trader appended, copied as appended. */
export class Rows implements RowSink {
  readonly rows: { kind: string; row: Row }[] = [];
  append(kind: string, row: Row): void {
    this.rows.push({ kind, row: { ...row } });
  }
  of(kind: string): Row[] {
    return this.rows.filter((r) => r.kind === kind).map((r) => r.row);
  }
  /** The orders rows of one client id, oldest first. */
  order(cid: string): Row[] {
    return this.of("orders").filter((r) => r.client_order_id === cid);
  }
}
