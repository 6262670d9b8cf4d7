/**
 * The page's style sheet. System fonts, one accent, thin rules, generous space; light and dark
 * follow `prefers-color-scheme` on screen. Paper is white whatever the screen's scheme: printed,
 * the page takes the light palette (a browser that keeps the dark scheme while printing, which
 * CSS leaves to it, put the dark palette's light grey ink and pale blue links on white paper, at
 * 1.3:1 to 2.5:1), and each tile's name and figures stand in ink under its image (on screen they show
 * on hover, white on a dark band that paper does not get: the printed sheet had no names). Layout is fluid from 320 px phones up; wide tables scroll inside
 * their own box, never the page. On a phone a failure group's rows are stacked (the host and its
 * count, then the examples across the whole width): as columns, the examples got what the host
 * name (never wrapped) left, two letters a line. A tile's caption is white on black of .6 at
 * least from its first line down (4.5:1 over a white photo); the fade above its text is all the
 * gradient there is: from transparent at the top, the name of a product shot on white was at 1.6:1.
 * A failure group's triangle is drawn, not said (its alt text, after \`/\`, is empty; a browser
 * without that syntax keeps the first \`content\`): a screen reader began every group's summary
 * with "black right-pointing small triangle", and \`<details>\` says open or closed itself.
 * The command line's box is six lines high at most, and scrolls: a 10 KB URL given as an argument
 * put 4,300 px of it above the figures on a phone (printed, it is whole).
 * The contact sheet has 2, 3, 4, 6 or 8 columns, which a page of 48 fills (SHEET_PAGE_SIZE): as
 * many as fitted, it had 7 on a 1280 px screen, and every page ended on a row of 6 and a hole.
 * On a phone a host's row is its name, then its figures side by side, each named ('Failed 25'):
 * as columns, the name (never wrapped) took half the width, and the table showed Attempts and OK,
 * its Failed column and the rest out of sight in its scroll box.
 * On a touch screen, where every caption is shown, each stands under its image, as on paper: over
 * it, its band covered three quarters of a 117 px tile on a 390 px phone (an Unsplash photo's name,
 * figures and credit), the photos the sheet is for seen by their top quarter.
 * Hosts of the same figures are one line of the host table, its name their count, which opens the
 * list of their names (in their own weight and colour under it: the line's name is the count).
 * On paper no table is cut at its box's edge (a box that scrolls on screen cannot on paper): the
 * host table, its figures smaller and its heads wrapped, fits an A4 page, where its two TTFB columns
 * were left off it; and the details and copy buttons, which do nothing on paper, are not printed
 * (the rule hiding them lost to the one showing them once the script ran).
 * The concurrency charts of a row stand level, their captions above them whatever lines these take:
 * a host's name that wrapped its caption to two lines dropped its plot 22 px below its neighbours'.
 */
export const STYLE = `
:root{color-scheme:light dark;--bg:#f6f5f2;--surface:#fff;--ink:#1d2126;--muted:#5b626b;--line:#e3e0da;
--accent:#2c6a8c;--accent-soft:rgba(44,106,140,.14);--ok:#2c7a57;--bad:#a8433a;--warn:#8a5d0c;--warn-bg:#fbf3e2;
--focus:#1a66d9;--tile:#e9e6e0}
@media screen and (prefers-color-scheme:dark){:root{--bg:#15171a;--surface:#1d2024;--ink:#e6e4e0;--muted:#a1a7af;
--line:#30343a;--accent:#7db4d2;--accent-soft:rgba(125,180,210,.18);--ok:#6cc29a;--bad:#eb8a7f;--warn:#e3b55e;
--warn-bg:#2a2418;--focus:#8ab4f8;--tile:#262a2f}}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;overflow-wrap:anywhere}
.wrap{max-width:1120px;margin:0 auto;padding:0 20px}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,summary:focus-visible,[tabindex]:focus-visible{
outline:3px solid var(--focus);outline-offset:2px;border-radius:4px}
.skip{position:absolute;left:12px;top:-48px;background:var(--surface);color:var(--ink);padding:8px 14px;
border:1px solid var(--line);border-radius:6px;z-index:10}
.skip:focus{top:12px}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
header.top{padding:40px 0 8px}
.eyebrow{margin:0;color:var(--muted);font-size:.8rem;letter-spacing:.08em;text-transform:uppercase}
h1{margin:4px 0 6px;font-size:clamp(1.6rem,4vw,2.3rem);font-weight:650;letter-spacing:-.01em;line-height:1.2}
h2{font-size:1.35rem;font-weight:620;margin:0 0 12px;letter-spacing:-.005em}
h3{font-size:1.05rem;font-weight:620;margin:24px 0 8px}
.when{margin:0;color:var(--muted)}
.command{margin:14px 0 0;padding:10px 14px;background:var(--surface);border:1px solid var(--line);
border-radius:8px;font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:10.5em;overflow-y:auto}
nav.sections ul{list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;margin:18px 0 0;padding:0}
nav.sections a{text-decoration:none;color:var(--muted);font-size:.95rem}
nav.sections a:hover{color:var(--accent)}
main{padding-bottom:48px}
main:focus{outline:none}
section.block{margin-top:40px}
.lead{color:var(--muted);margin:0 0 16px;max-width:72ch}
.banner{margin-top:24px;padding:14px 18px;border-radius:8px;background:var(--warn-bg);border-left:4px solid var(--warn)}
.banner strong{color:var(--warn)}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:24px 0 0;padding:0}
.figures>div{background:var(--surface);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.figures dt{color:var(--muted);font-size:.85rem}
.figures dd{margin:2px 0 0;font-size:1.7rem;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.2}
.figures dd .unit{font-size:.9rem;font-weight:500;color:var(--muted)}
.figures dd small{display:block;font-size:.8rem;font-weight:400;color:var(--muted)}
.figures .ok dd{color:var(--ok)}
.figures .failed dd{color:var(--bad)}
.figures .pending dd{color:var(--warn)}
.figures .zero dd{color:var(--ink)}
.causes{margin:12px 0 0;color:var(--muted)}
.tools{display:flex;flex-wrap:wrap;align-items:center;gap:10px 16px;margin:0 0 14px}
.tools label{color:var(--muted);font-size:.9rem;display:flex;align-items:center;gap:8px}
input[type=search]{font:inherit;font-size:.95rem;padding:6px 10px;border:1px solid var(--muted);border-radius:6px;
background:var(--surface);color:var(--ink);min-width:0;width:14rem;max-width:100%}
.sheet{--cols:8;list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(var(--cols),minmax(0,1fr));
gap:8px}
@media (max-width:999px){.sheet{--cols:6}}
@media (max-width:719px){.sheet{--cols:4}}
@media (max-width:439px){.sheet{--cols:3}}
@media (max-width:359px){.sheet{--cols:2}}
.tile{position:relative;display:block;aspect-ratio:1;border-radius:8px;overflow:hidden;background:var(--tile);
color:#fff;text-decoration:none}
.tile img{width:100%;height:100%;object-fit:cover;display:block;transition:transform .25s ease}
.tile img.shown,.viewer-stage img.shown{background:repeating-conic-gradient(#808080 0 25%,#b0b0b0 0 50%) 0 0/16px 16px}
.tile:hover img,.tile:focus-visible img{transform:scale(1.03)}
.tile:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.cap{--fade:22px;position:absolute;inset:auto 0 0 0;padding:var(--fade) 8px 7px;font-size:.75rem;line-height:1.35;
background:linear-gradient(rgba(0,0,0,0),rgba(0,0,0,.6) var(--fade),rgba(0,0,0,.72));opacity:0;transition:opacity .15s ease}
.cap span{display:block}
.cap .name,.cap .by{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.cap .name{font-weight:600}
.cap .caption{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;line-clamp:2;overflow:hidden;overflow-wrap:anywhere}
.cap .meta span{display:inline;white-space:nowrap}
.tile:hover .cap,.tile:focus-visible .cap,.tile.missing .cap{opacity:1}
.how-touch{display:none}
@media (hover:none){.how-pointer{display:none}.how-touch{display:inline}}
.tile .unseen{position:absolute;inset:0 0 auto;padding:10px 6px 0;text-align:center;color:var(--muted);
font-size:.75rem;line-height:1.3}
.pager{display:flex;align-items:center;justify-content:center;gap:14px;margin:16px 0 0;flex-wrap:wrap}
.pager button{font:inherit;font-size:.9rem;padding:6px 14px;border-radius:6px;border:1px solid var(--line);
background:var(--surface);color:var(--ink);cursor:pointer}
.pager button:disabled{opacity:.45;cursor:default}
.pager .status{color:var(--muted);font-size:.9rem;font-variant-numeric:tabular-nums}
@media (max-width:480px){.pager .status{order:-1;flex-basis:100%;text-align:center}}
.empty{color:var(--muted);font-style:italic}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:10px;background:var(--surface)}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;padding:10px 14px 0;color:var(--muted);font-size:.85rem}
th,td{padding:8px 14px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
tbody tr:last-child>*{border-bottom:0}
thead th{font-weight:600;color:var(--muted);font-size:.8rem;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.host,th.host{white-space:nowrap}
.long-host{white-space:normal}
th.alike details{margin:0}th.alike summary{color:var(--ink);font-size:inherit}
th.alike ul{list-style:none;margin:4px 0 0;padding:0 0 0 1em;font-weight:400;color:var(--muted)}
tfoot td,tfoot th{border-top:1px solid var(--line);border-bottom:0;color:var(--muted)}
.note{color:var(--muted);font-size:.85rem;margin:0 0 8px}
.examples{margin:0;padding:0;list-style:none}
.examples li+li{margin-top:6px}
.examples code{font-size:.82rem}
.examples .msg{display:block;color:var(--muted);font-size:.82rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.groups{border:1px solid var(--line);border-radius:10px;background:var(--surface)}
.failure{margin:0;padding:0 16px;border-bottom:1px solid var(--line)}
.failure:last-child{border-bottom:0}
.failure summary{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px;padding:12px 0;color:var(--ink);
font-size:1rem;list-style:none}
.failure summary::before{content:"▸";content:"▸"/"";color:var(--muted);transition:transform .15s ease;display:inline-block}
.failure[open] summary::before{transform:rotate(90deg)}
.failure summary::-webkit-details-marker{display:none}
.failure .code{font-weight:620}
.failure .count{color:var(--muted);font-size:.92rem}
.failure p{margin:0 0 10px;color:var(--muted)}
.failure .table-wrap{margin-bottom:16px}
.tag{display:inline-block;font-size:.72rem;font-weight:600;letter-spacing:.03em;padding:1px 8px;border-radius:99px;
background:var(--accent-soft);color:var(--accent)}
.tag.permanent{background:transparent;border:1px solid var(--line);color:var(--muted)}
.rerun{background:var(--surface);border:1px solid var(--line);border-radius:10px;padding:12px 16px;margin:0 0 14px}
.rerun p{margin:0}
.rerun code{display:inline-block;max-width:100%;overflow-wrap:anywhere}
.rerun code.cmd,.failure .list code{white-space:normal;overflow-wrap:anywhere;user-select:all}
.failure .list{margin:-4px 0 14px}
.rerun p+p{margin-top:6px}
figure{margin:0}
.chart{display:grid;grid-template-columns:auto 1fr;column-gap:8px}
.chart .y{display:flex;flex-direction:column;justify-content:space-between;text-align:right;margin:-.5em 0;
font-size:.72rem;line-height:1;color:var(--muted);font-variant-numeric:tabular-nums}
.chart .plot{display:block;width:100%;height:150px;overflow:visible}
.chart.lines .plot{height:96px}
.chart .x{grid-column:2;display:flex;justify-content:space-between;margin-top:6px;font-size:.72rem;color:var(--muted)}
.chart .x span{flex:0 0 0;min-width:0;display:flex;justify-content:center;white-space:nowrap}
.chart .x span:first-child{justify-content:flex-start}.chart .x span:last-child{justify-content:flex-end}
@media (max-width:480px){.chart.bars .x span:nth-child(2n){visibility:hidden}}
.plot .grid{stroke:var(--line);stroke-width:1}
.plot .bar{fill:var(--accent)}
.plot .bar:hover{fill:var(--ok)}
.plot .limit{fill:none;stroke:var(--muted);stroke-width:1.5;stroke-dasharray:5 4}
.plot .inflight{fill:none;stroke:var(--accent);stroke-width:2;stroke-linejoin:round}
.panel{background:var(--surface);border:1px solid var(--line);border-radius:10px;padding:12px 14px 8px}
.panel+.panel{margin-top:12px}
.panel figcaption{font-size:.9rem;color:var(--muted);margin:0 0 12px}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.multiples .panel+.panel{margin-top:0}
.multiples .panel{display:flex;flex-direction:column}.multiples .panel>.chart{margin-top:auto}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85rem;color:var(--muted);margin:0 0 10px}
.legend span::before{content:"";display:inline-block;width:18px;height:0;margin-right:6px;vertical-align:middle;
border-top:2px solid var(--accent)}
.legend .key-limit::before{border-top:2px dashed var(--muted)}
details{margin-top:10px}
summary{cursor:pointer;color:var(--muted);font-size:.9rem}
.credits{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:6px 20px}
.credits li{font-size:.92rem}
.credits .file{display:block;color:var(--muted);font-size:.8rem}
footer{border-top:1px solid var(--line);padding:18px 0 40px;color:var(--muted);font-size:.85rem}
@media (max-width:560px){.wrap{padding:0 14px}header.top{padding-top:28px}
.sheet{gap:6px}.figures{grid-template-columns:1fr 1fr}
.figures dd{font-size:1.35rem}th,td{padding:7px 10px}}
@media (max-width:640px){.failure table,.failure tbody,.failure tfoot{display:block}
.failure thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.failure tr{display:grid;grid-template-columns:1fr auto;border-bottom:1px solid var(--line)}
.failure tr:last-child{border-bottom:0}.failure tr>*{border-bottom:0}
.failure th.host{white-space:normal}.failure td.n::after{content:" failed";color:var(--muted)}
.failure tr>td:last-child{grid-column:1/-1;padding-top:0}.failure td:empty{display:none}
#host-table thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
#host-table,#host-table tbody,#host-table tfoot,#host-table tr,#host-table th{display:block}
#host-table tr{padding:8px 12px;border-bottom:1px solid var(--line)}#host-table tr:last-child{border-bottom:0}
#host-table tr>*{border:0;padding:0}#host-table tfoot tr{border-top:1px solid var(--line)}
#host-table th{white-space:normal}
#host-table td{display:inline-block;margin:2px 14px 0 0;text-align:left}
#host-table td::before{content:attr(data-label) " ";color:var(--muted);font-size:.85em}}
.tools select{font:inherit;font-size:.95rem;padding:5px 8px;border:1px solid var(--muted);border-radius:6px;
background:var(--surface);color:var(--ink);max-width:100%}
.viewer{position:fixed;inset:0;width:100%;height:100%;max-width:none;max-height:none;margin:0;padding:0;border:0;
background:rgba(12,13,15,.95);color:#f2f1ee;display:grid;grid-template-rows:auto minmax(0,1fr) auto;
grid-template-columns:60px minmax(0,1fr) 60px}
.viewer:not([open]){display:none}
.viewer::backdrop{background:rgba(0,0,0,.5)}
.viewer a{color:#9fd0ee}
.viewer :focus-visible{outline:3px solid #8ab4f8;outline-offset:2px}
.viewer button{font:inherit;color:#fff;background:rgba(255,255,255,.12);border:1px solid rgba(255,255,255,.3);
border-radius:8px;cursor:pointer;padding:0}
.viewer-bar{grid-column:1/-1;display:flex;align-items:center;gap:10px 18px;padding:10px 14px}
.viewer-at{margin:0 auto 0 0;color:#c9c7c2;font-size:.9rem;font-variant-numeric:tabular-nums}
.viewer-close{font-size:1.6rem;line-height:1;width:44px;height:44px}
.viewer-step{grid-row:2;align-self:center;justify-self:center;font-size:2rem;line-height:1;width:44px;height:64px}
.viewer-step:disabled{opacity:.3;cursor:default}
.viewer-prev{grid-column:1}.viewer-next{grid-column:3}
.viewer-stage{grid-row:2;grid-column:2;display:flex;align-items:center;justify-content:center;min-height:0}
.viewer-stage img{display:block;max-width:100%;max-height:100%;object-fit:contain}
.viewer-stage .unseen{color:#c9c7c2;text-align:center;max-width:40ch}
.viewer-about{grid-column:1/-1;padding:8px 20px 16px;max-height:40vh;overflow:auto}
.viewer-name{font-size:1.05rem;margin:0 0 4px}
.viewer-caption{margin:0 0 6px}
.viewer-caption:empty{display:none}
.viewer-facts{display:flex;flex-wrap:wrap;gap:2px 22px;margin:0;font-size:.88rem}
.viewer-facts div{display:flex;align-items:baseline;gap:6px;min-width:0}
.viewer-facts dt{color:#b3b1ac;flex:none}
.viewer-facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
@media (max-width:560px){.viewer{grid-template-columns:44px minmax(0,1fr) 44px}.viewer-step{width:36px}}
.why{display:none;font:inherit;font-size:.78rem;margin-left:6px;padding:1px 8px;border:1px solid var(--muted);
border-radius:6px;background:var(--surface);color:var(--ink);cursor:pointer;vertical-align:baseline}
html[data-ready] .why{display:inline-block}
.failure-viewer{background:#0c0d0f}
.failure-story{align-items:flex-start;justify-content:flex-start;overflow:auto}
.failure-story .viewer-about{max-height:none;padding:8px 4px 16px;max-width:80ch}
.failure-story .viewer-name{font-size:1.3rem}
.failure-story .viewer-facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:4px 16px;font-size:.95rem}
.failure-story .viewer-facts div{display:contents}
.failure-copy{margin:12px 0 0}
.failure-copy button{padding:6px 12px}
html.viewing{overflow:hidden}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
@media print{.viewer,html[data-ready] .why{display:none}:root{color-scheme:light}body{background:#fff}.command{max-height:none;overflow:visible}.pager button,.tools,.skip,nav.sections,.how-pointer,.how-touch{display:none}
.table-wrap{overflow:visible}#host-table{font-size:.8rem}#host-table th,#host-table td{padding:5px 6px}#host-table thead th{white-space:normal}
}
@media print,(hover:none){.sheet{row-gap:14px}.tile{aspect-ratio:auto;overflow:visible;background:none;color:var(--ink);break-inside:avoid}
.tile img{aspect-ratio:1;height:auto;border-radius:8px}
.cap{position:static;opacity:1;background:none;padding:4px 0 0}
.tile .unseen{position:static;display:block;aspect-ratio:1;padding-top:10px;border:1px solid var(--line);border-radius:8px}}
`
