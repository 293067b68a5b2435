/**
 * Binance USD-M futures as an execution venue (core/execution.ts): the order gateway, the signed
 * transport and the user data stream behind the neutral seam the live trader uses. Binance's error
 * codes, its conditional ("algo") orders and the user stream's one-letter event fields are decoded
 * here and nowhere else.
 */
import type {
  ExecutionVenue,
  NewOrder,
  NewStop,
  OrderState,
  Outcome,
  PositionState,
  Refusal,
  StopState,
  TradePage,
  VenueAccess,
  VenueAudit,
  VenueEvent,
  VenueEventHandlers,
  VenueLimits,
  VenueOpen,
  VenueReply,
  VenueSide,
  VenueTrade,
} from "../../../core/execution.ts";
import { parseExchangeInfo, smallestMarketNotional } from "./filters.ts";
import { FINAL_STATUSES, NOT_FOUND, OrderGateway, type AlgoState, type GatewayOutcome } from "./gateway.ts";
import { credentialsFromEnv } from "./signer.ts";
import { SignedRest, type RestReply } from "./signed-rest.ts";
import { UserStream } from "./user-stream.ts";

export interface BinanceExecutionSettings {
  /** REST base URL and user-stream WebSocket base of the venue (testnet, demo, or a local fake). */
  readonly rest: string;
  readonly userStream: string;
  readonly recvWindowMs: number;
  readonly orderTimeoutMs: number;
  readonly timeSyncSec: number;
  readonly resolveDeadlineMs: number;
  readonly orderLimitShare: number;
  readonly listenKeyKeepaliveSec: number;
}

/** The venue for `settings`, keyed from BINANCE_API_KEY and BINANCE_API_SECRET (or the Ed25519 key) in `env`. */
export function binanceExecution(settings: BinanceExecutionSettings, env: Readonly<Record<string, string | undefined>>): VenueAccess {
  const cr = credentialsFromEnv(env);
  if (!cr.ok) return { ok: false, error: cr.error };
  const secrets = [cr.creds.apiKey, env.BINANCE_API_SECRET ?? ""].filter((s) => s !== "");
  const open = async (symbols: readonly string[], onAudit: (e: VenueAudit) => void): Promise<VenueOpen> => {
    const rest = new SignedRest({
      baseUrl: settings.rest,
      creds: cr.creds,
      recvWindowMs: settings.recvWindowMs,
      timeoutMs: settings.orderTimeoutMs,
      timeSyncEveryMs: settings.timeSyncSec * 1000,
      onAudit,
    });
    const info = await rest.publicGet("/fapi/v1/exchangeInfo");
    if (info.kind !== "ok") return { ok: false, error: `exchangeInfo from ${settings.rest} failed: ${info.msg}` };
    const { filters, limits } = parseExchangeInfo(info.body);
    const unknown = symbols.filter((s) => !filters.has(s));
    if (unknown.length > 0) return { ok: false, error: `${settings.rest} does not list ${unknown.join(", ")}` };
    const gateway = new OrderGateway(rest, filters, limits, { resolveDeadlineMs: settings.resolveDeadlineMs, maxSends: 3, orderLimitShare: settings.orderLimitShare });
    return { ok: true, venue: new BinanceExecution(gateway, rest, settings) };
  };
  // Both venues keep separate accounts under separate keys, so the key's digest names the account.
  const account = new Bun.CryptoHasher("sha256").update(cr.creds.apiKey).digest("hex").slice(0, 16);
  return { ok: true, opener: { secrets, account, open } };
}

/** Binance refusals the trader acts on. */
const REFUSALS: ReadonlyMap<number, Refusal> = new Map([[-2021, "would-trigger-now"]]);

function outcome<T>(r: GatewayOutcome<T>): Outcome<T> {
  if (r.ok) return r;
  // Refused by the symbol's rules before sending: marked so, the trader counts it as no order sent.
  const refusal: Refusal | null = r.filter !== null ? `filter:${r.filter}` : r.code === null ? null : (REFUSALS.get(r.code) ?? null);
  return { ok: false, reason: r.reason, refusal, latencyMs: r.latencyMs, attempts: r.attempts, uncertain: r.uncertain };
}

function reply(r: RestReply): VenueReply {
  if (r.kind === "ok") return { ok: true, latencyMs: r.latencyMs };
  return { ok: false, gone: r.kind === "rejected" && r.code !== null && NOT_FOUND.has(r.code), reason: r.msg, latencyMs: r.latencyMs };
}

/** A cancel's answer, its refusal naming Binance's code ("-2011: Unknown order sent."): the orders row keeps it. */
function cancelReply(r: RestReply): VenueReply {
  const v = reply(r);
  return !v.ok && r.kind === "rejected" && r.code !== null ? { ...v, reason: `${r.code}: ${r.msg}` } : v;
}

function stopState(a: AlgoState): StopState {
  return { stopId: a.algoId, clientStopId: a.clientAlgoId, symbol: a.symbol, side: a.side, triggerPrice: a.triggerPrice, status: a.algoStatus };
}

type Raw = Record<string, unknown>;

/** A user-stream event (ORDER_TRADE_UPDATE, ALGO_UPDATE, ACCOUNT_UPDATE; the rest as "other") in neutral terms. */
export function decodeUserEvent(ev: Raw): VenueEvent {
  if (ev.e === "ORDER_TRADE_UPDATE") {
    const o = (ev.o ?? {}) as Raw;
    const side = o.S as VenueSide;
    const status = String(o.X);
    const fill =
      o.x === "TRADE"
        ? { tradeId: Number(o.t), orderId: Number(o.i), clientOrderId: String(o.c), side, price: Number(o.L), qty: Number(o.l), commission: Number(o.n), commissionAsset: String(o.N ?? "USDT"), realizedPnl: Number(o.rp), maker: o.m === true, time: Number(o.T) }
        : null;
    const price = Number(o.ap) > 0 ? Number(o.ap) : Number(o.p) > 0 ? Number(o.p) : null;
    return { type: "order", raw: ev, symbol: String(o.s), clientOrderId: String(o.c), orderId: Number(o.i), side, orderType: String(o.o), qty: Number(o.q), price, status, final: FINAL_STATUSES.has(status), filled: status === "FILLED", fill };
  }
  if (ev.e === "ALGO_UPDATE") {
    const o = (ev.o ?? {}) as Raw;
    const status = String(o.X);
    return { type: "stop", raw: ev, symbol: String(o.s), clientStopId: String(o.caid), stopId: Number(o.aid), side: o.S as VenueSide, triggerPrice: Number(o.tp), status, resting: status === "NEW" };
  }
  if (ev.e === "ACCOUNT_UPDATE") {
    const positions = (ev.a as { P?: Raw[] } | undefined)?.P ?? [];
    return { type: "account", raw: ev, unrealized: positions.map((p) => ({ symbol: String(p.s), unrealizedPnl: Number(p.up) })) };
  }
  return { type: "other", raw: ev };
}

class BinanceExecution implements ExecutionVenue {
  private stream: UserStream | null = null;

  constructor(
    private readonly gateway: OrderGateway,
    private readonly rest: SignedRest,
    private readonly settings: BinanceExecutionSettings,
  ) {}

  get limits(): VenueLimits {
    return this.rest.limits;
  }

  get streamConnected(): boolean {
    return this.stream?.connected ?? false;
  }

  marketStep(symbol: string): number | null {
    return this.gateway.filters.get(symbol)?.marketStepSize ?? null;
  }

  minOrderNotional(symbol: string, price: number): number | null {
    const f = this.gateway.filters.get(symbol);
    return f === undefined ? null : smallestMarketNotional(f, price);
  }

  async ping(): Promise<VenueReply> {
    return reply(await this.rest.syncTime());
  }

  async setLeverage(symbol: string, leverage: number): Promise<VenueReply> {
    return reply(await this.gateway.setLeverage(symbol, leverage));
  }

  startStream(h: VenueEventHandlers): Promise<boolean> {
    this.stream?.stop();
    this.stream = new UserStream(this.rest, {
      wsBase: this.settings.userStream,
      keepaliveMs: this.settings.listenKeyKeepaliveSec * 1000,
      reconnectDelayMs: 500,
      reconnectMaxDelayMs: 30_000,
      onEvent: (ev) => h.onEvent(decodeUserEvent(ev)),
      onConnected: h.onConnected,
      onDisconnected: h.onDisconnected,
    });
    return this.stream.start();
  }

  stopStream(): void {
    this.stream?.stop();
  }

  async placeOrder(o: NewOrder): Promise<Outcome<OrderState>> {
    return outcome(await this.gateway.placeOrder(o));
  }

  async placeStop(s: NewStop): Promise<Outcome<StopState>> {
    const r = await this.gateway.placeStop({ symbol: s.symbol, side: s.side, triggerPrice: s.triggerPrice, clientAlgoId: s.clientStopId });
    return r.ok ? { ...r, value: stopState(r.value) } : outcome(r);
  }

  queryOrder(symbol: string, orderId: number): Promise<OrderState | null> {
    return this.gateway.queryOrder(symbol, orderId);
  }

  async cancelOrder(symbol: string, clientOrderId: string): Promise<VenueReply> {
    return reply(await this.gateway.cancelOrder(symbol, clientOrderId));
  }

  async cancelAllOrders(symbol: string): Promise<VenueReply> {
    return reply(await this.gateway.cancelAllOrders(symbol));
  }

  // Binance finds a conditional order by its client id alone.
  async cancelStop(_symbol: string, clientStopId: string): Promise<VenueReply> {
    return cancelReply(await this.gateway.cancelStop(clientStopId));
  }

  async cancelAllStops(symbol: string): Promise<VenueReply> {
    return cancelReply(await this.gateway.cancelAllStops(symbol));
  }

  async queryStop(_symbol: string, clientStopId: string): Promise<StopState | null> {
    const a = await this.gateway.queryStop(clientStopId);
    return a === null ? null : stopState(a);
  }

  openOrders(symbol: string): Promise<OrderState[] | null> {
    return this.gateway.openOrders(symbol);
  }

  async openStops(symbol: string): Promise<StopState[] | null> {
    return (await this.gateway.openStops(symbol))?.map(stopState) ?? null;
  }

  positions(symbol?: string): Promise<PositionState[] | null> {
    return this.gateway.positions(symbol);
  }

  trades(symbol: string, page: TradePage): Promise<VenueTrade[] | null> {
    return this.gateway.userTrades(symbol, page);
  }

  async armDeadMan(symbol: string, countdownMs: number): Promise<VenueReply> {
    return reply(await this.gateway.countdownCancelAll(symbol, countdownMs));
  }
}
