/**
 * The shared strategy (contract.ts; rules in docs/strategy.md): per symbol, fusion signals gated by
 * the regime's threshold, cooldown and spread gate, the cost gate, the model filter and the risk
 * limits become entries; exits come from tiered take-profit, the fixed and ATR stops, the time stop,
 * hysteresis (fade) and reversals after a minimum move. Positions follow fills only, so the paper
 * simulator and the testnet trader drive the same state.
 */
import type { Row, RowKind } from "../../core/rows.ts";
import { costCheck, expectedEdgeBps } from "../risk/cost.ts";
import { RiskBook, utcDay } from "../risk/limits.ts";
import type { RiskParams } from "../risk/params.ts";
import { entryNotional } from "../risk/sizing.ts";
import { Atr } from "./atr.ts";
import type {
  ExitReason,
  Fill,
  Halt,
  Intent,
  OrderSide,
  PositionView,
  Regime,
  SignalContext,
  SignalDecision,
  SignalFilter,
  SkipReason,
  Strategy,
} from "./contract.ts";
import type { StrategyParams } from "./params.ts";

export interface StrategyConfig {
  readonly strategy: StrategyParams;
  readonly risk: RiskParams;
  /** Taker fee of the fee tier in force (bps), for the cost gate. */
  readonly takerBps: number;
  /** Per-symbol risk settings (trade.symbols overrides); default `risk`. */
  readonly riskFor?: (symbol: string) => RiskParams;
}

/** Quantities below this (relative to the position) count as nothing left. */
const QTY_EPS = 1e-9;
const NO_INTENTS: readonly Intent[] = [];
/** The row's regime label, or null for anything else (a string compare is cheaper than a Set lookup per row). */
const regimeOf = (v: unknown): Regime | null => (v === "A_L" || v === "Q_L" || v === "A_H" || v === "Q_H" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

interface Position {
  side: "long" | "short";
  qty: number;
  /** Quantity when fully opened: take-profit tiers are fractions of it. */
  openQty: number;
  entryPrice: number;
  entryTsMs: number;
  /** ATR stop price fixed at entry (null: ATR not warmed up or the stop is off). */
  atrStop: number | null;
  tiersDone: number;
  /** Realised amounts of this position so far (entry fee, partial closes), for its round-trip result. */
  net: number;
}

interface Pending {
  readonly key: string;
  readonly kind: "enter" | "exit";
  remaining: number;
  /** Event time its order was counted at (max_orders_per_min): taken back if it is never sent. */
  readonly orderTsMs: number;
}

/** Everything one symbol's decisions need. */
class SymbolState {
  readonly atr: Atr;
  readonly risk: RiskBook;
  regime: Regime | null = null;
  tsMs = 0;
  lastAggId = 0;
  buyFill: number | null = null;
  sellFill: number | null = null;
  mid: number | null = null;
  spreadBps: number | null = null;
  realizedVolBps: number | null = null;
  tps: number | null = null;
  ofiZLast: number | null = null;
  zCvdLast: number | null = null;
  /** Side of the previous fusion row above its entry threshold (null: none): signals are its edges. */
  lastSignalSide: OrderSide | null = null;
  /** Event time of the last entry or exit fill (cooldown). */
  lastActionTsMs = Number.NEGATIVE_INFINITY;
  position: Position | null = null;
  readonly pending: Pending[] = [];

  constructor(
    readonly symbol: string,
    readonly riskParams: RiskParams,
    s: StrategyParams,
  ) {
    this.atr = new Atr(s.atr.bar_sec * 1000, s.atr.period);
    this.risk = new RiskBook(symbol, riskParams);
  }

  pendingOf(kind: "enter" | "exit"): Pending | undefined {
    return this.pending.find((p) => p.kind === kind);
  }

  /** Price the position would close at now (long: best bid side fill). */
  exitFill(): number | null {
    const pos = this.position;
    if (pos === null) return null;
    return pos.side === "long" ? this.sellFill : this.buyFill;
  }

  /** Signed move of the exit fill from the entry, in bps (positive = in favour). */
  moveBps(): number | null {
    const pos = this.position;
    const px = this.exitFill();
    if (pos === null || px === null) return null;
    return ((pos.side === "long" ? 1 : -1) * (px - pos.entryPrice)) / pos.entryPrice * 1e4;
  }

  unrealized(): number {
    const pos = this.position;
    const px = this.exitFill();
    if (pos === null || px === null) return 0;
    return (pos.side === "long" ? 1 : -1) * pos.qty * (px - pos.entryPrice);
  }
}

export class SharedStrategy implements Strategy {
  onDecision: ((d: SignalDecision) => void) | null = null;
  filter: SignalFilter | null = null;
  private readonly symbols = new Map<string, SymbolState>();
  private readonly s: StrategyParams;

  constructor(private readonly cfg: StrategyConfig) {
    this.s = cfg.strategy;
  }

  onRow(kind: RowKind, row: Row): readonly Intent[] {
    switch (kind) {
      case "prices":
        return this.onPrices(row);
      case "fusion":
        return this.onFusion(row);
      case "orderbook": {
        const st = this.state(row.symbol as string);
        // A row without a valid book leaves the last one (its fills are null on prices rows anyway).
        const mid = num(row.mid);
        if (mid !== null) {
          st.mid = mid;
          st.spreadBps = num(row.spread_bps);
        }
        return NO_INTENTS;
      }
      case "features": {
        const st = this.state(row.symbol as string);
        st.realizedVolBps = num(row.realized_vol_bps);
        st.tps = num(row.tps);
        st.ofiZLast = num(row.ofi_z_last);
        st.zCvdLast = num(row.z_cvd_last);
        return NO_INTENTS;
      }
      default:
        return NO_INTENTS;
    }
  }

  onFill(f: Fill): void {
    const st = this.state(f.symbol);
    if (f.key !== null) {
      const p = st.pending.find((x) => x.key === f.key);
      if (p !== undefined) {
        p.remaining -= f.qty;
        if (p.remaining <= QTY_EPS * Math.max(1, f.qty)) st.pending.splice(st.pending.indexOf(p), 1);
      }
    }
    st.lastActionTsMs = f.ts_ms;
    st.risk.realize(f.ts_ms, -f.fee);
    let pos = st.position;
    const dir = f.side === "buy" ? "long" : "short";
    if (pos === null || pos.side === dir) {
      if (pos === null) {
        pos = { side: dir, qty: 0, openQty: 0, entryPrice: f.price, entryTsMs: f.ts_ms, atrStop: null, tiersDone: 0, net: 0 };
        st.position = pos;
        const atr = st.atr.bps();
        if (this.s.atr.mult > 0 && atr !== null) {
          const dist = (f.price * this.s.atr.mult * atr) / 1e4;
          pos.atrStop = dir === "long" ? f.price - dist : f.price + dist;
        }
      }
      pos.entryPrice = (pos.entryPrice * pos.qty + f.price * f.qty) / (pos.qty + f.qty);
      pos.qty += f.qty;
      pos.openQty = Math.max(pos.openQty, pos.qty);
      pos.net -= f.fee;
    } else {
      const closed = Math.min(f.qty, pos.qty);
      const gross = (pos.side === "long" ? 1 : -1) * closed * (f.price - pos.entryPrice);
      st.risk.realize(f.ts_ms, gross);
      pos.net += gross - f.fee;
      pos.qty -= closed;
      if (pos.qty <= QTY_EPS * pos.openQty) {
        st.risk.recordTrade(pos.net);
        st.position = null;
        const rest = f.qty - closed;
        // An external fill larger than the position flips it (the testnet may report one).
        if (rest > QTY_EPS * f.qty) this.onFill({ ...f, qty: rest, fee: 0, key: null });
      }
    }
    st.risk.check(f.ts_ms, st.unrealized());
  }

  onIntentDone(symbol: string, key: string, sent = true): void {
    const st = this.state(symbol);
    const i = st.pending.findIndex((p) => p.key === key);
    if (i < 0) return;
    // Refused before sending (a limit or a halt of the executor's): no order went out, none is counted.
    if (!sent) st.risk.forgetOrder(st.pending[i]!.orderTsMs);
    st.pending.splice(i, 1);
  }

  onHalt(h: Halt): void {
    const st = this.state(h.symbol);
    const dayStart = Date.parse(`${h.day}T00:00:00.000Z`);
    if (!Number.isFinite(dayStart)) return;
    // In the strategy's own (event) time: at its latest row, or the halt's day's start before any row
    // of that day; a day it has already left is over (the book ignores it).
    const ts = Math.max(st.tsMs, dayStart);
    if (utcDay(ts) !== h.day) return;
    st.risk.restoreHalt(ts, h.reason, h.since_ts_ms);
  }

  flatten(symbol: string, tsMs: number): readonly Intent[] {
    const st = this.symbols.get(symbol);
    if (st === undefined) return NO_INTENTS;
    // An entry not yet filled is dropped; the executor cancels it.
    const entry = st.pendingOf("enter");
    if (entry !== undefined) st.pending.splice(st.pending.indexOf(entry), 1);
    const pos = st.position;
    if (pos === null) return NO_INTENTS;
    const inFlight = st.pendingOf("exit")?.remaining ?? 0;
    const qty = pos.qty - inFlight;
    if (qty <= QTY_EPS * pos.openQty) return NO_INTENTS;
    st.tsMs = Math.max(st.tsMs, tsMs);
    return [this.exit(st, "end", qty)];
  }

  position(symbol: string): PositionView | null {
    const pos = this.symbols.get(symbol)?.position ?? null;
    return pos === null ? null : { side: pos.side, qty: pos.qty, entry_price: pos.entryPrice, entry_ts_ms: pos.entryTsMs };
  }

  halts(): readonly Halt[] {
    const out: Halt[] = [];
    for (const st of this.symbols.values()) {
      const h = st.risk.currentHalt();
      if (h !== null) out.push(h);
    }
    return out;
  }

  // ---- rows

  private onPrices(row: Row): readonly Intent[] {
    const st = this.state(row.symbol as string);
    const ts = row.ts_ms as number;
    st.tsMs = ts;
    st.lastAggId = row.agg_trade_id as number;
    const r = regimeOf(row.scenario_2x2);
    if (r !== null) st.regime = r;
    st.atr.onTrade(ts, row.price as number);
    const buy = num(row.best_buy_fill);
    const sell = num(row.best_sell_fill);
    if (buy === null || sell === null) return NO_INTENTS;
    st.buyFill = buy;
    st.sellFill = sell;
    const pos = st.position;
    if (pos === null || st.pendingOf("exit") !== undefined) {
      if (pos === null) st.risk.check(ts, 0);
      return NO_INTENTS;
    }
    if (st.risk.check(ts, st.unrealized()) !== null || st.risk.haltAt(ts) !== null) return [this.exit(st, "risk_halt", pos.qty)];
    const move = st.moveBps()!;
    const px = st.exitFill()!;
    const s = this.s;
    if (s.stop_bps > 0 && move <= -s.stop_bps) return [this.exit(st, "stop", pos.qty)];
    if (pos.atrStop !== null && (pos.side === "long" ? px <= pos.atrStop : px >= pos.atrStop)) return [this.exit(st, "atr_stop", pos.qty)];
    const tiers = s.take_profit;
    let reached = pos.tiersDone;
    while (reached < tiers.length && move >= tiers[reached]!.at_bps) reached++;
    if (reached > pos.tiersDone) {
      const last = reached === tiers.length;
      let share = 0;
      for (let i = 0; i < reached; i++) share += tiers[i]!.fraction;
      // Close what the tiers reached so far call for, less what earlier tiers already closed.
      const target = last ? 0 : Math.max(0, pos.openQty * (1 - share));
      const qty = last ? pos.qty : pos.qty - target;
      pos.tiersDone = reached;
      if (qty > QTY_EPS * pos.openQty) return [this.exit(st, last ? "target" : (`tp${reached}` as ExitReason), qty)];
    }
    if (s.max_hold_sec > 0 && ts - pos.entryTsMs >= s.max_hold_sec * 1000) return [this.exit(st, "time", pos.qty)];
    return NO_INTENTS;
  }

  private onFusion(row: Row): readonly Intent[] {
    const st = this.state(row.symbol as string);
    const r = regimeOf(row.scenario_2x2);
    if (r !== null) st.regime = r;
    const score = row.score as number;
    const regime = st.regime;
    const rule = regime === null ? null : this.s.regimes[regime];
    const degradedOk = this.s.allow_degraded || row.degraded !== true;
    const above = rule !== null && Math.abs(score) > rule.entry && (row.consistency as number) > this.s.min_consistency && degradedOk;
    const side: OrderSide | null = above ? (score > 0 ? "buy" : "sell") : null;
    const edge = side !== null && side !== st.lastSignalSide;
    st.lastSignalSide = side;
    if (edge) {
      const intents = this.decideEntry(st, row, side!, rule!.entry);
      if (intents.length > 0) return intents;
    }
    // Hysteresis: the flow has turned against the position by the regime's exit threshold.
    const pos = st.position;
    if (pos === null || rule === null || st.pendingOf("exit") !== undefined) return NO_INTENTS;
    const signed = pos.side === "long" ? score : -score;
    const move = st.moveBps();
    if (signed < -rule.exit && move !== null && Math.abs(move) >= this.s.min_reverse_move_bps) return [this.exit(st, "fade", pos.qty)];
    return NO_INTENTS;
  }

  private decideEntry(st: SymbolState, row: Row, side: OrderSide, threshold: number): readonly Intent[] {
    const ctx: SignalContext = {
      symbol: st.symbol,
      ts_ms: row.ts_ms as number,
      agg_trade_id: row.agg_trade_id as number,
      side,
      score: row.score as number,
      proba: row.proba as number,
      consistency: row.consistency as number,
      z_ofi: row.z_ofi as number,
      z_cvd: row.z_cvd as number,
      degraded: row.degraded === true,
      regime: st.regime,
      mid: st.mid,
      spread_bps: st.spreadBps,
      best_buy_fill: st.buyFill,
      best_sell_fill: st.sellFill,
      realized_vol_bps: st.realizedVolBps,
      tps: st.tps,
      ofi_z_last: st.ofiZLast,
      z_cvd_last: st.zCvdLast,
      atr_bps: st.atr.bps(),
      entry_threshold: threshold,
    };
    const skip = (reason: SkipReason, filter: SignalDecision["filter"] = null, edge: number | null = null, cost: number | null = null): readonly Intent[] => {
      this.onDecision?.({ ctx, filter, taken: false, skip: reason, edge_bps: edge, cost_bps: cost });
      return NO_INTENTS;
    };
    const ts = ctx.ts_ms;
    const rule = this.s.regimes[st.regime!];
    const pos = st.position;
    const reversing = pos !== null && (pos.side === "long") !== (side === "buy");
    if (!rule.enable) return skip("regime_off");
    if (st.risk.haltAt(ts) !== null) return skip("halted");
    if (st.pending.length > 0) return skip("pending");
    if (pos !== null && !reversing) return skip("same_side");
    if (reversing && Math.abs(st.moveBps() ?? 0) < this.s.min_reverse_move_bps) return skip("min_move");
    if (ts - st.lastActionTsMs < rule.cooldown_sec * 1000) return skip("cooldown");
    const refPrice = side === "buy" ? st.buyFill : st.sellFill;
    if (refPrice === null || st.spreadBps === null) return skip("no_book");
    if (st.spreadBps > rule.max_spread_bps) return skip("spread");
    if (!st.risk.orderRoom(ts, reversing ? 2 : 1)) return skip("orders_per_min");
    const fd = this.filter?.decide(ctx) ?? null;
    if (fd !== null && !fd.take) return skip("filter", fd);
    const s = this.s;
    const lastTier = s.take_profit.length > 0 ? s.take_profit[s.take_profit.length - 1]!.at_bps : 0;
    const edgeBps = expectedEdgeBps(st.riskParams, Math.abs(ctx.score), fd?.probability ?? null, lastTier, s.stop_bps);
    const cost = costCheck(st.riskParams, edgeBps, this.cfg.takerBps, st.spreadBps);
    if (!cost.pass) return skip("cost", fd, cost.edge_bps, cost.cost_bps);
    const sizeFactor = fd === null ? 1 : Math.min(1, Math.max(0, fd.sizeFactor));
    const notional =
      entryNotional(st.riskParams, {
        atrBps: ctx.atr_bps,
        probability: fd?.probability ?? null,
        priorPayoff: lastTier > 0 && s.stop_bps > 0 ? lastTier / s.stop_bps : null,
        record: st.risk,
      }) * sizeFactor;
    if (!(notional > 0)) return skip("size_zero", fd, cost.edge_bps, cost.cost_bps);
    this.onDecision?.({ ctx, filter: fd, taken: true, skip: null, edge_bps: cost.edge_bps, cost_bps: cost.cost_bps });
    const out: Intent[] = [];
    if (reversing) out.push(this.exit(st, "reverse", pos!.qty));
    const qty = notional / refPrice;
    const key = `${st.symbol}-${ctx.agg_trade_id}-enter`;
    st.pending.push({ key, kind: "enter", remaining: qty, orderTsMs: ts });
    st.risk.recordOrder(ts);
    out.push({ kind: "enter", key, symbol: st.symbol, side, qty, refPrice, stopPrice: this.protectiveStop(side, refPrice, ctx.atr_bps), reason: "signal", signal: ctx });
    return out;
  }

  /** The tighter of the fixed and the ATR stop (the first to trigger): the exchange-side stop. */
  private protectiveStop(side: OrderSide, ref: number, atrBps: number | null): number | null {
    const dists: number[] = [];
    if (this.s.stop_bps > 0) dists.push(this.s.stop_bps);
    if (this.s.atr.mult > 0 && atrBps !== null) dists.push(this.s.atr.mult * atrBps);
    if (dists.length === 0) return null;
    const d = (ref * Math.min(...dists)) / 1e4;
    return side === "buy" ? ref - d : ref + d;
  }

  private exit(st: SymbolState, reason: ExitReason, qty: number): Intent {
    const pos = st.position!;
    const side: OrderSide = pos.side === "long" ? "sell" : "buy";
    const key = `${st.symbol}-${st.lastAggId}-${reason}`;
    st.pending.push({ key, kind: "exit", remaining: qty, orderTsMs: st.tsMs });
    st.risk.recordOrder(st.tsMs);
    return { kind: "exit", key, symbol: st.symbol, side, qty, refPrice: st.exitFill() ?? pos.entryPrice, reason };
  }

  private state(symbol: string): SymbolState {
    let st = this.symbols.get(symbol);
    if (st === undefined) {
      st = new SymbolState(symbol, this.cfg.riskFor?.(symbol) ?? this.cfg.risk, this.s);
      this.symbols.set(symbol, st);
    }
    return st;
  }
}
