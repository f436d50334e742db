#include "page.hpp"

namespace monitord {

namespace {
// Event fields are put in with textContent, never as HTML: a file name is data, not markup.
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>monitord: live events</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 1em; color: #222; background: #fafafa; }
h1 { font-size: 1.2em; margin: 0 0 .5em; }
#summary { display: flex; gap: 1.5em; margin-bottom: .8em; flex-wrap: wrap; }
#summary div { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .4em .8em; }
#summary b { font-size: 1.3em; font-variant-numeric: tabular-nums; }
#state.open { color: #17803d; } #state.closed { color: #b42318; }
#dropped.some { color: #b42318; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eee; font-family: monospace; white-space: nowrap; }
td.detail { white-space: normal; word-break: break-all; }
tr.exec td.kind { color: #1d4ed8; } tr.open td.kind { color: #6b7280; } tr.connect td.kind { color: #b45309; }
</style></head>
<body data-state="connecting">
<h1>monitord: live events <span id="filter"></span></h1>
<div id="summary">
  <div>stream <b id="state">connecting</b></div>
  <div>exec/s <b id="rate-exec">0</b></div>
  <div>open/s <b id="rate-open">0</b></div>
  <div>connect/s <b id="rate-connect">0</b></div>
  <div>received <b id="received">0</b></div>
  <div>dropped <b id="dropped">0</b></div>
</div>
<table><thead><tr><th>id</th><th>kind</th><th>pid</th><th>comm</th><th>detail</th></tr></thead>
<tbody id="events"></tbody></table>
<script>
"use strict";
const keep = 500;  // rows shown, newest first
const body = document.getElementById("events");
const counts = {exec: 0, open: 0, connect: 0};
let received = 0, dropped = 0;
document.getElementById("filter").textContent = location.search;
function detail(e) {
  if (e.event === "exec") return e.filename + "  (ppid " + e.ppid + ", uid " + e.uid + ")";
  if (e.event === "open") return e.path + "  " + e.flags_text + " = " + e.result;
  if (e.event === "connect") return e.saddr + ":" + e.sport + " \u2192 " + e.daddr + ":" + e.dport + "  (" + e.via + ")";
  return "";
}
function setState(s) {
  const el = document.getElementById("state");
  el.textContent = s; el.className = s; document.body.dataset.state = s;
}
const source = new EventSource("/events" + location.search);
source.onopen = () => setState("open");
source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
source.onmessage = (m) => {
  const e = JSON.parse(m.data);
  ++received;
  if (e.event in counts) ++counts[e.event];
  const tr = document.createElement("tr");
  tr.className = e.event;
  tr.dataset.seq = m.lastEventId;
  for (const [text, cls] of [[m.lastEventId, ""], [e.event, "kind"], [e.pid, ""], [e.comm, "comm"], [detail(e), "detail"]]) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > keep) body.deleteRow(-1);
  document.getElementById("received").textContent = received;
};
source.addEventListener("dropped", (m) => {
  dropped += JSON.parse(m.data).dropped;
  const el = document.getElementById("dropped");
  el.textContent = dropped; el.className = "some";
});
setInterval(() => {
  for (const k in counts) { document.getElementById("rate-" + k).textContent = counts[k]; counts[k] = 0; }
}, 1000);
</script>
</body></html>
)html";
}  // namespace

std::string_view event_page() { return page; }

}  // namespace monitord
