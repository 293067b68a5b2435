/** What the live trader's unit tests share: the fake venue, its credentials, a sink that keeps the rows, a wait. */
import type { Row, RowSink } from "../../src/core/rows.ts";
import { startFakeExchange, type FakeExchange } from "../fake-exchange/index.ts";
import { startFakeTestnet, type FakeTestnet, type FakeTestnetOptions } from "../fake-testnet/index.ts";

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

/**
 * A fake exchange replaying `symbol` (its book already there, so a trader can price at once) and a
 * fake testnet matching against it, with these credentials and the testnet's other options.
 */
export async function startVenue(symbol: string, apiKey: string, secret: string, testnet: Partial<FakeTestnetOptions> = {}): Promise<{ fx: FakeExchange; tn: FakeTestnet }> {
  const fx = await startFakeExchange({ symbols: [symbol], speed: 1, recordFrames: false });
  while (fx.lastDepth(symbol) === undefined) await Bun.sleep(20);
  const tn = await startFakeTestnet({ exchange: fx, apiKey, secret, ...testnet });
  return { fx, tn };
}

/** Waits for `f` to hold, polling every 20 ms; throws naming `what` after `ms`. */
export async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await Bun.sleep(20);
  }
}
