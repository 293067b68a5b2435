/**
 * Runs the custom indicators of one symbol: a per-symbol stage after the built-in engine, fed the same
 * events in the same order, live and in replay (so replay reproduces live row for row).
 *
 * What a module sees (docs/indicators-custom.md):
 * - trades the built-in calculators accept: ids above the last one passed (duplicates and stale ids
 *   dropped), time, side, price > 0 and qty > 0 all valid; backfilled trades flagged;
 * - books whose update id is above the last one passed (reset by a book-route disconnect), with only
 *   valid levels (finite, > 0, duplicates dropped), sorted best first (calc/book-input.ts readSide);
 * - disconnects of the connection carrying either stream, and the end of input.
 *
 * The objects handed to modules are shared by the symbol's indicators and not frozen: freezing cost
 * 0.1–10 µs per event in JSC (arrays most), more than a typical handler (bench/indicators-host.ts).
 * The types declare them readonly; the docs say not to change them.
 *
 * A handler that throws, returns a promise, or emits a row that does not fit the declared columns
 * makes that call an error: counted, logged at most once per 10 s per indicator and symbol, rows of
 * an erroneous emit dropped (valid rows emitted in the same call are kept). An emit outside the
 * handler's call (a timer) is counted and logged the same way, its row dropped, but is no failing call. After
 * `SWITCH_OFF_STREAK` failing calls in a row, or `SWITCH_OFF_TOTAL` in all, the indicator is
 * switched off for this symbol until the process ends. Built-ins, other indicators, other symbols
 * and the sinks are not affected: everything the module does happens inside this class's try blocks.
 */
import { BookSide, readSide, SideScratch } from "../calc/book-input.ts";
import type { AggTradeEvent, DepthEvent, Route } from "../core/market-events.ts";
import type { RowSink } from "../core/rows.ts";
import type { SymbolStage } from "../core/stage.ts";
import type { Logger } from "../util/log.ts";
import type { Book, Disconnect, Emit, IndicatorHandlers, Level, LoadedIndicator, Trade } from "./contract.ts";
import { checkRow } from "./row-check.ts";
import { withPlace } from "./where-thrown.ts";
import type { IndicatorStats } from "./stats.ts";

/** Failing calls in a row that switch an indicator off for a symbol. */
export const SWITCH_OFF_STREAK = 10;
/** Failing calls in total (per symbol) that switch it off, even with successes in between. */
export const SWITCH_OFF_TOTAL = 1000;
/** At most one error line per indicator and symbol in this many ms (the rest are counted). */
const LOG_INTERVAL_MS = 10_000;

interface Instance {
  readonly ind: LoadedIndicator;
  readonly stats: IndicatorStats;
  readonly handlers: IndicatorHandlers | null;
  readonly emit: Emit;
  /** Failing calls in a row, and in all. */
  streak: number;
  errors: number;
  /** Emits outside a call (counted as errors, not as failing calls). */
  lateEmits: number;
  /** First problem of the call in progress (null: none so far). */
  callError: string | null;
  off: boolean;
}

const HANDLERS = ["onTrade", "onBook", "onDisconnect", "onEnd"] as const;
type Handler = "create" | (typeof HANDLERS)[number];

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

/** What is wrong with the value `create` returned (null: a usable object of handlers). */
function handlersProblem(h: unknown): string | null {
  if (isThenable(h)) return "create returned a promise: create must be synchronous and return the handlers";
  if (typeof h !== "object" || h === null) return `create returned ${h === null ? "null" : typeof h}, not an object of handlers (${HANDLERS.join(", ")})`;
  const o = h as Record<string, unknown>;
  for (const k of HANDLERS) {
    if (o[k] !== undefined && typeof o[k] !== "function") return `create returned ${k} as ${o[k] === null ? "null" : `a ${typeof o[k]}`}, not a function`;
  }
  // A misspelt handler would otherwise never be called, silently.
  const unknown = Object.keys(o).filter((k) => /^on[A-Z]/.test(k) && !(HANDLERS as readonly string[]).includes(k));
  if (unknown.length > 0) return `create returned ${unknown.join(", ")}, not a handler harvestd calls (${HANDLERS.join(", ")})`;
  if (!HANDLERS.some((k) => o[k] !== undefined)) return `create returned no handler (${HANDLERS.join(", ")})`;
  return null;
}

function levels(side: BookSide): Level[] {
  const out: Level[] = [];
  for (let m = 0; m < side.count; m++) out.push([side.px[m], side.qty[m]]);
  return out;
}

export class IndicatorHost implements SymbolStage {
  private readonly instances: Instance[] = [];
  /** The instance whose handler is running: emit() is valid only then. */
  private current: Instance | null = null;
  private lastAggId = Number.NaN;
  private lastUpdateId = Number.NaN;
  private readonly bid = new BookSide(true);
  private readonly ask = new BookSide(false);
  private readonly scratch = new SideScratch();
  private finished = false;

  constructor(
    readonly symbol: string,
    indicators: readonly LoadedIndicator[],
    stats: readonly IndicatorStats[],
    private readonly sink: RowSink,
    private readonly log: Logger,
  ) {
    indicators.forEach((ind, i) => {
      const inst: Instance = {
        ind,
        stats: stats[i]!,
        handlers: null,
        emit: (row) => this.emit(inst, row),
        streak: 0,
        errors: 0,
        lateEmits: 0,
        callError: null,
        off: false,
      };
      this.instances.push(inst);
      // Fresh state: whatever an earlier host of this symbol switched off (the crash rebuild) is on again.
      inst.stats.recordStart(symbol);
      this.create(inst);
    });
  }

  onTrade(ev: AggTradeEvent, recvTsMs: number, backfilled: boolean): void {
    const a = ev.aggId;
    if (a <= this.lastAggId) return;
    this.lastAggId = a;
    const ts = ev.tradeTime ?? ev.eventTime;
    const m = ev.buyerIsMaker;
    const price = ev.price;
    const qty = ev.qty;
    if (ts === null || m === null || !(price > 0) || !(qty > 0) || price === Number.POSITIVE_INFINITY || qty === Number.POSITIVE_INFINITY) return;
    let trade: Trade | null = null;
    for (const inst of this.instances) {
      const fn = inst.handlers?.onTrade;
      if (inst.off || fn === undefined) continue;
      trade ??= { ts_ms: ts, recv_ts_ms: recvTsMs, price, qty, is_buyer_maker: m, agg_trade_id: a, backfilled };
      this.call(inst, "onTrade", () => fn.call(inst.handlers, trade!, inst.emit));
    }
  }

  onDepth(ev: DepthEvent, recvTsMs: number): void {
    const u = ev.lastId;
    if (u <= this.lastUpdateId) return;
    const ts = ev.transactTime ?? ev.eventTime;
    if (ts === null) return;
    this.lastUpdateId = u;
    let book: Book | null = null;
    for (const inst of this.instances) {
      const fn = inst.handlers?.onBook;
      if (inst.off || fn === undefined) continue;
      if (book === null) {
        readSide(ev.bids, this.bid, this.scratch);
        readSide(ev.asks, this.ask, this.scratch);
        book = { ts_ms: ts, recv_ts_ms: recvTsMs, update_id: u, bids: levels(this.bid), asks: levels(this.ask) };
      }
      this.call(inst, "onBook", () => fn.call(inst.handlers, book!, inst.emit));
    }
  }

  onDisconnect(route: Route): void {
    // After a reconnect the book stream starts afresh: its ids may restart below the last one.
    if (route === "public") this.lastUpdateId = Number.NaN;
    const info: Disconnect = { stream: route === "public" ? "book" : "trade" };
    for (const inst of this.instances) {
      const fn = inst.handlers?.onDisconnect;
      if (inst.off || fn === undefined) continue;
      this.call(inst, "onDisconnect", () => fn.call(inst.handlers, info, inst.emit));
    }
  }

  /** End of input: each indicator may emit what it still holds. Later events are ignored. */
  finish(): void {
    if (this.finished) return;
    for (const inst of this.instances) {
      const fn = inst.handlers?.onEnd;
      if (inst.off || fn === undefined) continue;
      this.call(inst, "onEnd", () => fn.call(inst.handlers, inst.emit));
    }
    this.finished = true;
    for (const inst of this.instances) inst.off = true;
  }

  private create(inst: Instance): void {
    this.call(inst, "create", () => {
      const h = inst.ind.module.create(Object.freeze({ symbol: this.symbol, params: inst.ind.params }));
      // A returned value of the wrong shape is a problem of its own, not a throw: worded as such.
      const wrong = handlersProblem(h);
      if (wrong !== null) {
        if (isThenable(h)) Promise.resolve(h).catch(() => {});
        this.problem(inst, wrong);
        return;
      }
      (inst as { handlers: IndicatorHandlers | null }).handlers = h;
    });
    // Without its handlers the indicator cannot run for this symbol.
    if (inst.handlers === null) this.switchOff(inst, "create failed");
  }

  /** One guarded call of a module's code; its time counts as the indicator's update cost. */
  private call(inst: Instance, handler: Handler, run: () => unknown): void {
    inst.callError = null;
    this.current = inst;
    const t0 = performance.now();
    try {
      const r = run();
      if (isThenable(r)) {
        // A rejection must not become an unhandled one (which would end the process).
        Promise.resolve(r).catch(() => {});
        this.problem(inst, "the handler returned a promise: handlers must be synchronous (rows emitted later are dropped)");
      }
    } catch (e) {
      this.problem(inst, withPlace(`threw: ${e instanceof Error ? e.message : String(e)}`, e, inst.ind.file));
    }
    const ms = performance.now() - t0;
    this.current = null;
    const st = inst.stats;
    if (handler !== "create") st.recordCall(ms);
    if (inst.callError === null) {
      inst.streak = 0;
      return;
    }
    inst.streak++;
    inst.errors++;
    st.recordError(this.symbol, inst.callError);
    this.logError(inst, handler, inst.callError);
    if (inst.streak >= SWITCH_OFF_STREAK) this.switchOff(inst, `${inst.streak} failing calls in a row`);
    else if (inst.errors >= SWITCH_OFF_TOTAL) this.switchOff(inst, `${inst.errors} failing calls`);
  }

  /**
   * The `warn` line of a failing call, or of an emit outside a call: at most one per indicator and
   * symbol per LOG_INTERVAL_MS (the next one says how many were left out).
   */
  private logError(inst: Instance, handler: Handler | null, error: string): void {
    this.log.limited(`indicator:${inst.ind.name}:${this.symbol}`, "warn", "custom indicator error", {
      indicator: inst.ind.name,
      file: inst.ind.file,
      symbol: this.symbol,
      handler,
      error,
      errors: inst.errors + inst.lateEmits,
    }, LOG_INTERVAL_MS);
  }

  private problem(inst: Instance, message: string): void {
    inst.callError ??= message;
  }

  private emit(inst: Instance, emitted: unknown): void {
    if (this.current !== inst) {
      // Outside its own call (a timer, a promise, another indicator's call): order and replay could
      // not be kept. Counted against the indicator without making anyone else's call fail.
      const error = "emit() called outside a handler call";
      inst.stats.recordError(this.symbol, error);
      inst.stats.rowsDropped++;
      inst.lateEmits++;
      this.logError(inst, null, error);
      return;
    }
    const r = checkRow(this.symbol, inst.ind.columns, emitted);
    if ("refused" in r) {
      inst.stats.rowsDropped++;
      this.problem(inst, `row dropped: ${r.refused}`);
      return;
    }
    inst.stats.rows++;
    this.sink.append(inst.ind.kind, r.row);
  }

  private switchOff(inst: Instance, why: string): void {
    if (inst.off) return;
    inst.off = true;
    inst.stats.recordSwitchOff(this.symbol);
    this.log.log("error", "custom indicator switched off for this symbol", { indicator: inst.ind.name, symbol: this.symbol, why, file: inst.ind.file });
  }
}
