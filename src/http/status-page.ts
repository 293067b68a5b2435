/**
 * The status page: one self-contained HTML document, no framework and no request beyond this
 * server's own /api/status (polled once a second) and /api/history (once, to fill the charts).
 * Values a person scans first come first. Desktop: a table of every symbol, then a card of charts
 * per symbol. Phone: the table gives way to the cards, which then show every figure too.
 * The DOM is built once per symbol and updated in place with textContent (never innerHTML of data).
 * The script and style are exported separately so the server can allow exactly them by CSP hash.
 */

export const STATUS_PAGE_STYLE = `
:root{--bg:#0d1117;--panel:#161b22;--line:#262c36;--text:#e6edf3;--muted:#8b949e;--green:#3fb950;--red:#f85149;
--blue:#58a6ff;--violet:#bc8cff;--orange:#f0883e;--yellow:#d29922;color-scheme:dark}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
font-variant-numeric:tabular-nums}
header{position:sticky;top:0;z-index:2;background:rgba(13,17,23,.94);backdrop-filter:blur(6px);border-bottom:1px solid var(--line);
padding:10px 18px;display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center}
h1{font-size:17px;margin:0;letter-spacing:.3px}h1 span{color:var(--muted);font-weight:400}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.8px;color:var(--muted);margin:22px 0 10px;font-weight:600}
.pill{display:inline-flex;align-items:center;gap:6px;padding:2px 10px;border-radius:999px;font-weight:600;font-size:13px;
background:#1f2630;color:var(--muted)}
.pill::before{content:"";width:8px;height:8px;border-radius:50%;background:currentColor}
.pill.ok{color:var(--green);background:rgba(63,185,80,.12)}.pill.bad{color:var(--red);background:rgba(248,81,73,.12)}
#updated{color:var(--muted);font-size:12px;margin-left:auto}
#filter{background:var(--panel);border:1px solid var(--line);color:var(--text);border-radius:6px;padding:4px 8px;font:inherit;width:150px}
main{padding:6px 18px 30px;max-width:1700px;margin:0 auto}
#reasons{display:none;margin:12px 0 0;padding:10px 14px;border:1px solid rgba(248,81,73,.5);background:rgba(248,81,73,.08);
border-radius:8px;color:#ffb3ad}
#reasons.show{display:block}#reasons ul{margin:4px 0 0;padding-left:18px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin-top:14px}
.tile{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.tile b{display:block;font-size:18px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.tile small,.k{color:var(--muted);font-size:12px}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 10px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
tbody tr:last-child td{border-bottom:0}tbody tr:hover{background:#1c2230}
th{color:var(--muted);font-weight:500;font-size:12px;position:sticky;top:0;background:var(--panel)}
td:first-child,th:first-child{text-align:left;font-weight:600}
td.file{max-width:260px;overflow:hidden;text-overflow:ellipsis;color:var(--muted);text-align:left}
.buy{color:var(--green)}.sell{color:var(--red)}.neutral{color:var(--muted)}
.pos{color:var(--green)}.neg{color:var(--red)}
tr.stale td{opacity:.55}tr.stale td:first-child::after,.card.stale h3::after{content:" stale";color:var(--yellow);font-size:11px;font-weight:500}
.badge{display:inline-block;padding:1px 7px;border-radius:5px;font-size:12px;font-weight:600;background:#1f2630}
.badge.buy{background:rgba(63,185,80,.15)}.badge.sell{background:rgba(248,81,73,.15)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card h3{margin:0 0 8px;font-size:15px;display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}
.card h3 .px{font-size:17px}.card h3 .badge{font-size:11px}
.chart{display:grid;grid-template-columns:92px 1fr;align-items:center;gap:8px;margin-top:4px}
.chart .v{font-size:13px;font-weight:600;display:block}
.chart svg{width:100%;height:52px;display:block;background:#0f141b;border-radius:5px}
.chart path.line{fill:none;stroke-width:1.6;vector-effect:non-scaling-stroke;stroke-linejoin:round}
.chart path.zero{stroke:#3a4250;stroke-dasharray:3 3;vector-effect:non-scaling-stroke}
.chart path.area{stroke:none;opacity:.13}
.c-mid{stroke:var(--blue);fill:var(--blue)}.c-cvd{stroke:var(--violet);fill:var(--violet)}.c-ofi_z{stroke:var(--orange);fill:var(--orange)}
.stats{display:none;grid-template-columns:repeat(3,1fr);gap:6px 10px;margin-top:10px;font-size:13px}
.stats div{min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.stats .k{display:block}
#trading{display:none}#trading.show{display:block}#paper{display:none}#paper.show{display:block}#custom{display:none}#custom.show{display:block}
footer{color:var(--muted);font-size:12px;margin-top:24px}
@media (max-width:760px){
header{padding:8px 12px}main{padding:4px 12px 24px}#table-section{display:none}
header{gap:6px 10px}.cards{grid-template-columns:1fr}.stats{display:grid}#filter{flex:1 1 60px;min-width:0;width:auto}
#updated{width:100%;margin:0}
.tiles{grid-template-columns:repeat(3,1fr);gap:6px}.tile{padding:5px 8px}.tile b{font-size:15px}.tile small{font-size:11px}
}
`;

export const STATUS_PAGE_SCRIPT = `
"use strict";
const WINDOW_MS = 5 * 60 * 1000;
const POLL_MS = 1000;
/** Charts span from the oldest sample (at least this far back) up to WINDOW_MS. */
const MIN_SPAN_MS = 60 * 1000;
const SERIES = ["mid", "cvd", "ofi_z"];
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const rows = new Map();
const chartData = new Map();
let lastOkAt = 0;
let lastData = null;

// Intl formatters are costly to create: one per decimals setting, reused (hundreds of cells a second).
const formats = new Map();
function num(v, min, max) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "\\u2013";
  const hi = max === undefined ? min : max;
  let f = formats.get(min * 100 + hi);
  if (!f) { f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: hi }); formats.set(min * 100 + hi, f); }
  return f.format(v);
}
function price(v) {
  if (v === null || v === undefined) return "\\u2013";
  const a = Math.abs(v);
  const d = a >= 1000 ? 2 : a >= 100 ? 3 : a >= 1 ? 4 : a >= 0.01 ? 5 : 7;
  return num(v, d);
}
function signed(v, d) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "\\u2013";
  const r = Number(v.toFixed(d));
  // Rounded to zero reads as 0.00, not -0.00.
  return r === 0 ? num(0, d) : (r > 0 ? "+" : "") + num(r, d);
}
function qty(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "\\u2013";
  const a = Math.abs(v);
  return signed(v, a >= 1000 ? 0 : a >= 1 ? 2 : 4);
}
function count(v) { return v === null || v === undefined ? "\\u2013" : num(v, 0); }
function ms(v) { return v === null || v === undefined ? "\\u2013" : num(v, v < 10 ? 1 : 0) + " ms"; }
function dur(s) {
  if (s === null || s === undefined) return "\\u2013";
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 172800) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d";
}
function bytes(b) {
  if (b === null || b === undefined || !Number.isFinite(b)) return "\\u2013";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
  return num(b, i === 0 ? 0 : 1) + " " + u[i];
}
function base(path) { return path ? String(path).split("/").pop() : "\\u2013"; }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, cls) {
  const e = document.createElementNS(SVGNS, tag);
  if (cls) e.setAttribute("class", cls);
  return e;
}

const COLUMNS = [
  ["symbol", "Symbol"], ["last_price", "Last"], ["mid", "Mid"], ["spread_bps", "Spread bps"], ["ofi_z", "OFI z"],
  ["cvd", "CVD"], ["fusion", "Fusion"], ["regime", "Regime"], ["msgs_per_s", "Msg/s"], ["latency_p50_ms", "Lat p50"],
  ["latency_p99_ms", "Lat p99"], ["resyncs", "Resyncs"], ["reconnects", "Reconn."], ["backfilled", "Backfilled"],
  ["book", "Book"], ["last_parquet_file", "Last Parquet"],
];
const STATS = [
  ["spread_bps", "Spread bps"], ["msgs_per_s", "Msg/s"], ["latency_p50_ms", "Lat p50"], ["latency_p99_ms", "Lat p99"],
  ["resyncs", "Resyncs"], ["reconnects", "Reconnects"], ["backfilled", "Backfilled"], ["regime", "Regime"],
  ["book", "Book"], ["last_parquet_file", "Last Parquet"],
];
const REGIMES = { A_H: "active, high volatility", A_L: "active, low volatility", Q_H: "quiet, high volatility", Q_L: "quiet, low volatility" };

function cellText(k, x) {
  switch (k) {
    case "symbol": return x.symbol;
    case "last_price": case "mid": return price(x[k]);
    case "spread_bps": return num(x.spread_bps, 2);
    case "ofi_z": return signed(x.ofi_z, 2);
    case "cvd": return qty(x.cvd);
    case "fusion": return x.fusion_signal ? x.fusion_signal + " " + signed(x.fusion_score, 2) : "\\u2013";
    case "regime": return x.regime || "\\u2013";
    case "msgs_per_s": return count(x.msgs_per_s);
    case "latency_p50_ms": case "latency_p99_ms": return ms(x[k]);
    case "resyncs": case "reconnects": case "backfilled": return count(x[k]);
    // Full-depth mode: levels per side, sync state, age of the last snapshot; depth5 shows "depth5".
    case "book": {
      const b = x.book;
      if (!b) return "depth5";
      const snap = b.last_snapshot_age_s == null ? "no snapshot" : "snapshot " + dur(b.last_snapshot_age_s) + " ago";
      return (b.state === "synced" ? b.bid_levels + "/" + b.ask_levels + " levels" : b.state) + " \u00b7 " + snap;
    }
    case "last_parquet_file": {
      if (!x.last_parquet_file) return "\\u2013";
      const kind = /kind=([a-z_]+)/.exec(x.last_parquet_file);
      const ago = x.last_parquet_at_ms ? " \\u00b7 " + dur(Math.max(0, lastData.now_ms - x.last_parquet_at_ms) / 1000) + " ago" : "";
      return (kind ? kind[1] : base(x.last_parquet_file)) + ago;
    }
  }
  return "";
}
function cellClass(k, x) {
  if (k === "fusion") return x.fusion_signal || "";
  if (k === "ofi_z" || k === "cvd") return x[k] > 0 ? "pos" : x[k] < 0 ? "neg" : "";
  if (k === "last_parquet_file") return "file";
  return "";
}

function makeChart(series, label) {
  const box = el("div", "chart");
  const left = el("div");
  left.append(el("span", "k", label));
  const v = el("span", "v", "\\u2013");
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

function addSymbol(x) {
  const tr = el("tr");
  tr.dataset.symbol = x.symbol;
  const cells = {};
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
  const px = el("span", "px", "\\u2013");
  const sig = el("span", "badge", "\\u2013");
  const reg = el("span", "badge", "\\u2013");
  h.append(el("span", "", x.symbol), px, sig, reg);
  const charts = { mid: makeChart("mid", "Mid"), cvd: makeChart("cvd", "CVD"), ofi_z: makeChart("ofi_z", "OFI z") };
  const stats = el("div", "stats");
  const statEls = {};
  for (const [k, label] of STATS) {
    const d = el("div");
    d.append(el("span", "k", label));
    const v = el("span", "", "\\u2013");
    d.append(v);
    statEls[k] = v;
    stats.append(d);
  }
  card.append(h, charts.mid.box, charts.cvd.box, charts.ofi_z.box, stats);
  $("cards").append(card);
  const r = { symbol: x.symbol, tr, cells, card, px, sig, reg, charts, statEls, onScreen: false };
  rows.set(x.symbol, r);
  cardOf.set(card, r);
  onScreen.observe(card);
  return r;
}

function drawCharts(r) {
  if (lastData) for (const sr of SERIES) drawChart(r.charts[sr], sr, chartData.get(r.symbol), lastData.now_ms);
}

// With many symbols (SYMBOLS=ALL) charts are drawn only for cards on screen.
const DRAW_ALL_UP_TO = 24;
const cardOf = new Map();
const onScreen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const r = cardOf.get(e.target);
    r.onScreen = e.isIntersecting;
    if (r.onScreen) drawCharts(r);
  }
});

function pushPoint(symbol, t, x) {
  let h = chartData.get(symbol);
  if (!h) { h = { t: [], mid: [], cvd: [], ofi_z: [] }; chartData.set(symbol, h); }
  if (h.t.length > 0 && t <= h.t[h.t.length - 1]) return;
  h.t.push(t);
  for (const s of SERIES) h[s].push(x[s] === undefined ? null : x[s]);
  while (h.t.length > 0 && h.t[0] < t - WINDOW_MS) { h.t.shift(); for (const s of SERIES) h[s].shift(); }
}

function drawChart(c, series, h, now) {
  const vals = h ? h[series] : [];
  let lo = Infinity, hi = -Infinity;
  for (const v of vals) if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo === Infinity) { c.line.setAttribute("d", ""); c.area.setAttribute("d", ""); c.zero.setAttribute("d", ""); return; }
  if (series === "ofi_z") { const m = Math.max(1, Math.abs(lo), Math.abs(hi)); lo = -m; hi = m; }
  if (hi - lo < 1e-12) { const pad = Math.abs(hi) * 1e-4 || 1; lo -= pad; hi += pad; }
  const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
  const from = Math.max(now - WINDOW_MS, Math.min(h.t[0], now - MIN_SPAN_MS));
  const X = (t) => (300 * (t - from)) / (now - from);
  const Y = (v) => 52 - (52 * (v - lo)) / (hi - lo);
  let d = "", a = "", open = false, firstX = 0, lastX = 0;
  for (let i = 0; i < h.t.length; i++) {
    const v = vals[i];
    if (v === null) { if (open) { a += "L" + lastX.toFixed(1) + ",52L" + firstX.toFixed(1) + ",52Z"; } open = false; continue; }
    const x = X(h.t[i]), y = Y(v);
    if (!open) { d += "M" + x.toFixed(1) + "," + y.toFixed(2); a += "M" + x.toFixed(1) + ",52L" + x.toFixed(1) + "," + y.toFixed(2); firstX = x; open = true; }
    else { d += "L" + x.toFixed(1) + "," + y.toFixed(2); a += "L" + x.toFixed(1) + "," + y.toFixed(2); }
    lastX = x;
  }
  if (open) a += "L" + lastX.toFixed(1) + ",52L" + firstX.toFixed(1) + ",52Z";
  c.line.setAttribute("d", d);
  c.area.setAttribute("d", a);
  c.zero.setAttribute("d", lo < 0 && hi > 0 ? "M0," + Y(0).toFixed(2) + "L300," + Y(0).toFixed(2) : "");
}

function tile(label, value) {
  const t = el("div", "tile");
  t.append(el("small", "", label), el("b", "", value));
  return t;
}

function render(s) {
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
    tile("Parquet files", count(s.parquet.filesWritten)),
    tile("NDJSON lines", count(s.ndjson.linesWritten)),
    tile("Disk free", bytes(s.disk ? s.disk.free_bytes : null)),
  );
  $("version").textContent = "v" + s.version;
  const filter = $("filter").value.trim().toUpperCase();
  for (const x of s.symbols) {
    const r = rows.get(x.symbol) || addSymbol(x);
    pushPoint(x.symbol, s.now_ms, x);
    const stale = x.last_frame_age_s === null || x.last_frame_age_s > 10;
    const hidden = filter !== "" && !x.symbol.includes(filter);
    r.tr.hidden = hidden; r.card.hidden = hidden;
    r.tr.classList.toggle("stale", stale); r.card.classList.toggle("stale", stale);
    for (const [k] of COLUMNS) {
      const td = r.cells[k];
      td.textContent = cellText(k, x);
      td.className = cellClass(k, x);
      if (k === "last_parquet_file") td.title = x.last_parquet_file || "";
      if (k === "regime") td.title = REGIMES[x.regime] || "";
    }
    for (const [k] of STATS) r.statEls[k].textContent = cellText(k, x);
    r.statEls.last_parquet_file.title = x.last_parquet_file || "";
    r.px.textContent = price(x.last_price);
    r.sig.textContent = x.fusion_signal ? x.fusion_signal.toUpperCase() + " " + signed(x.fusion_score, 2) : "no signal";
    r.sig.className = "badge " + (x.fusion_signal || "");
    r.reg.textContent = x.regime || "regime \\u2013";
    r.reg.title = REGIMES[x.regime] || "";
    r.charts.mid.v.textContent = price(x.mid);
    r.charts.cvd.v.textContent = qty(x.cvd);
    r.charts.ofi_z.v.textContent = signed(x.ofi_z, 2);
    if (!hidden && (r.onScreen || rows.size <= DRAW_ALL_UP_TO)) drawCharts(r);
  }
  renderPaper(s.symbols);
  renderTrading(s.trading);
  renderCustom(s.custom_indicators || []);
  let oldest = s.now_ms;
  for (const h of chartData.values()) if (h.t.length > 0 && h.t[0] < oldest) oldest = h.t[0];
  $("charts-title").textContent = "Last " + dur(Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, s.now_ms - oldest)) / 1000);
}

/** Paper-trading columns (PaperStats); keys not listed here are appended as they come. */
const PAPER_COLUMNS = [
  ["equity", "PnL", (v) => signed(v, 2), true],
  ["win_rate", "Win rate", (v) => num(v * 100, 1) + " %", false],
  ["max_drawdown", "Max drawdown", (v) => num(v, 2), false],
  ["sharpe", "Sharpe", (v) => signed(v, 2), true],
  ["trades", "Trades", count, false],
  ["wins", "Wins", count, false],
  ["fees", "Fees", (v) => num(v, 2), false],
  ["position", "Position", (p) => p.side + " " + num(p.qty, 0, 6) + " @ " + price(p.entry_price) + " (" + signed(p.unrealized_pnl, 2) + ")", false],
  ["fee_tier", "Fee tier", String, false],
];
function renderPaper(symbols) {
  const withPaper = symbols.filter((x) => x.paper && typeof x.paper === "object");
  $("paper").className = withPaper.length > 0 ? "show" : "";
  if (withPaper.length === 0) return;
  const cols = PAPER_COLUMNS.filter(([k]) => withPaper.some((x) => k in x.paper));
  for (const x of withPaper) {
    for (const [k, v] of Object.entries(x.paper)) {
      if (!cols.some((c) => c[0] === k) && (typeof v === "number" || typeof v === "string")) cols.push([k, k.replace(/_/g, " "), (w) => (typeof w === "number" ? num(w, 0, 4) : String(w)), false]);
    }
  }
  const head = el("tr");
  head.append(el("th", "", "Symbol"));
  for (const [, label] of cols) head.append(el("th", "", label));
  const body = [];
  for (const x of withPaper) {
    const tr = el("tr");
    tr.dataset.symbol = x.symbol;
    tr.append(el("td", "", x.symbol));
    for (const [k, , f, colored] of cols) {
      const v = x.paper[k];
      const text = v === null || v === undefined ? (k === "position" ? "flat" : "\\u2013") : f(v);
      tr.append(el("td", colored && typeof v === "number" ? (v > 0 ? "pos" : v < 0 ? "neg" : "") : "", text));
    }
    body.push(tr);
  }
  $("paper-head").replaceChildren(head);
  $("paper-rows").replaceChildren(...body);
}

/** Testnet trading (docs/trading.md): position, open orders, PnL and the limits used, per traded symbol. */
function renderTrading(t) {
  $("trading").className = t ? "show" : "";
  if (!t) return;
  const of = (v, lim, d) => num(v, d) + " / " + num(lim, d);
  $("trading-note").textContent = (t.ready ? "trading" : "starting") + " \u00b7 user stream " + (t.user_stream ? "connected" : "DOWN") + " \u00b7 fills " + t.counters.fills + " \u00b7 orders failed " + t.counters.ordersFailed + " \u00b7 venue orders 10 s " + t.limits.order_count_10s + " \u00b7 weight " + t.limits.used_weight_1m;
  $("trading-rows").replaceChildren(...t.symbols.map((x) => {
    const tr = el("tr");
    const cells = [
      ["", x.symbol],
      [x.position_qty > 0 ? "pos" : x.position_qty < 0 ? "neg" : "", x.position_qty === 0 ? "flat" : num(x.position_qty, 0, 6) + " @ " + price(x.entry_price)],
      ["", of(x.position_notional, x.max_position_notional, 0)],
      ["", x.stop_trigger === null ? "\u2013" : price(x.stop_trigger)],
      ["", count(x.open_orders)],
      [x.day_pnl > 0 ? "pos" : x.day_pnl < 0 ? "neg" : "", signed(x.day_pnl, 2) + " / -" + num(x.max_daily_loss, 0)],
      [x.total_pnl > 0 ? "pos" : x.total_pnl < 0 ? "neg" : "", signed(x.total_pnl, 2)],
      ["", of(x.drawdown_pct, x.max_drawdown_pct, 2) + " %"],
      ["", x.orders_last_min + " / " + x.max_orders_per_min],
      [x.halted ? "neg" : "", x.halted ?? "\u2013"],
    ];
    for (const [cls, text] of cells) tr.append(el("td", cls, text));
    return tr;
  }));
}

/** Custom indicators (docs/indicators-custom.md): cost, rows and errors per indicator over all symbols. */
function renderCustom(list) {
  $("custom").className = list.length > 0 ? "show" : "";
  const us = (v) => (v === null || v === undefined ? "\\u2013" : num(v, v < 10 ? 2 : 0) + " \\u00b5s");
  $("custom-rows").replaceChildren(...list.map((c) => {
    const tr = el("tr");
    tr.title = c.file;
    const off = c.switchedOff.length === 0 ? "\\u2013" : c.switchedOff.join(", ");
    tr.append(el("td", "", c.name), el("td", "", count(c.calls)), el("td", "", us(c.costMeanUs)), el("td", "", us(c.costP99Us)), el("td", "", count(c.rows)),
      el("td", c.errors > 0 ? "neg" : "", count(c.errors)), el("td", c.switchedOff.length > 0 ? "neg" : "", off), el("td", "", c.lastError || "\\u2013"));
    return tr;
  }));
}

function tickUpdated() {
  const u = $("updated");
  if (lastOkAt === 0) return;
  const age = (Date.now() - lastOkAt) / 1000;
  u.textContent = age > 5 ? "no answer for " + Math.round(age) + " s \\u2014 retrying" : "updated " + (age < 1.5 ? "just now" : Math.round(age) + " s ago");
  u.className = age > 5 ? "neg" : "";
}

async function poll() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    lastOkAt = Date.now();
  } catch (e) {
    $("health").textContent = "status unavailable";
    $("health").className = "pill bad";
  }
  tickUpdated();
  setTimeout(poll, POLL_MS);
}

async function start() {
  const head = $("head");
  for (const [, label] of COLUMNS) head.append(el("th", "", label));
  $("filter").addEventListener("input", () => { if (lastData) render(lastData); });
  try {
    const r = await fetch("/api/history?seconds=" + WINDOW_MS / 1000, { cache: "no-store" });
    if (r.ok) {
      const h = await r.json();
      for (const [symbol, series] of Object.entries(h.symbols)) {
        for (let i = 0; i < h.t.length; i++) pushPoint(symbol, h.t[i], { mid: series.mid[i], cvd: series.cvd[i], ofi_z: series.ofi_z[i] });
      }
    }
  } catch (e) {}
  setInterval(tickUpdated, 1000);
  poll();
}
start();
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="dark"><title>harvestd status</title><link rel="icon" href="data:,">
<style>${STATUS_PAGE_STYLE}</style></head><body>
<header><h1>harvestd <span id="version"></span></h1><span id="health" class="pill">loading…</span>
<input id="filter" type="search" placeholder="filter symbols" aria-label="filter symbols" autocomplete="off">
<span id="updated"></span></header>
<main>
<div id="reasons" role="alert"></div>
<div id="tiles" class="tiles"></div>
<section id="table-section"><h2>Symbols</h2><div class="wrap"><table><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table></div></section>
<section id="paper"><h2>Paper trading</h2><div class="wrap"><table><thead id="paper-head"></thead><tbody id="paper-rows"></tbody></table></div></section>
<section id="trading"><h2>Testnet trading</h2><p id="trading-note" class="note"></p><div class="wrap"><table><thead><tr><th>Symbol</th><th>Position</th><th>Notional / limit</th><th>Stop</th><th>Open orders</th><th>Day PnL / limit</th><th>PnL</th><th>Drawdown / limit</th><th>Orders/min / limit</th><th>Halted</th></tr></thead><tbody id="trading-rows"></tbody></table></div></section>
<section id="custom"><h2>Custom indicators</h2><div class="wrap"><table><thead><tr><th>Indicator</th><th>Calls</th><th>Cost mean</th><th>Cost p99</th><th>Rows</th><th>Errors</th><th>Switched off</th><th>Last error</th></tr></thead><tbody id="custom-rows"></tbody></table></div></section>
<section><h2 id="charts-title">Charts</h2><div id="cards" class="cards"></div></section>
<footer>Live from <code>/api/status</code> every second · JSON twin at <code>/api/status</code> · Prometheus at <code>/metrics</code> · health at <code>/health</code></footer>
</main>
<script>${STATUS_PAGE_SCRIPT}</script></body></html>`;
