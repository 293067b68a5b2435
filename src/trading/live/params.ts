/**
 * The `[trade]` section: trading the strategy's decisions on Binance's USDⓈ-M futures test network
 * (or "demo trading"). docs/trading.md explains every key. Keys are never configured here: they come
 * from the environment only (BINANCE_API_KEY with BINANCE_API_SECRET or BINANCE_ED25519_KEY_FILE).
 */
import { z } from "zod";
import { SYMBOL_PATTERN } from "../../core/symbols.ts";
import { RiskParamsSchema } from "../risk/params.ts";

export const VENUES = {
  testnet: { rest: "https://testnet.binancefuture.com", userStream: "wss://fstream.binancefuture.com" },
  demo: { rest: "https://demo-fapi.binance.com", userStream: "wss://demo-fstream.binance.com" },
} as const;
export type Venue = keyof typeof VENUES;

const httpUrl = z.string().regex(/^(https?:\/\/[^\s/]+(\/[^\s?#]*)?)?$/, "expected an http:// or https:// URL without query (empty = the venue's)");
const wsUrl = z.string().regex(/^(wss?:\/\/[^\s/]+(\/[^\s?#]*)?)?$/, "expected a ws:// or wss:// URL without query (empty = the venue's)");

/**
 * `[risk]` keys without their defaults: a key left out of `trade.symbols.<SYMBOL>` must fall back to
 * the `[risk]` value, not to `[risk]`'s default (a plain `.partial()` would still fill the defaults).
 */
function unwrapDefaults<T extends z.ZodRawShape>(shape: T): { [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> } {
  const out: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(shape)) {
    let t = v as z.ZodType;
    while (t instanceof z.ZodDefault || t instanceof z.ZodPrefault) t = t.unwrap() as z.ZodType;
    out[k] = t.optional();
  }
  return out as { [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> };
}

/** Per-symbol settings: the risk limits of `[risk]` overridden for this symbol, and the leverage set at start. */
export const TradeSymbolSchema = z.strictObject(unwrapDefaults(RiskParamsSchema.shape)).extend({
  /** Leverage set on the venue before trading (POST /fapi/v1/leverage). */
  leverage: z.number().int().min(1).max(125).default(5),
});
export type TradeSymbol = Readonly<z.infer<typeof TradeSymbolSchema>>;

/** Real-money hosts: `*.binance.com` except the demo-trading ones (`demo-*`). */
export function isMainnetUrl(url: string): boolean {
  const m = /^[a-z]+:\/\/([^/:]+)/i.exec(url);
  if (m === null) return false;
  const host = m[1]!.toLowerCase();
  return (host === "binance.com" || host.endsWith(".binance.com")) && !host.startsWith("demo-");
}

export const TradeParamsSchema = z
  .strictObject({
    /** Send orders. Off by default: collecting never trades unless asked. */
    enable: z.boolean().default(false),
    venue: z.enum(["testnet", "demo"]).default("testnet"),
    /** REST base (BINANCE_TRADE_REST); empty = the venue's. */
    rest: httpUrl.default(""),
    /** User-data-stream base (BINANCE_TRADE_WS); empty = the venue's. */
    user_stream: wsUrl.default(""),
    /** A real-money host is refused unless this is set explicitly. */
    allow_mainnet: z.boolean().default(false),
    /** On shutdown, after cancelling every open order, close the positions too. */
    flatten_on_exit: z.boolean().default(true),
    /** Symbols traded, each with optional risk overrides; they must also be collected (`symbols`). */
    symbols: z.record(z.string().regex(SYMBOL_PATTERN, "symbol must be upper-case letters and digits, e.g. BTCUSDT"), TradeSymbolSchema.prefault({})).default({}),
    /** recvWindow of signed requests, ms (Binance: at most 60000). */
    recv_window_ms: z.number().int().min(1).max(60_000).default(5000),
    /** An order request without an answer after this long is looked up by its client id. */
    order_timeout_ms: z.number().int().min(100).max(60_000).default(5000),
    /** How long a lost answer is chased by lookups before the order counts as unknown. */
    resolve_deadline_ms: z.number().int().min(100).default(15_000),
    /** Dead-man switch: the venue cancels the symbol's open orders if not renewed for this long. */
    dead_man_sec: z.number().int().min(5).max(600).default(60),
    /** How often the dead-man switch is renewed (well inside `dead_man_sec`). */
    dead_man_renew_sec: z.number().positive().default(15),
    /** Protective stop distance when the strategy gives none, bps from the entry fill. */
    protective_stop_bps: z.number().positive().max(5000).default(100),
    /** Listen-key keepalive interval, seconds (the venue expires a key 60 min after the last one). */
    listen_key_keepalive_sec: z.number().positive().max(3540).default(1800),
    /** Server-time offset re-measured this often, seconds. */
    time_sync_sec: z.number().positive().default(300),
    /** Share of the venue's order-count limits this process may use. */
    order_limit_share: z.number().gt(0).max(1).default(0.8),
    /**
     * "nats": trade only while holding the account's lease in the `[publish.nats]` cluster, so that
     * of collectors run side by side with the same [trade] exactly one trades and another takes over
     * when it stops (docs/trading.md, "One trader per account"). "none": trade unconditionally.
     */
    lease: z.enum(["none", "nats"]).default("none"),
    /** The lease lapses this long after its holder's last renewal; a holder that cannot renew stops at half of it. */
    lease_ttl_sec: z.number().int().min(4).max(600).default(45),
  })
  .superRefine((t, ctx) => {
    if (!t.enable) return;
    if (Object.keys(t.symbols).length === 0) ctx.addIssue({ code: "custom", path: ["symbols"], message: "trade.enable needs at least one symbol in [trade.symbols.<SYMBOL>]" });
    // A holder stops at half the lease; an order it sent just before must be settled by then.
    const settle = t.order_timeout_ms + t.resolve_deadline_ms;
    if (t.lease !== "none" && (t.lease_ttl_sec * 1000) / 2 < settle) {
      ctx.addIssue({ code: "custom", path: ["lease_ttl_sec"], message: `lease_ttl_sec ${t.lease_ttl_sec} is too short: half of it must cover order_timeout_ms + resolve_deadline_ms (${settle} ms), so at least ${Math.ceil((2 * settle) / 1000)}` });
    }
    // The countdown must be renewed before it runs out, or the venue cancels the orders of a live process.
    if (t.dead_man_renew_sec >= t.dead_man_sec) {
      ctx.addIssue({ code: "custom", path: ["dead_man_renew_sec"], message: `dead_man_renew_sec ${t.dead_man_renew_sec} must be shorter than dead_man_sec ${t.dead_man_sec} (the countdown would run out between renewals)` });
    }
    if (t.allow_mainnet) return;
    const ep = tradeEndpoints(t);
    for (const [key, url] of [["rest", ep.rest], ["user_stream", ep.userStream]] as const) {
      if (isMainnetUrl(url)) ctx.addIssue({ code: "custom", path: [key], message: `${url} is a real-money Binance host; set trade.allow_mainnet = true to trade there` });
    }
  });
export type TradeParams = Readonly<z.infer<typeof TradeParamsSchema>>;

/**
 * Traded symbols that are not collected (`symbols`): their signals would never come. Checked by the
 * configuration (so `validate` refuses what `run` would) and again at start.
 */
export function uncollectedTradeSymbols(t: Pick<TradeParams, "enable" | "symbols">, collected: readonly string[]): string | null {
  if (!t.enable) return null;
  const missing = Object.keys(t.symbols).filter((s) => !collected.includes(s));
  return missing.length === 0 ? null : `trade.symbols ${missing.join(", ")} not in symbols (signals come from collected symbols)`;
}

export function tradeEndpoints(t: Pick<TradeParams, "venue" | "rest" | "user_stream">): { rest: string; userStream: string } {
  const v = VENUES[t.venue];
  return { rest: t.rest !== "" ? t.rest : v.rest, userStream: t.user_stream !== "" ? t.user_stream : v.userStream };
}
