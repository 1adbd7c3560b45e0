// The status page's inline stylesheet and script, and a Content-Security-Policy that admits exactly these two.
import { createHash } from "node:crypto";
import { TIMELINE_PHASES } from "../status/index.js";

export const PAGE_CSS = `
:root{--bg:#f6f7f9;--fg:#1b1f24;--card:#fff;--muted:#6b7280;--line:#dfe3e8;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--busy:#0969da;--drift:#fff4d6;--badrow:#fff0f0;color-scheme:light dark;
--ph-queued:#c4cad3;--ph-granted:#8cc4ff;--ph-draining:#f2a33a;--ph-drained:#f7cf86;--ph-rebooting:#8250df;--ph-verifying:#1b9aaa}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--card:#161b22;--muted:#8b949e;--line:#30363d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--busy:#58a6ff;--drift:#3a2f0b;--badrow:#2d1417;
--ph-queued:#4b535d;--ph-granted:#2f6fb3;--ph-draining:#c77c12;--ph-drained:#8a6a2a;--ph-rebooting:#a371f7;--ph-verifying:#2bb3c0}}
*{box-sizing:border-box}
html{font-size:clamp(14px,0.45vw + 9px,22px)}
body{margin:0;background:var(--bg);color:var(--fg);font:1rem/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.bar{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--card)}
.bar h1{margin:0;font-size:1.3rem}.bar h1 .brand{color:var(--muted);font-weight:400}
.live{font-size:.85rem;color:var(--muted)}.live::before{content:"";display:inline-block;width:.6em;height:.6em;border-radius:50%;margin-right:.4em;background:var(--muted)}
.live.on::before{background:var(--ok)}.live.off::before{background:var(--bad)}
main,#events-section{padding:0 1rem;max-width:120rem;margin:0 auto}
h2{font-size:1.05rem;margin:1.2rem 0 .5rem}.count{color:var(--muted);font-weight:400}
.meta{color:var(--muted);font-size:.85rem;margin:.6rem 0 0}
.warning{margin:.6rem 0 0;padding:.4rem .7rem;border-left:4px solid var(--warn);background:var(--drift);color:var(--fg)}
.muted{color:var(--muted)}.sub{color:var(--muted);font-size:.85em}.role{color:var(--muted);font-size:.8em}
.rollout{margin-top:.8rem;padding:.8rem 1rem;background:var(--card);border:1px solid var(--line);border-left:.35rem solid var(--busy);border-radius:.5rem}
.rollout.r-ok{border-left-color:var(--ok)}.rollout.r-bad{border-left-color:var(--bad)}.rollout.r-warn{border-left-color:var(--warn)}
.rollout-head{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1.2rem}
.rollout meter{flex:1 1 8rem;min-width:6rem;height:1rem}
.reason,.blocked,.stage{margin:.5rem 0 0}.reason.bad{color:var(--bad)}.reason.warn{color:var(--warn)}.blocked .k,.stage .k{color:var(--muted)}
.stats{display:flex;flex-wrap:wrap;gap:.4rem 1.6rem;margin-top:.7rem}
.stat{display:flex;flex-direction:column}.stat .v{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}.stat .k{color:var(--muted);font-size:.8rem}
.stat.ok .v{color:var(--ok)}.stat.bad .v{color:var(--bad)}.stat.warn .v{color:var(--warn)}
.badge{display:inline-block;padding:0 .45em;border:1px solid currentColor;border-radius:.8em;font-size:.82em;white-space:nowrap}
.badge.big{font-size:1rem;font-weight:600;padding:.1em .7em}
.ok{color:var(--ok)}.bad,.bad-text{color:var(--bad)}.warn{color:var(--warn)}.busy{color:var(--busy)}.badge.muted{color:var(--muted)}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:.5rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;color:var(--muted);font-weight:600;white-space:nowrap}
tbody tr:last-child td{border-bottom:0}
tr.row-bad{background:var(--badrow)}tr.row-bad td:first-child{box-shadow:inset .25rem 0 var(--bad)}tr.row-warn td:first-child{box-shadow:inset .25rem 0 var(--warn)}
.drift{background:var(--drift);border-radius:.3em;padding:0 .3em}
.checks{margin:.2rem 0 0;padding-left:1.1rem;color:var(--bad);font-size:.85em}
.err{color:var(--bad);font-size:.85em;word-break:break-word}
.dot{display:inline-block;width:.55em;height:.55em;border-radius:50%;margin-right:.4em}.dot.on{background:var(--ok)}.dot.off{background:var(--bad)}
#events{list-style:none;margin:0 0 2rem;padding:.3rem .8rem;background:var(--card);border:1px solid var(--line);border-radius:.5rem}
#events li{padding:.3rem 0;border-bottom:1px solid var(--line)}#events li:last-child{border-bottom:0}
#events time{color:var(--muted);font-variant-numeric:tabular-nums}.kind{font-family:ui-monospace,monospace;font-size:.85em;color:var(--busy)}
.fields{color:var(--muted);font-size:.8em}.field{margin-right:.5em}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1.1rem;margin:0 0 .5rem;color:var(--muted);font-size:.82rem}
.sw{display:inline-block;width:.95em;height:.95em;border-radius:.2em;margin-right:.35em;vertical-align:-.12em}.sw.applied{background:var(--ok);transform:rotate(45deg) scale(.75)}
.tl-card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem .4rem;margin-bottom:.8rem}
.tl-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem .6rem}.tl-label{font-weight:600}.subject{font-weight:500}
.tl-facts{flex-basis:100%;color:var(--muted);font-size:.85em}
.tl-scroll{overflow-x:auto}
svg.timeline{display:block;width:100%;min-width:40rem;height:auto;margin-top:.3rem}
.timeline text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:13px;fill:var(--fg)}
.timeline .tick{font-size:11px;fill:var(--muted);font-variant-numeric:tabular-nums}.timeline .node.bad{fill:var(--bad)}.timeline .node.busy{fill:var(--busy)}
.timeline .grid{stroke:var(--line)}.timeline .stripe{fill:var(--fg);opacity:.045}
.timeline .now{stroke:var(--busy);stroke-width:1.5;stroke-dasharray:4 3}
.timeline .span.open{opacity:.7}.timeline .failed-mark{fill:var(--bad);font-weight:700}.timeline .applied{fill:var(--ok);stroke:var(--card);stroke-width:1.5}
${TIMELINE_PHASES.map((p) => `.ph-${p}{fill:var(--ph-${p});background:var(--ph-${p})}`).join("")}
@media (max-width:760px){
 .scroll{border:0;background:none}
 table,thead,tbody,tr,td{display:block}thead{display:none}
 tbody tr{background:var(--card);border:1px solid var(--line);border-radius:.5rem;margin-bottom:.6rem;padding:.3rem .2rem}
 td{position:relative;border:0;padding:.2rem .6rem .2rem 7.6rem;min-height:1.7rem;overflow-wrap:anywhere}td:empty{display:none}
 td::before{content:attr(data-label);position:absolute;left:.6rem;top:.3rem;width:6.6rem;color:var(--muted);font-size:.8rem}
 svg.timeline{min-width:800px}
 tr.row-bad td:first-child,tr.row-warn td:first-child{box-shadow:none}tr.row-bad{border-left:.3rem solid var(--bad)}tr.row-warn{border-left:.3rem solid var(--warn)}
}
`;

// Keeps ages ticking between updates (offset corrects the browser's clock to the server's) and applies
// server-rendered, server-escaped fragments pushed over SSE. EventSource reconnects by itself.
export const PAGE_SCRIPT = `
(function(){
  var status=document.getElementById("status"),events=document.getElementById("events"),live=document.getElementById("live");
  var offset=0;
  function dur(ms){var s=Math.max(0,Math.floor(ms/1000));if(s<60)return s+"s";var m=Math.floor(s/60);if(m<60)return m+"m";var h=Math.floor(m/60);return h<48?h+"h":Math.floor(h/24)+"d";}
  function sync(){offset=Number(status.getAttribute("data-now"))-Date.now();}
  function tick(){
    var now=Date.now()+offset;
    document.querySelectorAll("[data-since]").forEach(function(el){var t=Number(el.getAttribute("data-since"));el.textContent=t>0?dur(now-t)+" ago":"never";});
    document.querySelectorAll("[data-until]").forEach(function(el){var left=Number(el.getAttribute("data-until"))-now;el.textContent=left>=0?"in "+dur(left):"overdue "+dur(-left);el.className=left>=0?"":"bad-text";});
  }
  function state(on,text){live.className="live "+(on?"on":"off");live.textContent=text;}
  sync();setInterval(tick,1000);
  if(!window.EventSource){state(false,"static (reload to refresh)");return;}
  var es=new EventSource("events/stream");
  es.addEventListener("open",function(){state(true,"live");});
  es.addEventListener("error",function(){state(false,"reconnecting…");});
  es.addEventListener("update",function(e){
    var d=JSON.parse(e.data);
    if(typeof d.status==="string"){status.innerHTML=d.status;}
    if(typeof d.events==="string"){events.innerHTML=d.events;}
    if(typeof d.title==="string"){document.title=d.title;}
    status.setAttribute("data-now",String(d.now));sync();tick();
    state(true,"live");
  });
})();
`;

function sha256Source(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/** Only the page's own inline style and script may run; the page talks to nothing but its own origin. */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256Source(PAGE_CSS)}`,
  `script-src ${sha256Source(PAGE_SCRIPT)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
