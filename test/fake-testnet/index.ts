// Public API of the fake USDⓈ-M futures testnet (README.md). Orders match against the book the fake
// exchange (../fake-exchange) replays from the real recordings.
import type { FakeExchange } from "../fake-exchange/index.ts";
import { rulesFromExchangeInfo } from "./filters.ts";
import type { Book, Level } from "./ledger.ts";
import { TestnetServer, type OrderFault, type RequestRecord } from "./server.ts";

export type { OrderFault, RequestRecord } from "./server.ts";
export type { Fill, Order, AlgoOrder, Position } from "./ledger.ts";

export interface FakeTestnetOptions {
  /** The market whose replayed depth5 book orders match against. */
  readonly exchange: FakeExchange;
  readonly apiKey: string;
  /** HMAC-SHA256 secret, or … */
  readonly secret?: string;
  /** … the PEM public key of an Ed25519 API key. */
  readonly ed25519PublicPem?: string;
  readonly port?: number;
  /** Starting USDT wallet balance (default 10 000). */
  readonly walletUsdt?: number;
  readonly takerRate?: number;
  readonly makerRate?: number;
  /** Leverage of a symbol not set by POST /fapi/v1/leverage (default 20). */
  readonly defaultLeverage?: number;
  /** ORDERS limits (defaults: exchangeInfo's 300 / 10 s and 1200 / min). */
  readonly orderLimit10s?: number;
  readonly orderLimit1m?: number;
  /** A listen key lives this long after its last keepalive (default 60 min). */
  readonly listenKeyTtlMs?: number;
  /** How often resting orders and stop triggers are matched (default 50 ms). */
  readonly matchEveryMs?: number;
}

export interface FakeTestnet {
  readonly restBase: string;
  readonly wsBase: string;
  readonly server: TestnetServer;
  stop(): Promise<void>;
  failNextOrders(...faults: OrderFault[]): void;
  dropUserStreams(): number;
  expireListenKey(): void;
  setClockSkew(ms: number): void;
  /**
   * Moves the symbol's book (every price × `factor`) for matching, mark price and stop triggers: a
   * forced market move, e.g. 0.97 = 3 % down. 1 restores the replayed book.
   */
  shiftBook(symbol: string, factor: number): void;
  requests(): readonly RequestRecord[];
}

function onTick(price: number, tick: string): number {
  const d = tick.includes(".") ? tick.replace(/0+$/, "").split(".")[1]!.length : 0;
  return Number((Math.round(price / Number(tick)) * Number(tick)).toFixed(d));
}

function parseLevels(raw: unknown): Level[] {
  return (raw as [string, string][]).map(([p, q]) => ({ price: Number(p), qty: Number(q) }));
}

export async function startFakeTestnet(opts: FakeTestnetOptions): Promise<FakeTestnet> {
  if ((opts.secret === undefined) === (opts.ed25519PublicPem === undefined)) throw new Error("fake testnet: give exactly one of secret and ed25519PublicPem");
  const infoText = await (await fetch(`${opts.exchange.restBase}/fapi/v1/exchangeInfo`)).text();
  const rules = rulesFromExchangeInfo(JSON.parse(infoText));
  const cache = new Map<string, { text: string; factor: number; book: Book }>();
  const shifts = new Map<string, number>();
  const bookOf = (symbol: string): Book | null => {
    const text = opts.exchange.lastDepth(symbol);
    if (text === undefined) return null;
    const factor = shifts.get(symbol) ?? 1;
    const c = cache.get(symbol);
    if (c !== undefined && c.text === text && c.factor === factor) return c.book;
    const d = JSON.parse(text) as { b: unknown; a: unknown };
    const tick = rules.get(symbol)?.tickSize ?? "0.00000001";
    const shift = (l: Level): Level => (factor === 1 ? l : { price: onTick(l.price * factor, tick), qty: l.qty });
    const book = { bids: parseLevels(d.b).map(shift), asks: parseLevels(d.a).map(shift) };
    cache.set(symbol, { text, factor, book });
    return book;
  };
  const server = new TestnetServer({
    port: opts.port ?? 0,
    creds: { apiKey: opts.apiKey, secret: opts.secret ?? null, ed25519PublicPem: opts.ed25519PublicPem ?? null },
    exchangeInfoText: infoText,
    rules,
    bookOf,
    walletUsdt: opts.walletUsdt ?? 10_000,
    takerRate: opts.takerRate ?? 0.0005,
    makerRate: opts.makerRate ?? 0.0002,
    defaultLeverage: opts.defaultLeverage ?? 20,
    orderLimit10s: opts.orderLimit10s ?? 300,
    orderLimit1m: opts.orderLimit1m ?? 1200,
    listenKeyTtlMs: opts.listenKeyTtlMs ?? 3_600_000,
    matchEveryMs: opts.matchEveryMs ?? 50,
  });
  server.start();
  const port = server.port;
  return {
    restBase: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    server,
    stop: () => server.stop(),
    failNextOrders: (...f) => server.failNextOrders(...f),
    dropUserStreams: () => server.dropUserStreams(),
    expireListenKey: () => server.expireListenKey(),
    setClockSkew: (ms) => {
      server.skewMs = ms;
    },
    shiftBook: (symbol, factor) => {
      shifts.set(symbol, factor);
    },
    requests: () => server.requests,
  };
}
