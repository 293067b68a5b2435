/**
 * The status page's browser script, type-checked like the rest of the code. It runs in the browser
 * only: `statusPageClient` must not refer to anything outside its own body, because the server
 * serves its source text (status-page.ts) as the page's one inline script, allowed by hash.
 */

/** The fields of `/api/status` (pipeline/status.ts) the page reads. */
interface PageSymbol {
  readonly symbol: string;
  readonly last_price: number | null;
  readonly mid: number | null;
  readonly spread_bps: number | null;
  readonly ofi_z: number | null;
  readonly cvd: number | null;
  readonly fusion_score: number | null;
  readonly fusion_signal: string | null;
  readonly regime: string | null;
  readonly msgs_per_s: number | null;
  readonly latency_p50_ms: number | null;
  readonly latency_p99_ms: number | null;
  readonly resyncs: number | null;
  readonly reconnects: number | null;
  readonly backfilled: number | null;
  readonly last_frame_age_s: number | null;
  readonly last_parquet_file: string | null;
  readonly last_parquet_at_ms: number | null;
  readonly book?: { readonly state: string; readonly bid_levels: number; readonly ask_levels: number; readonly last_snapshot_age_s: number | null } | null;
  readonly paper?: Readonly<Record<string, unknown>> | null;
}

interface CustomIndicatorStat {
  readonly name: string;
  readonly file: string;
  readonly calls: number;
  readonly costMeanUs: number | null;
  readonly costP99Us: number | null;
  readonly rows: number;
  readonly errors: number;
  readonly switchedOff: readonly string[];
  readonly lastError: string | null;
}

interface TradingSymbol {
  readonly symbol: string;
  readonly position_qty: number;
  readonly entry_price: number | null;
  readonly position_notional: number;
  readonly max_position_notional: number;
  readonly stop_trigger: number | null;
  readonly open_orders: number;
  readonly day_pnl: number;
  readonly max_daily_loss: number;
  readonly total_pnl: number;
  readonly drawdown_pct: number;
  readonly max_drawdown_pct: number;
  readonly orders_last_min: number;
  readonly max_orders_per_min: number;
  readonly halted: string | null;
  readonly min_order_notional: number | null;
  readonly limit_below_min_order: boolean;
}

interface PageTrading {
  readonly ready: boolean;
  readonly user_stream: boolean;
  readonly counters: { readonly fills: number; readonly ordersFailed: number; readonly refusedLimit: number; readonly refusedNotInSync: number; readonly refusedFilter: number };
  readonly limits: { readonly order_count_10s: number; readonly used_weight_1m: number };
  readonly symbols: readonly TradingSymbol[];
  /** trade.lease = "nats": whether this collector holds the account's lease, and who does if not. */
  readonly lease?: { readonly held: boolean; readonly holder: string | null; readonly last_error: string | null };
  /** The trader's start failed (trading/live/session.ts StartStatus): why, and whether it is retried. */
  readonly start?: { readonly error: string; readonly retrying: boolean };
}

interface PageStatus {
  readonly version: string;
  readonly now_ms: number;
  readonly uptime_s: number;
  readonly health: { readonly ok: boolean; readonly reasons: readonly string[] };
  readonly totals: { readonly msgs_per_s: number; readonly badFrames: number; readonly rest_paused_s?: number; readonly clock_offset_ms?: number };
  readonly connections: readonly { readonly state: string }[];
  readonly parquet: { readonly filesWritten: number } | null;
  readonly ndjson: { readonly linesWritten: number } | null;
  readonly disk?: { readonly free_bytes: number };
  readonly symbols: readonly PageSymbol[];
  readonly custom_indicators?: readonly CustomIndicatorStat[];
  readonly trading?: PageTrading | null;
  readonly listing?: { readonly checked_at_ms: number | null; readonly not_trading: Readonly<Record<string, string>>; readonly not_collected: readonly string[] } | null;
}

interface PageHistory {
  readonly t: readonly number[];
  readonly symbols: Readonly<Record<string, Readonly<Record<Series, readonly (number | null)[]>>>>;
}

type Series = "mid" | "cvd" | "ofi_z";
type Num = number | null | undefined;

export function statusPageClient(): void {
  const WINDOW_MS = 5 * 60 * 1000;
  const POLL_MS = 1000;
  /** Charts span from the oldest sample (at least this far back) up to WINDOW_MS. */
  const MIN_SPAN_MS = 60 * 1000;
  const SERIES: readonly Series[] = ["mid", "cvd", "ofi_z"];
  const DASH = "\u2013";
  const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
  const SVGNS = "http://www.w3.org/2000/svg";

  interface Chart {
    readonly box: HTMLElement;
    readonly v: HTMLElement;
    readonly svg: SVGElement;
    readonly zero: SVGElement;
    readonly area: SVGElement;
    readonly line: SVGElement;
  }
  interface SymbolView {
    readonly symbol: string;
    readonly tr: HTMLTableRowElement;
    readonly cells: Record<string, HTMLElement>;
    readonly card: HTMLElement;
    readonly px: HTMLElement;
    readonly sig: HTMLElement;
    readonly reg: HTMLElement;
    readonly charts: Record<Series, Chart>;
    readonly statEls: Record<string, HTMLElement>;
    onScreen: boolean;
  }
  interface ChartData {
    readonly t: number[];
    readonly mid: (number | null)[];
    readonly cvd: (number | null)[];
    readonly ofi_z: (number | null)[];
  }

  const rows = new Map<string, SymbolView>();
  const chartData = new Map<string, ChartData>();
  let lastOkAt = 0;
  let lastData: PageStatus | null = null;

  // Intl formatters are costly to create: one per decimals setting, reused (hundreds of cells a second).
  const formats = new Map<number, Intl.NumberFormat>();
  function num(v: Num, min: number, max?: number): string {
    if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
    const hi = max === undefined ? min : max;
    let f = formats.get(min * 100 + hi);
    if (!f) {
      f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: hi });
      formats.set(min * 100 + hi, f);
    }
    return f.format(v);
  }
  function price(v: Num): string {
    if (v === null || v === undefined) return DASH;
    const a = Math.abs(v);
    const d = a >= 1000 ? 2 : a >= 100 ? 3 : a >= 1 ? 4 : a >= 0.01 ? 5 : 7;
    return num(v, d);
  }
  function signed(v: Num, d: number): string {
    if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
    const r = Number(v.toFixed(d));
    // Rounded to zero reads as 0.00, not -0.00.
    return r === 0 ? num(0, d) : (r > 0 ? "+" : "") + num(r, d);
  }
  function qty(v: Num): string {
    if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
    const a = Math.abs(v);
    return signed(v, a >= 1000 ? 0 : a >= 1 ? 2 : 4);
  }
  const count = (v: Num): string => (v === null || v === undefined ? DASH : num(v, 0));
  const ms = (v: Num): string => (v === null || v === undefined ? DASH : num(v, v < 10 ? 1 : 0) + " ms");
  function dur(s: Num): string {
    if (s === null || s === undefined) return DASH;
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d";
  }
  function bytes(b: Num): string {
    if (b === null || b === undefined || !Number.isFinite(b)) return DASH;
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) {
      b /= 1024;
      i++;
    }
    return num(b, i === 0 ? 0 : 1) + " " + u[i];
  }
  const base = (path: string | null): string => (path ? (String(path).split("/").pop() ?? DASH) : DASH);
  function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag: string, cls?: string): SVGElement {
    const e = document.createElementNS(SVGNS, tag) as SVGElement;
    if (cls) e.setAttribute("class", cls);
    return e;
  }

  const COLUMNS: readonly (readonly [string, string])[] = [
    ["symbol", "Symbol"], ["last_price", "Last"], ["mid", "Mid"], ["spread_bps", "Spread bps"], ["ofi_z", "OFI z"],
    ["cvd", "CVD"], ["fusion", "Fusion"], ["regime", "Regime"], ["msgs_per_s", "Msg/s"], ["latency_p50_ms", "Lat p50"],
    ["latency_p99_ms", "Lat p99"], ["resyncs", "Resyncs"], ["reconnects", "Reconn."], ["backfilled", "Backfilled"],
    ["book", "Book"], ["last_parquet_file", "Last Parquet"],
  ];
  const STATS: readonly (readonly [string, string])[] = [
    ["spread_bps", "Spread bps"], ["msgs_per_s", "Msg/s"], ["latency_p50_ms", "Lat p50 1m"], ["latency_p99_ms", "Lat p99 1m"],
    ["resyncs", "Resyncs"], ["reconnects", "Reconnects"], ["backfilled", "Backfilled"], ["regime", "Regime"],
    ["book", "Book"], ["last_parquet_file", "Last Parquet"],
  ];
  const REGIMES: Readonly<Record<string, string>> = { A_H: "active, high volatility", A_L: "active, low volatility", Q_H: "quiet, high volatility", Q_L: "quiet, low volatility" };
  const regimeTitle = (r: string | null): string => (r === null ? "" : (REGIMES[r] ?? ""));

  function cellText(k: string, x: PageSymbol): string {
    switch (k) {
      case "symbol": return x.symbol;
      case "last_price": return price(x.last_price);
      case "mid": return price(x.mid);
      case "spread_bps": return num(x.spread_bps, 2);
      case "ofi_z": return signed(x.ofi_z, 2);
      case "cvd": return qty(x.cvd);
      case "fusion": return x.fusion_signal ? x.fusion_signal + " " + signed(x.fusion_score, 2) : DASH;
      case "regime": return x.regime || DASH;
      case "msgs_per_s": return count(x.msgs_per_s);
      case "latency_p50_ms": return ms(x.latency_p50_ms);
      case "latency_p99_ms": return ms(x.latency_p99_ms);
      case "resyncs": return count(x.resyncs);
      case "reconnects": return count(x.reconnects);
      case "backfilled": return count(x.backfilled);
      // Full-depth mode: levels per side, sync state, age of the last snapshot; depth5 shows "depth5".
      case "book": {
        const b = x.book;
        if (!b) return "depth5";
        const snap = b.last_snapshot_age_s == null ? "no snapshot" : "snapshot " + dur(b.last_snapshot_age_s) + " ago";
        return (b.state === "synced" ? b.bid_levels + "/" + b.ask_levels + " levels" : b.state) + " \u00b7 " + snap;
      }
      case "last_parquet_file": {
        if (!x.last_parquet_file) return DASH;
        const kind = /kind=([a-z_]+)/.exec(x.last_parquet_file);
        const ago = x.last_parquet_at_ms && lastData ? " \u00b7 " + dur(Math.max(0, lastData.now_ms - x.last_parquet_at_ms) / 1000) + " ago" : "";
        return (kind ? kind[1] : base(x.last_parquet_file)) + ago;
      }
    }
    return "";
  }
  function cellClass(k: string, x: PageSymbol): string {
    if (k === "fusion") return x.fusion_signal || "";
    if (k === "ofi_z" || k === "cvd") {
      const v = x[k];
      return v !== null && v > 0 ? "pos" : v !== null && v < 0 ? "neg" : "";
    }
    if (k === "last_parquet_file") return "file";
    return "";
  }

  function makeChart(series: Series, label: string): Chart {
    const box = el("div", "chart");
    const left = el("div");
    left.append(el("span", "k", label));
    const v = el("span", "v", DASH);
    left.append(v);
    const s = svg("svg");
    s.setAttribute("viewBox", "0 0 300 52");
    s.setAttribute("preserveAspectRatio", "none");
    s.dataset.chart = series;
    const zero = svg("path", "zero");
    const area = svg("path", "area c-" + series);
    const line = svg("path", "line c-" + series);
    s.append(zero, area, line);
    box.append(left, s);
    return { box, v, svg: s, zero, area, line };
  }

  // With many symbols (SYMBOLS=ALL) charts are drawn only for cards on screen.
  const DRAW_ALL_UP_TO = 24;
  const cardOf = new Map<Element, SymbolView>();
  const onScreen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const r = cardOf.get(e.target);
      if (r === undefined) continue;
      r.onScreen = e.isIntersecting;
      if (r.onScreen) drawCharts(r);
    }
  });

  function addSymbol(x: PageSymbol): SymbolView {
    const tr = el("tr");
    tr.dataset.symbol = x.symbol;
    const cells: Record<string, HTMLElement> = {};
    for (const [k] of COLUMNS) {
      const td = el("td");
      td.dataset.k = k;
      cells[k] = td;
      tr.append(td);
    }
    $("rows").append(tr);
    const card = el("section", "card");
    card.dataset.symbol = x.symbol;
    const h = el("h3");
    const px = el("span", "px", DASH);
    const sig = el("span", "badge", DASH);
    const reg = el("span", "badge", DASH);
    h.append(el("span", "", x.symbol), px, sig, reg);
    const charts = { mid: makeChart("mid", "Mid"), cvd: makeChart("cvd", "CVD"), ofi_z: makeChart("ofi_z", "OFI z") };
    const stats = el("div", "stats");
    const statEls: Record<string, HTMLElement> = {};
    for (const [k, label] of STATS) {
      const d = el("div");
      d.append(el("span", "k", label));
      const v = el("span", "", DASH);
      d.append(v);
      statEls[k] = v;
      stats.append(d);
    }
    card.append(h, charts.mid.box, charts.cvd.box, charts.ofi_z.box, stats);
    $("cards").append(card);
    const r: SymbolView = { symbol: x.symbol, tr, cells, card, px, sig, reg, charts, statEls, onScreen: false };
    rows.set(x.symbol, r);
    cardOf.set(card, r);
    onScreen.observe(card);
    return r;
  }

  function drawCharts(r: SymbolView): void {
    if (lastData) for (const sr of SERIES) drawChart(r.charts[sr], sr, chartData.get(r.symbol), lastData.now_ms);
  }

  function pushPoint(symbol: string, t: number, x: Readonly<Partial<Record<Series, number | null>>>): void {
    let h = chartData.get(symbol);
    if (!h) {
      h = { t: [], mid: [], cvd: [], ofi_z: [] };
      chartData.set(symbol, h);
    }
    if (h.t.length > 0 && t <= h.t[h.t.length - 1]!) return;
    h.t.push(t);
    for (const s of SERIES) h[s].push(x[s] ?? null);
    while (h.t.length > 0 && h.t[0]! < t - WINDOW_MS) {
      h.t.shift();
      for (const s of SERIES) h[s].shift();
    }
  }

  function drawChart(c: Chart, series: Series, h: ChartData | undefined, now: number): void {
    const vals = h ? h[series] : [];
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of vals) {
      if (v === null) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (h === undefined || lo === Infinity) {
      c.line.setAttribute("d", "");
      c.area.setAttribute("d", "");
      c.zero.setAttribute("d", "");
      return;
    }
    if (series === "ofi_z") {
      const m = Math.max(1, Math.abs(lo), Math.abs(hi));
      lo = -m;
      hi = m;
    }
    if (hi - lo < 1e-12) {
      const pad = Math.abs(hi) * 1e-4 || 1;
      lo -= pad;
      hi += pad;
    }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
    const from = Math.max(now - WINDOW_MS, Math.min(h.t[0]!, now - MIN_SPAN_MS));
    const X = (t: number): number => (300 * (t - from)) / (now - from);
    const Y = (v: number): number => 52 - (52 * (v - lo)) / (hi - lo);
    let d = "";
    let a = "";
    let open = false;
    let firstX = 0;
    let lastX = 0;
    for (let i = 0; i < h.t.length; i++) {
      const v = vals[i];
      if (v === null || v === undefined) {
        if (open) a += "L" + lastX.toFixed(1) + ",52L" + firstX.toFixed(1) + ",52Z";
        open = false;
        continue;
      }
      const x = X(h.t[i]!);
      const y = Y(v);
      if (!open) {
        d += "M" + x.toFixed(1) + "," + y.toFixed(2);
        a += "M" + x.toFixed(1) + ",52L" + x.toFixed(1) + "," + y.toFixed(2);
        firstX = x;
        open = true;
      } else {
        d += "L" + x.toFixed(1) + "," + y.toFixed(2);
        a += "L" + x.toFixed(1) + "," + y.toFixed(2);
      }
      lastX = x;
    }
    if (open) a += "L" + lastX.toFixed(1) + ",52L" + firstX.toFixed(1) + ",52Z";
    c.line.setAttribute("d", d);
    c.area.setAttribute("d", a);
    c.zero.setAttribute("d", lo < 0 && hi > 0 ? "M0," + Y(0).toFixed(2) + "L300," + Y(0).toFixed(2) : "");
  }

  function tile(label: string, value: string): HTMLElement {
    const t = el("div", "tile");
    t.append(el("small", "", label), el("b", "", value));
    return t;
  }

  /** What the exchange lists: delisted symbols still collected, and (symbols = ALL) new ones about to be added. */
  function listingTile(l: NonNullable<PageStatus["listing"]>): HTMLElement {
    const gone = Object.keys(l.not_trading);
    const parts = [gone.length > 0 ? gone.length + " not trading" : "", l.not_collected.length > 0 ? l.not_collected.length + " new, being added" : ""].filter((x) => x !== "");
    const t = tile("Exchange listing", l.checked_at_ms === null ? "not checked yet" : parts.length > 0 ? parts.join(" · ") : "all trading");
    t.title = [...gone.map((x) => x + ": " + l.not_trading[x]), ...l.not_collected.map((x) => x + ": listed, being added")].join("\n");
    return t;
  }

  function render(s: PageStatus): void {
    lastData = s;
    const pill = $("health");
    pill.textContent = s.health.ok ? "healthy" : "unhealthy";
    pill.className = "pill " + (s.health.ok ? "ok" : "bad");
    const reasons = $("reasons");
    reasons.className = s.health.ok ? "" : "show";
    const ul = el("ul");
    for (const r of s.health.reasons) ul.append(el("li", "", r));
    reasons.replaceChildren(el("b", "", "Unhealthy"), ul);
    const open = s.connections.filter((c) => c.state === "open").length;
    $("tiles").replaceChildren(
      tile("Uptime", dur(s.uptime_s)),
      tile("Symbols", count(s.symbols.length)),
      tile("Messages/s", count(s.totals.msgs_per_s)),
      tile("Connections", open + " / " + s.connections.length + " open"),
      tile("Bad frames", count(s.totals.badFrames)),
      ...((s.totals.rest_paused_s ?? 0) > 0 ? [tile("REST paused", dur(s.totals.rest_paused_s))] : []),
      ...(s.totals.clock_offset_ms !== undefined ? [tile("Clock vs exchange", (s.totals.clock_offset_ms >= 0 ? "+" : "") + (s.totals.clock_offset_ms / 1000).toFixed(1) + " s")] : []),
      tile("Parquet files", count(s.parquet ? s.parquet.filesWritten : null)),
      tile("NDJSON lines", count(s.ndjson ? s.ndjson.linesWritten : null)),
      tile("Disk free", bytes(s.disk ? s.disk.free_bytes : null)),
      ...(s.listing ? [listingTile(s.listing)] : []),
    );
    $("version").textContent = "v" + s.version;
    const filter = $<HTMLInputElement>("filter").value.trim().toUpperCase();
    for (const x of s.symbols) {
      const r = rows.get(x.symbol) || addSymbol(x);
      pushPoint(x.symbol, s.now_ms, x);
      const stale = x.last_frame_age_s === null || x.last_frame_age_s > 10;
      const hidden = filter !== "" && !x.symbol.includes(filter);
      r.tr.hidden = hidden;
      r.card.hidden = hidden;
      r.tr.classList.toggle("stale", stale);
      r.card.classList.toggle("stale", stale);
      for (const [k] of COLUMNS) {
        const td = r.cells[k]!;
        td.textContent = cellText(k, x);
        td.className = cellClass(k, x);
        if (k === "last_parquet_file") td.title = x.last_parquet_file || "";
        if (k === "regime") td.title = regimeTitle(x.regime);
      }
      for (const [k] of STATS) r.statEls[k]!.textContent = cellText(k, x);
      r.statEls.last_parquet_file!.title = x.last_parquet_file || "";
      r.px.textContent = price(x.last_price);
      r.sig.textContent = x.fusion_signal ? x.fusion_signal.toUpperCase() + " " + signed(x.fusion_score, 2) : "no signal";
      r.sig.className = "badge " + (x.fusion_signal || "");
      r.reg.textContent = x.regime || "regime " + DASH;
      r.reg.title = regimeTitle(x.regime);
      r.charts.mid.v.textContent = price(x.mid);
      r.charts.cvd.v.textContent = qty(x.cvd);
      r.charts.ofi_z.v.textContent = signed(x.ofi_z, 2);
      if (!hidden && (r.onScreen || rows.size <= DRAW_ALL_UP_TO)) drawCharts(r);
    }
    renderPaper(s.symbols);
    renderTrading(s.trading ?? null);
    renderCustom(s.custom_indicators || []);
    let oldest = s.now_ms;
    for (const h of chartData.values()) if (h.t.length > 0 && h.t[0]! < oldest) oldest = h.t[0]!;
    $("charts-title").textContent = "Last " + dur(Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, s.now_ms - oldest)) / 1000);
  }

  type PaperColumn = readonly [key: string, label: string, format: (v: never) => string, colored: boolean];
  /** Paper-trading columns (PaperStats); keys not listed here are appended as they come. */
  const PAPER_COLUMNS: readonly PaperColumn[] = [
    ["equity", "PnL", (v: number) => signed(v, 2), true],
    ["win_rate", "Win rate", (v: number) => num(v * 100, 1) + " %", false],
    ["max_drawdown", "Max drawdown", (v: number) => num(v, 2), false],
    ["sharpe", "Sharpe", (v: number) => signed(v, 2), true],
    ["trades", "Trades", count, false],
    ["wins", "Wins", count, false],
    ["fees", "Fees", (v: number) => num(v, 2), false],
    ["position", "Position", (p: { side: string; qty: number; entry_price: number; unrealized_pnl: number }) => p.side + " " + num(p.qty, 0, 6) + " @ " + price(p.entry_price) + " (" + signed(p.unrealized_pnl, 2) + ")", false],
    // Why a paper trader that has not traded has not: every entry signal is taken or skipped for a reason.
    ["signals", "Signals", (v: { taken: number; skipped: Record<string, number> }) => signalsText(v), false],
    ["fee_tier", "Fee tier", String, false],
  ];
  /** `12 taken · 387 skipped (cost 380, cooldown 7)`, the most frequent reason first. */
  function signalsText(v: { taken: number; skipped: Record<string, number> }): string {
    const reasons = Object.entries(v.skipped).sort((a, b) => b[1] - a[1]);
    const skipped = reasons.reduce((n, [, c]) => n + c, 0);
    const why = reasons.map(([r, c]) => r + " " + count(c)).join(", ");
    return count(v.taken) + " taken" + (skipped > 0 ? " · " + count(skipped) + " skipped (" + why + ")" : "");
  }
  function renderPaper(symbols: readonly PageSymbol[]): void {
    const withPaper = symbols.filter((x) => x.paper && typeof x.paper === "object");
    $("paper").className = withPaper.length > 0 ? "show" : "";
    if (withPaper.length === 0) return;
    const cols: PaperColumn[] = PAPER_COLUMNS.filter(([k]) => withPaper.some((x) => k in x.paper!));
    for (const x of withPaper) {
      for (const [k, v] of Object.entries(x.paper!)) {
        if (!cols.some((c) => c[0] === k) && (typeof v === "number" || typeof v === "string")) {
          cols.push([k, k.replace(/_/g, " "), (w: unknown) => (typeof w === "number" ? num(w, 0, 4) : String(w)), false]);
        }
      }
    }
    const head = el("tr");
    head.append(el("th", "", "Symbol"));
    for (const [, label] of cols) head.append(el("th", "", label));
    const body: HTMLElement[] = [];
    for (const x of withPaper) {
      const tr = el("tr");
      tr.dataset.symbol = x.symbol;
      tr.append(el("td", "", x.symbol));
      for (const [k, , f, colored] of cols) {
        const v = x.paper![k];
        const text = v === null || v === undefined ? (k === "position" ? "flat" : DASH) : (f as (w: unknown) => string)(v);
        tr.append(el("td", colored && typeof v === "number" ? (v > 0 ? "pos" : v < 0 ? "neg" : "") : "", text));
      }
      body.push(tr);
    }
    $("paper-head").replaceChildren(head);
    $("paper-rows").replaceChildren(...body);
  }

  /** trading, starting, not started (and whether it is retried), or standing by (trade.lease) and why. */
  function tradingState(t: PageTrading): string {
    // A failed start is not "starting": a refused one waits for a person (fix it, then restart).
    if (!t.ready && t.start !== undefined) return "not started: " + t.start.error + (t.start.retrying ? " \u00b7 retrying" : " \u00b7 not retrying: the venue refused it (fix it, then restart)");
    const l = t.lease;
    if (l === undefined || l.held) return t.ready ? "trading" : "starting";
    return "standing by: " + (l.holder !== null ? "the lease is held by " + l.holder : "lease " + (l.last_error ?? "not held"));
  }

  /** Orders the trader refused before sending, by cause (docs/trading.md "Refusals"). */
  function refusals(c: PageTrading["counters"]): string {
    const total = c.refusedLimit + c.refusedNotInSync + c.refusedFilter;
    return "refused " + total + (total === 0 ? "" : " (limits " + c.refusedLimit + ", not in sync " + c.refusedNotInSync + ", venue rules " + c.refusedFilter + ")");
  }

  /** Testnet trading (docs/trading.md): position, open orders, PnL and the limits used, per traded symbol. */
  function renderTrading(t: PageTrading | null): void {
    $("trading").className = t ? "show" : "";
    if (!t) return;
    const of = (v: number, lim: number, d: number): string => num(v, d) + " / " + num(lim, d);
    $("trading-note").textContent =
      tradingState(t) + " \u00b7 user stream " + (t.user_stream ? "connected" : "DOWN") + " \u00b7 fills " + t.counters.fills +
      " \u00b7 orders failed " + t.counters.ordersFailed + " \u00b7 " + refusals(t.counters) + " \u00b7 venue orders 10 s " + t.limits.order_count_10s + " \u00b7 weight " + t.limits.used_weight_1m;
    $("trading-rows").replaceChildren(
      ...t.symbols.map((x) => {
        const tr = el("tr");
        const cells: readonly (readonly [string, string])[] = [
          ["", x.symbol],
          [x.position_qty > 0 ? "pos" : x.position_qty < 0 ? "neg" : "", x.position_qty === 0 ? "flat" : num(x.position_qty, 0, 6) + " @ " + price(x.entry_price)],
          // A limit below the venue's smallest order refuses every entry (warned once at start): shown where the limit is.
          x.limit_below_min_order
            ? ["neg", of(x.position_notional, x.max_position_notional, 0) + " (below the smallest order, " + num(x.min_order_notional ?? 0, 0) + ")"]
            : ["", of(x.position_notional, x.max_position_notional, 0)],
          ["", x.stop_trigger === null ? DASH : price(x.stop_trigger)],
          ["", count(x.open_orders)],
          [x.day_pnl > 0 ? "pos" : x.day_pnl < 0 ? "neg" : "", signed(x.day_pnl, 2) + " / -" + num(x.max_daily_loss, 0)],
          [x.total_pnl > 0 ? "pos" : x.total_pnl < 0 ? "neg" : "", signed(x.total_pnl, 2)],
          ["", of(x.drawdown_pct, x.max_drawdown_pct, 2) + " %"],
          ["", x.orders_last_min + " / " + x.max_orders_per_min],
          [x.halted ? "neg" : "", x.halted ?? DASH],
        ];
        for (const [cls, text] of cells) tr.append(el("td", cls, text));
        return tr;
      }),
    );
  }

  /** Custom indicators (docs/indicators-custom.md): cost, rows and errors per indicator over all symbols. */
  function renderCustom(list: readonly CustomIndicatorStat[]): void {
    $("custom").className = list.length > 0 ? "show" : "";
    const us = (v: Num): string => (v === null || v === undefined ? DASH : num(v, v < 10 ? 2 : 0) + " \u00b5s");
    $("custom-rows").replaceChildren(
      ...list.map((c) => {
        const tr = el("tr");
        tr.title = c.file;
        const off = c.switchedOff.length === 0 ? DASH : c.switchedOff.join(", ");
        tr.append(
          el("td", "", c.name),
          el("td", "", count(c.calls)),
          el("td", "", us(c.costMeanUs)),
          el("td", "", us(c.costP99Us)),
          el("td", "", count(c.rows)),
          el("td", c.errors > 0 ? "neg" : "", count(c.errors)),
          el("td", c.switchedOff.length > 0 ? "neg" : "", off),
          el("td", "", c.lastError || DASH),
        );
        return tr;
      }),
    );
  }

  function tickUpdated(): void {
    const u = $("updated");
    if (lastOkAt === 0) return;
    const age = (Date.now() - lastOkAt) / 1000;
    u.textContent = age > 5 ? "no answer for " + Math.round(age) + " s \u2014 retrying" : "updated " + (age < 1.5 ? "just now" : Math.round(age) + " s ago");
    u.className = age > 5 ? "neg" : "";
  }

  async function poll(): Promise<void> {
    try {
      const r = await fetch("/api/status", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      render((await r.json()) as PageStatus);
      lastOkAt = Date.now();
    } catch {
      $("health").textContent = "status unavailable";
      $("health").className = "pill bad";
    }
    tickUpdated();
    setTimeout(poll, POLL_MS);
  }

  async function start(): Promise<void> {
    const head = $("head");
    for (const [k, label] of COLUMNS) {
      const th = el("th", "", label);
      // The window is in the section's heading; the columns stay narrow.
      if (k.startsWith("latency_")) th.title = "event latency over the last minute (50\u201360 s), not since the start";
      head.append(th);
    }
    $("filter").addEventListener("input", () => {
      if (lastData) render(lastData);
    });
    try {
      const r = await fetch("/api/history?seconds=" + WINDOW_MS / 1000, { cache: "no-store" });
      if (r.ok) {
        const h = (await r.json()) as PageHistory;
        for (const [symbol, series] of Object.entries(h.symbols)) {
          for (let i = 0; i < h.t.length; i++) pushPoint(symbol, h.t[i]!, { mid: series.mid[i], cvd: series.cvd[i], ofi_z: series.ofi_z[i] });
        }
      }
    } catch {
      // No history yet: the charts fill from the polls.
    }
    setInterval(tickUpdated, 1000);
    void poll();
  }
  void start();
}
