/**
 * The status page: one self-contained HTML document, no framework and no request beyond this
 * server's own /api/status (polled once a second) and /api/history (once, to fill the charts).
 * Values a person scans first come first. Desktop: a table of every symbol, then a card of charts
 * per symbol. Phone: the table gives way to the cards, which then show every figure too.
 * The DOM is built once per symbol and updated in place with textContent (never innerHTML of data).
 * The script and style are exported separately so the server can allow exactly them by CSP hash.
 */

import { statusPageClient } from "./status-page-client.ts";

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
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;background:
linear-gradient(to right,var(--panel) 40%,rgba(22,27,34,0)) left/36px 100% no-repeat local,
linear-gradient(to left,var(--panel) 40%,rgba(22,27,34,0)) right/36px 100% no-repeat local,
radial-gradient(farthest-side at 0 50%,rgba(88,166,255,.35),rgba(88,166,255,0)) left/12px 100% no-repeat scroll,
radial-gradient(farthest-side at 100% 50%,rgba(88,166,255,.35),rgba(88,166,255,0)) right/12px 100% no-repeat scroll,var(--panel)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 10px;text-align:right;white-space:nowrap;border-bottom:1px solid var(--line)}
tbody tr:last-child td{border-bottom:0}tbody tr:hover{background:#1c2230}
th{color:var(--muted);font-weight:500;font-size:12px;position:sticky;top:0;background:var(--panel)}
td:first-child,th:first-child{text-align:left;font-weight:600}
#paper td,#trading td:last-child,#custom td:last-child{white-space:normal}#trading td:last-child,#custom td:last-child{min-width:10em}
#paper table{min-width:1000px}
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

/**
 * The page's one inline script: the source of `statusPageClient` (status-page-client.ts, type-checked
 * with the DOM library), called at once. Served as text and allowed by its hash in the CSP.
 */
export const STATUS_PAGE_SCRIPT = `"use strict";(${statusPageClient.toString()})();`;

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
<section id="table-section"><h2>Symbols <small>(latency: the last minute)</small></h2><div class="wrap"><table><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table></div></section>
<section id="paper"><h2>Paper trading</h2><div class="wrap"><table><thead id="paper-head"></thead><tbody id="paper-rows"></tbody></table></div></section>
<section id="trading"><h2>Testnet trading</h2><p id="trading-note" class="note"></p><div class="wrap"><table><thead><tr><th>Symbol</th><th>Position</th><th>Notional / limit</th><th>Stop</th><th>Open orders</th><th>Day PnL / limit</th><th>PnL</th><th>Drawdown / limit</th><th>Orders/min / limit</th><th>Halted</th></tr></thead><tbody id="trading-rows"></tbody></table></div></section>
<section id="custom"><h2>Custom indicators</h2><div class="wrap"><table><thead><tr><th>Indicator</th><th>Calls</th><th>Cost mean since start</th><th>Cost p99 since start</th><th>Rows</th><th>Errors</th><th>Switched off</th><th>Last error</th></tr></thead><tbody id="custom-rows"></tbody></table></div></section>
<section><h2 id="charts-title">Charts</h2><div id="cards" class="cards"></div></section>
<footer>Live from <code>/api/status</code> every second · JSON twin at <code>/api/status</code> · Prometheus at <code>/metrics</code> · health at <code>/health</code></footer>
</main>
<script>${STATUS_PAGE_SCRIPT}</script></body></html>`;
