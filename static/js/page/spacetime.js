// The space-time (Lamport) diagram: a lane per node, time flowing down, every message an arrow from its send to
// its delivery (or to a ✕ at its drop, with the reason), timers and view changes as marks on the lanes, crashes
// and pauses as shaded spans, partitions and cuts as bands. It shows the current branch only: it keeps the
// events of this branch (started.events + every frame), cuts them back on a seek or a step back, and rebuilds
// its picture from them at every reset (docs/frontend.md, "The space-time diagram").
//
// setupSpacetime(page, { inspect }) -> { root, model, render(), exportSvg() }; the root carries
// data-view="spacetime" and each arrow data-msg="<message id>".

import { h, s, fmtTime, GREY } from "../util.js";

const MAX_EVENTS = 400_000; // the branch's events kept (beyond: the oldest go, the diagram says so)
const MAX_LANES = 12; // above this many nodes: lanes for the selected node and the first ones only
const LANE_MIN = 28; // px between lanes at least
const TOP = 34; // px above the first moment (the lane names)
const SPANS = [250, 500, 1000, 2000, 5000, 10000, 30000, 60000]; // zoom levels: ms visible
const MODES = ["topology", "split", "diagram"];
const MODE_LABEL = { topology: "Space-time diagram", split: "Diagram only", diagram: "Topology too" };
const MARK_FIELDS = ["role", "decision", "state", "phase", "leader", "generation", "ballot", "status"];

/** Whether a message is a heartbeat (Raft's empty AppendEntries, anything called heartbeat or ping). */
export function isHeartbeat(msg) {
  if (!msg) return false;
  const kind = String(msg.kind || "").toLowerCase();
  if (kind === "appendentries") return Array.isArray(msg.entries) && msg.entries.length === 0;
  return kind.includes("heartbeat") || kind === "ping" || kind === "ack";
}

/** The diagram's model of a branch: messages with their ends, marks, spans and bands, built from events. */
export class SpacetimeModel {
  constructor() {
    this.clear(null);
  }

  clear(snapshot) {
    this.messages = new Map(); // id -> {id, from, to, sent, due, end, how: "deliver"|"drop"|null, reason, msg}
    this.marks = []; // {t, node, kind: "timer"|"change", text}
    this.spans = []; // {node, from, to|null, what: "crashed"|"paused"}
    this.bands = []; // {from, to|null, text}
    this.status = {};
    this.netOpen = null;
    this.kinds = new Set();
    this.gaps = []; // {from, to}: moments whose events this page never received (a jump forward)
    this.trimmed = false;
    if (snapshot) {
      for (const m of snapshot.messages) this.onSend({ id: m.id, from: m.from, to: m.to, t: m.sent_at,
                                                       deliver_at: m.deliver_at, msg: m.msg });
      for (const [id, v] of Object.entries(snapshot.nodes)) {
        this.status[id] = "up";
        if (v.status && v.status !== "up") this.onStatus(id, v.status, snapshot.t);
      }
      const net = snapshot.net || {};
      if ((net.partition && net.partition.length) || (net.cuts && net.cuts.length)) {
        this.netOpen = { from: snapshot.t, to: null, text: netText(net) };
        this.bands.push(this.netOpen);
      }
    }
  }

  onSend(ev) {
    this.messages.set(ev.id, { id: ev.id, from: ev.from, to: ev.to, sent: ev.t, due: ev.deliver_at, end: null,
                               how: null, reason: null, msg: ev.msg });
    if (ev.msg && ev.msg.kind) this.kinds.add(ev.msg.kind);
  }

  onStatus(node, status, t) {
    const was = this.status[node] || "up";
    if (was === status) return;
    const open = this.spans.find((x) => x.node === node && x.to === null);
    if (open) open.to = t;
    if (status !== "up") this.spans.push({ node, from: t, to: null, what: status });
    this.status[node] = status;
  }

  add(ev) {
    switch (ev.type) {
      case "send":
        this.onSend(ev);
        break;
      case "deliver":
      case "drop": {
        const m = this.messages.get(ev.id);
        if (m) {
          m.end = ev.t;
          m.how = ev.type;
          m.reason = ev.reason || null;
        }
        break;
      }
      case "timer":
        this.marks.push({ t: ev.t, node: ev.node, kind: "timer", text: `${ev.timer} timer fired` });
        break;
      case "state": {
        const ch = ev.changes || {};
        if (ch.status) this.onStatus(ev.node, ch.status, ev.t);
        const keys = MARK_FIELDS.filter((k) => k in ch && k !== "status");
        if (keys.length) {
          this.marks.push({ t: ev.t, node: ev.node, kind: "change",
                            text: keys.map((k) => `${k}: ${short(ch[k])}`).join(", ") });
        }
        break;
      }
      case "intervention":
        if (ev.action === "delay_message") {
          const m = this.messages.get(ev.id);
          if (m) m.due = ev.deliver_at;
        }
        break;
      case "net": {
        const on = (ev.partition && ev.partition.length) || (ev.cuts && ev.cuts.length);
        if (this.netOpen) this.netOpen.to = ev.t;
        this.netOpen = on ? { from: ev.t, to: null, text: netText(ev) } : null;
        if (this.netOpen) this.bands.push(this.netOpen);
        break;
      }
      default:
        break;
    }
  }
}

function short(v) {
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

function netText(net) {
  if (net.partition && net.partition.length) return `partition ${net.partition.map((g) => g.length > 6 ? `{${g.length} nodes}` : `{${g.join(" ")}}`).join(" | ")}`;
  return `${net.cuts.length} link${net.cuts.length === 1 ? "" : "s"} cut`;
}

export function setupSpacetime(page, { inspect }) {
  const { state } = page;
  const stageCol = document.querySelector(".stage-col");
  const stage = document.querySelector(".stage");
  const model = new SpacetimeModel();
  let log = []; // this branch's events, in order
  let mode = "topology";
  let spanIndex = 2; // 1 s visible
  let follow = true; // the window ends at "now"
  let windowEnd = 0; // when not following
  let hideHeartbeats = false;
  let kindFilter = "";
  let hovered = null;
  let selected = null;
  let dirty = true;
  let lastDraw = 0;

  // --- DOM -------------------------------------------------------------------------------------------
  const svg = s("svg", { class: "st-svg", role: "img", "aria-label": "Space-time diagram: a lane per node, time flows down" });
  const kinds = h("select", { class: "st-kinds", "aria-label": "Message kind", title: "Show one kind of message" },
    h("option", { value: "" }, "all kinds"));
  const hb = h("input", { type: "checkbox", class: "st-hb" });
  const info = h("span", { class: "st-info" });
  const followBtn = h("button", { class: "btn st-follow", type: "button", title: "Follow the current moment" }, "⇣ Now");
  const zoomIn = h("button", { class: "btn", type: "button", title: "Zoom in (less time)", "aria-label": "Zoom in" }, "+");
  const zoomOut = h("button", { class: "btn", type: "button", title: "Zoom out (more time)", "aria-label": "Zoom out" }, "−");
  const svgBtn = h("button", { class: "btn st-export", type: "button", title: "Download the diagram as an SVG file" }, "⤓ SVG");
  const back = h("button", { class: "btn st-mode", type: "button", title: "Show the topology beside the diagram" },
    "Topology too");
  const bar = h("div", { class: "st-bar" }, back, zoomIn, zoomOut, followBtn,
    h("label", { class: "st-check", title: "Hide heartbeats (empty AppendEntries, pings, acks)" }, hb, " hide heartbeats"),
    kinds, svgBtn, info);
  const body = h("div", { class: "st-body" }, svg);
  const root = h("section", { class: "spacetime", "data-view": "spacetime", "aria-label": "Space-time diagram",
                              hidden: true }, bar, body);
  stage.after(root);
  const toggle = h("button", { id: "spacetime-toggle", class: "btn st-toggle", type: "button",
                               title: "Space-time diagram: beside the topology, then alone (D)" }, MODE_LABEL.topology);
  stage.append(toggle);
  back.addEventListener("click", () => setMode("split"));

  function setMode(m) {
    mode = m;
    stageCol.dataset.spacetime = m;
    root.hidden = m === "topology";
    toggle.textContent = MODE_LABEL[m];
    back.hidden = m !== "diagram";
    dirty = true;
    window.dispatchEvent(new Event("resize")); // the topology refits its smaller stage
  }
  toggle.addEventListener("click", () => setMode(MODES[(MODES.indexOf(mode) + 1) % MODES.length]));
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "d" || e.key === "D") setMode(MODES[(MODES.indexOf(mode) + 1) % MODES.length]);
  });
  zoomIn.addEventListener("click", () => { spanIndex = Math.max(0, spanIndex < 0 ? SPANS.length - 1 : spanIndex - 1); dirty = true; });
  zoomOut.addEventListener("click", () => { spanIndex = Math.min(SPANS.length - 1, spanIndex + 1); dirty = true; });
  followBtn.addEventListener("click", () => { follow = true; dirty = true; });
  hb.addEventListener("change", () => { hideHeartbeats = hb.checked; dirty = true; });
  kinds.addEventListener("change", () => { kindFilter = kinds.value; dirty = true; });
  svgBtn.addEventListener("click", () => download());
  body.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.ctrlKey) {
      if (spanIndex < 0) spanIndex = SPANS.length - 1;
      spanIndex = Math.min(SPANS.length - 1, Math.max(0, spanIndex + (e.deltaY > 0 ? 1 : -1)));
    } else {
      const span = spanIndex < 0 ? Math.max(SPANS[0], now()) : SPANS[spanIndex];
      const end = follow ? now() : windowEnd;
      windowEnd = Math.max(span, Math.min(now(), end + (e.deltaY / 400) * span));
      follow = windowEnd >= now();
    }
    dirty = true;
  }, { passive: false });

  // linked views: hover highlights the message on the topology (and its arrow), click inspects it
  function highlight(id) {
    if (hovered === id) return;
    for (const el of document.querySelectorAll(".msg.hl, .st-msg.hl")) el.classList.remove("hl");
    hovered = id;
    if (id === null) return;
    for (const el of document.querySelectorAll(`[data-msg="${id}"]`)) el.classList.add("hl");
  }
  svg.addEventListener("pointerover", (e) => {
    const g = e.target.closest("[data-msg]");
    highlight(g ? Number(g.dataset.msg) : null);
  });
  svg.addEventListener("pointerleave", () => highlight(null));
  svg.addEventListener("click", (e) => {
    const g = e.target.closest("[data-msg]");
    if (g) open(Number(g.dataset.msg));
  });
  document.getElementById("topology").addEventListener("click", (e) => {
    const g = e.target.closest && e.target.closest(".msg[data-msg]");
    if (g) open(Number(g.dataset.msg));
  });

  function open(id) {
    selected = id;
    dirty = true;
    for (const el of document.querySelectorAll(".msg.sel, .st-msg.sel")) el.classList.remove("sel");
    for (const el of document.querySelectorAll(`[data-msg="${id}"]`)) el.classList.add("sel");
    inspect(id);
  }

  // --- the branch's events ---------------------------------------------------------------------------------
  function rebuild(snapshot) {
    model.clear(null);
    for (const id of snapshot.order) model.status[id] = "up";
    const base = log.length ? null : snapshot; // no history (a viewer, a seek forward): start from the snapshot
    if (base) model.clear(base);
    for (const ev of log) model.add(ev);
    model.trimmed = trimmed;
    // a jump forward (a seek past what this page saw, a link opened at ?t=): the events in between never came,
    // so say so, and end the messages the log saw leave but not arrive where they were due
    const seen = log.length ? log[log.length - 1].t : 0;
    if (snapshot.t > seen + 1) {
      model.gaps.push({ from: seen, to: snapshot.t });
      const flying = new Set(snapshot.messages.map((m) => m.id));
      for (const m of model.messages.values()) {
        if (m.end === null && !flying.has(m.id)) {
          m.end = Math.min(m.due, snapshot.t);
          m.how = "unknown";
        }
      }
    }
    // what the snapshot has in flight but the log never saw (a fast-forward seek): arrows from their send
    for (const m of snapshot.messages) {
      if (!model.messages.has(m.id)) model.onSend({ id: m.id, from: m.from, to: m.to, t: m.sent_at, deliver_at: m.deliver_at, msg: m.msg });
    }
    refreshKinds();
    dirty = true;
  }
  let trimmed = false;
  function push(ev) {
    log.push(ev);
    if (log.length > MAX_EVENTS) {
      log = log.slice(log.length - Math.floor(MAX_EVENTS * 0.9));
      trimmed = true;
    }
    const known = model.kinds.size;
    model.add(ev);
    if (model.kinds.size !== known) refreshKinds();
    dirty = true;
  }

  function refreshKinds() {
    const have = [...kinds.options].map((o) => o.value);
    for (const k of [...model.kinds].sort()) if (!have.includes(k)) kinds.append(h("option", { value: k }, k));
  }

  page.addExtra({
    handles: [],
    startOptions: () => ({}),
    observe(msg) {
      if (msg.type === "started") {
        log = (msg.events || []).slice();
        trimmed = false;
      } else if (msg.type === "seeked") {
        if (msg.reason === "step_back") log.pop();
        else log = log.filter((ev) => ev.t < msg.t); // everything before t has happened, nothing at t
        // (the timeline may have landed the seek, and the reset, before this ran: rebuild once the message is done)
        queueMicrotask(() => rebuild(state.snap));
      }
    },
  });
  page.on("event", (ev) => push(ev));
  page.on("reset", (snapshot) => rebuild(snapshot));

  // --- drawing --------------------------------------------------------------------------------------------
  function now() {
    return state.snap ? Math.max(state.snap.t, Math.floor(state.shownT || 0)) : 0;
  }

  function lanes() {
    const order = state.snap ? state.snap.order : [];
    if (order.length <= MAX_LANES) return order;
    const pick = [];
    if (state.selected && order.includes(state.selected)) pick.push(state.selected);
    for (const id of order) {
      if (pick.length >= MAX_LANES) break;
      if (!pick.includes(id)) pick.push(id);
    }
    return pick;
  }

  function visible(m) {
    if (hideHeartbeats && isHeartbeat(m.msg)) return false;
    if (kindFilter && (!m.msg || m.msg.kind !== kindFilter)) return false;
    return true;
  }

  /** Build the diagram's SVG content for the window [t0, t1] at the given size. */
  function draw(target, width, height, t0, t1) {
    const ids = lanes();
    const laneX = {};
    const gap = Math.max(LANE_MIN, (width - 40) / Math.max(1, ids.length));  // (LANE_MIN: lanes never closer)
    ids.forEach((id, i) => { laneX[id] = 20 + gap * (i + 0.5); });
    const span = Math.max(1, t1 - t0);
    const y = (t) => TOP + ((t - t0) / span) * (height - TOP - 10);
    const tNow = now();
    const module = page.view.module;
    const out = [];
    // bands: partitions and cuts
    for (const b of model.bands) {
      const from = Math.max(t0, b.from);
      const to = Math.min(t1, b.to === null ? tNow : b.to);
      if (to < t0 || from > t1 || to <= from) continue;
      out.push(s("rect", { class: "st-band", x: 0, y: y(from), width, height: Math.max(1, y(to) - y(from)) },
        s("title", {}, `${b.text} · ${fmtTime(b.from)}${b.to === null ? "" : ` – ${fmtTime(b.to)}`}`)));
    }
    for (const gp of model.gaps) {
      const from = Math.max(t0, gp.from);
      const to = Math.min(t1, gp.to);
      if (to <= from) continue;
      out.push(s("rect", { class: "st-gap", x: 0, y: y(from), width, height: Math.max(1, y(to) - y(from)) },
        s("title", {}, `${fmtTime(gp.from)} – ${fmtTime(gp.to)}: jumped over (not received); travel back and play to see it`)));
    }
    // lanes, spans
    for (const id of ids) {
      out.push(s("line", { class: "st-lane", x1: laneX[id], x2: laneX[id], y1: TOP - 4, y2: height }));
      out.push(s("text", { class: "st-lane-name", x: laneX[id], y: 16 }, id));
    }
    for (const sp of model.spans) {
      if (!(sp.node in laneX)) continue;
      const from = Math.max(t0, sp.from);
      const to = Math.min(t1, sp.to === null ? tNow : sp.to);
      if (to < from) continue;
      out.push(s("rect", { class: `st-span ${sp.what}`, x: laneX[sp.node] - 7, y: y(from), width: 14,
                           height: Math.max(2, y(to) - y(from)) }, s("title", {}, `${sp.node} ${sp.what}`)));
    }
    // messages
    let shown = 0;
    for (const m of model.messages.values()) {
      const end = m.end === null ? tNow : m.end;
      if (end < t0 || m.sent > t1) continue;
      if (!(m.from in laneX) || !(m.to in laneX) || !visible(m)) continue;
      shown += 1;
      const x1 = laneX[m.from];
      let x2 = laneX[m.to];
      let tEnd = end;
      if (m.end === null) { // in flight: the arrow's head is where it is now
        const f = Math.min(1, Math.max(0, (tNow - m.sent) / Math.max(1, m.due - m.sent)));
        x2 = x1 + (x2 - x1) * f;
        tEnd = tNow;
      } else if (m.how === "drop" && m.due > m.sent) { // it falls where it was
        const f = Math.min(1, Math.max(0, (m.end - m.sent) / (m.due - m.sent)));
        x2 = x1 + (x2 - x1) * f;
      }
      const color = m.msg ? module.messageColor(m.msg) : GREY;
      const cls = `st-msg ${m.how || "flying"}${m.id === selected ? " sel" : ""}${m.id === hovered ? " hl" : ""}`;
      const g = s("g", { class: cls, "data-msg": m.id });
      g.append(s("line", { x1, y1: y(m.sent), x2, y2: y(tEnd), stroke: color }),
        s("line", { class: "st-hit", x1, y1: y(m.sent), x2, y2: y(tEnd) }));
      if (m.how === "deliver") g.append(s("circle", { cx: x2, cy: y(tEnd), r: 3, fill: color }));
      if (m.how === "drop") g.append(s("text", { class: "st-cross", x: x2, y: y(tEnd) + 4 }, "✕"));
      g.append(s("title", {}, `#${m.id} ${m.msg ? m.msg.kind : ""} ${m.from} → ${m.to} · sent ${fmtTime(m.sent)}${
        m.how === "deliver" ? ` · delivered ${fmtTime(m.end)}` : m.how === "drop" ? ` · dropped ${fmtTime(m.end)} (${m.reason})` : m.how === "unknown" ? " · its end was jumped over" : " · in flight"}`));
      out.push(g);
    }
    // marks
    for (const mk of model.marks) {
      if (mk.t < t0 || mk.t > t1 || !(mk.node in laneX)) continue;
      const cls = `st-mark ${mk.kind}`;
      const el = mk.kind === "timer"
        ? s("circle", { class: cls, cx: laneX[mk.node], cy: y(mk.t), r: 3.5 })
        : s("rect", { class: cls, x: laneX[mk.node] - 5, y: y(mk.t) - 5, width: 10, height: 10 });
      el.append(s("title", {}, `${fmtTime(mk.t)} · ${mk.node}: ${mk.text}`));
      out.push(el);
    }
    // now, and the time scale
    if (tNow >= t0 && tNow <= t1) out.push(s("line", { class: "st-now", x1: 0, x2: width, y1: y(tNow), y2: y(tNow) }));
    const step = niceStep(span / 6);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      out.push(s("text", { class: "st-tick", x: 2, y: y(t) - 2 }, fmtTime(t)));
    }
    target.replaceChildren(...out);
    return shown;
  }

  function niceStep(x) {
    for (const st of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000]) if (st >= x) return st;
    return 120000;
  }

  function windowOf() {
    const span = spanIndex < 0 ? Math.max(SPANS[0], now()) : SPANS[spanIndex]; // -1: the whole run so far
    const end = follow ? Math.max(now(), span) : windowEnd;
    return [Math.max(0, end - span), Math.max(end, span)];
  }

  function render() {
    if (mode === "topology" || !state.snap) return;
    const t = performance.now();
    if (!dirty && !(state.playing && follow)) return;
    if (state.playing && t - lastDraw < 50) return; // at most 20 redraws a second while playing
    lastDraw = t;
    dirty = false;
    const width = body.clientWidth || 600;
    const height = body.clientHeight || 400;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    const [t0, t1] = windowOf();
    const shown = draw(svg, width, height, t0, t1);
    followBtn.disabled = follow;
    info.textContent = `${fmtTime(t0)} – ${fmtTime(t1)} · ${shown} message${shown === 1 ? "" : "s"}${
      lanes().length < (state.snap.order || []).length ? ` · lanes: ${lanes().length} of ${state.snap.order.length} nodes (select one to add it)` : ""}${
      model.trimmed ? " · oldest events forgotten" : ""}`;
  }
  (function loop() {
    render();
    requestAnimationFrame(loop);
  })();

  /** The diagram of the current window as a standalone SVG document (with its styles inlined). */
  function exportSvg() {
    const width = Math.max(600, body.clientWidth || 800);
    const height = Math.max(400, body.clientHeight || 600);
    const doc = s("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
    const [t0, t1] = windowOf();
    const g = s("g", {});
    draw(g, width, height, t0, t1);
    const style = s("style", {}, EXPORT_CSS);
    doc.append(style, s("rect", { x: 0, y: 0, width, height, fill: "#fff" }), g);
    return new XMLSerializer().serializeToString(doc);
  }

  function download() {
    const blob = new Blob([exportSvg()], { type: "image/svg+xml" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `spacetime-${page.describe.name}-${now()}ms.svg` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  page.on("refresh", () => { dirty = true; });
  setMode("topology");
  /** Show the whole run so far (and follow it), drawn now: for a test or a "fit" key. */
  function showAll() {
    spanIndex = -1;
    follow = true;
    dirty = true;
    render();
  }

  return { root, model, get log() { return log; }, setMode, render, exportSvg, open, showAll,
           get mode() { return mode; } };
}

// the exported file's styles (the page's come from static/css/spacetime.css: keep the two alike)
const EXPORT_CSS = `
.st-lane{stroke:#cbd5e1;stroke-width:2}.st-lane-name{font:700 13px system-ui,sans-serif;text-anchor:middle;fill:#0f172a}
.st-msg line{stroke-width:1.6}.st-msg .st-hit{stroke:transparent}.st-msg.flying line{stroke-dasharray:4 3}
.st-cross{font:700 12px system-ui,sans-serif;fill:#dc2626;text-anchor:middle}.st-band{fill:#fb923c;opacity:.12}
.st-span.crashed{fill:#64748b;opacity:.35}.st-span.paused{fill:#f59e0b;opacity:.35}.st-mark.timer{fill:#fff;stroke:#475569}
.st-mark.change{fill:#7c3aed}.st-now{stroke:#0f172a;stroke-dasharray:2 3}.st-tick{font:11px system-ui,sans-serif;fill:#64748b}`;
