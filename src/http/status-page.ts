/**
 * The status page: one self-contained HTML document (no framework, no network beyond its own
 * /api/status), polled once a second. Values a person scans first come first in each row.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>harvestd</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f1115;color:#e6e6e6}
header{padding:10px 16px;background:#181b22;display:flex;gap:16px;flex-wrap:wrap;align-items:baseline}
h1{font-size:18px;margin:0}.ok{color:#4cd964}.bad{color:#ff5f56}.muted{color:#8a8f98}
main{padding:8px 16px;overflow-x:auto}
table{border-collapse:collapse;width:100%;min-width:900px}
th,td{padding:4px 8px;text-align:right;border-bottom:1px solid #262a33;white-space:nowrap}
th{color:#8a8f98;font-weight:500}td:first-child,th:first-child{text-align:left}
.buy{color:#4cd964}.sell{color:#ff5f56}
</style></head><body>
<header><h1>harvestd</h1><span id="health" class="muted">loading…</span><span id="meta" class="muted"></span></header>
<main><table><thead><tr>
<th>symbol</th><th>last</th><th>mid</th><th>spread bps</th><th>OFI z</th><th>CVD</th><th>fusion</th><th>regime</th>
<th>msg/s</th><th>frames</th><th>trades</th><th>books</th><th>lat p50</th><th>lat p99</th><th>gaps</th><th>reconn.</th><th>bad</th><th>last file</th>
</tr></thead><tbody id="rows"></tbody></table></main>
<script>
const f=(v,d)=>v==null||Number.isNaN(v)?"–":Number(v).toFixed(d);
const esc=s=>String(s).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
async function tick(){
  try{
    const r=await fetch("/api/status",{cache:"no-store"});const s=await r.json();
    const h=document.getElementById("health");h.textContent=s.health.ok?"healthy":"unhealthy: "+s.health.reasons.join("; ");
    h.className=s.health.ok?"ok":"bad";
    document.getElementById("meta").textContent="up "+Math.round(s.uptime_s)+" s · "+s.version;
    document.getElementById("rows").innerHTML=s.symbols.map(x=>"<tr><td>"+esc(x.symbol)+"</td><td>"+f(x.last_price,4)+"</td><td>"+f(x.mid,4)+
      "</td><td>"+f(x.spread_bps,2)+"</td><td>"+f(x.ofi_z,2)+"</td><td>"+f(x.cvd,3)+"</td><td class='"+esc(x.fusion_signal||"")+"'>"+esc(x.fusion_signal||"–")+
      "</td><td>"+esc(x.regime||"–")+"</td><td>"+f(x.msgs_per_s,0)+"</td><td>"+x.frames+"</td><td>"+x.trades+"</td><td>"+x.books+
      "</td><td>"+f(x.latency_p50_ms,1)+"</td><td>"+f(x.latency_p99_ms,1)+"</td><td>"+x.gaps+"</td><td>"+x.reconnects+"</td><td>"+x.bad_frames+
      "</td><td class='muted'>"+esc(x.last_file||"–")+"</td></tr>").join("");
  }catch(e){const h=document.getElementById("health");h.textContent="status unavailable";h.className="bad";}
}
tick();setInterval(tick,1000);
</script></body></html>`;
