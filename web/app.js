// The status page: polls /api/status and redraws generations (master) or backends
// (proxy) and the last upgrades' timelines. Changes are POSTed with the admin token.
"use strict";
const $ = (id) => document.getElementById(id);
let ro = true;
let last = ""; // the status drawn last: an unchanged one is not drawn again

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const k of kids) e.append(k instanceof Node ? k : String(k));
  return e;
}

function secs(ms) { return ms >= 0 ? (ms / 1000).toFixed(ms < 10000 ? 2 : 0) + " s" : ""; }

async function act(action, body) {
  const r = await fetch("/api/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": "Bearer " + $("token").value },
    body: JSON.stringify(body || {}),
  });
  const j = await r.json().catch(() => ({ error: r.statusText }));
  $("msg").textContent = action + ": " + (r.ok ? "done" : (j.error || r.status));
}

function button(label, action, body) {
  const b = el("button", { className: "act", textContent: label });
  b.hidden = ro;
  b.onclick = () => act(action, body);
  return b;
}

function drawMaster(st) {
  $("name").textContent = st.name || "";
  const rows = (st.generations || []).map((g) => {
    const workers = (g.workers || []).length;
    return el("tr", { id: "gen-" + g.id, "data-gen": g.id, "data-state": g.state },
      el("td", {}, g.id + (g.id === st.current_generation ? " (current)" : "")),
      el("td", { className: "state s-" + g.state }, g.state),
      el("td", {}, workers), el("td", {}, g.restarts || 0), el("td", {}, secs(g.age_ms)));
  });
  $("gens").replaceChildren(...rows);
  $("upgrade").hidden = ro;
  const tls = (st.upgrades || []).slice().reverse().map((u) => {
    const end = u.drained_ms || u.switched_ms || u.ready_ms || u.started_ms;
    const total = Math.max(end - u.started_ms, 1);
    const seg = (cls, a, b) => a && b ? el("span", { className: cls, title: cls.slice(3) + " " + secs(b - a),
      style: "width:" + (100 * (b - a) / total) + "%" }) : "";
    const label = u.kind + " " + (u.from || "-") + " → " + u.to;
    return el("div", { className: "tl", "data-upgrade": u.to },
      el("span", { className: "label" }, label),
      el("span", { className: "bar" }, seg("ph-ready", u.started_ms, u.ready_ms),
        seg("ph-switch", u.ready_ms, u.switched_ms), seg("ph-drain", u.switched_ms, u.drained_ms)),
      el("span", { className: "muted" }, " " + secs(end - u.started_ms)),
      u.result === "failed" ? el("span", { className: "failed" }, u.reason || "failed") : "");
  });
  $("timelines").replaceChildren(...tls);
}

function drawProxy(st) {
  $("active").textContent = "active: " + (st.active_pool || "");
  const pools = new Set();
  const rows = (st.backends || []).map((b) => {
    pools.add(b.pool);
    const on = b.state === "draining" || b.state === "drained";
    return el("tr", { id: "backend-" + b.name, "data-backend": b.name, "data-pool": b.pool,
      "data-state": b.state },
      el("td", {}, b.name), el("td", {}, b.pool), el("td", { className: "state s-" + b.state }, b.state),
      el("td", {}, b.connections), el("td", {}, b.total), el("td", {}, b.failures),
      el("td", {}, on ? button("enable", "enable", { backend: b.name })
                      : button("drain", "drain", { backend: b.name })));
  });
  for (const p of pools) if (p !== st.active_pool) rows.push(el("tr", {}, el("td", {}, ""),
    el("td", {}, p), el("td", {}, button("switch here", "switch", { pool: p }))));
  $("backends").replaceChildren(...rows);
}

async function poll() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    const text = await r.text();
    const j = JSON.parse(text);
    ro = j.read_only;
    $("role").textContent = j.role;
    $("tokenform").hidden = ro;
    $(j.role).hidden = false;
    if (text !== last) (j.role === "master" ? drawMaster : drawProxy)(j.status || {});
    last = text;
    $("conn").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("conn").textContent = "not reachable: " + e;
  }
  setTimeout(poll, 500);
}

$("upgrade").onclick = () => act("upgrade");
$("tokenform").onsubmit = (e) => e.preventDefault();
poll();
