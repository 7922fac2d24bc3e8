// The space-time (Lamport) diagram: a lane per node, time flowing down, every message an arrow from its send to
// its delivery (or to a ✕ at its drop, with the reason), timers and view changes as marks on the lanes, crashes
// and pauses as shaded spans, partitions and cuts as bands. It shows the current branch only: it keeps the
// events of this branch (started.events + every frame), cuts them back on a seek or a step back, and rebuilds
// its picture from them at every reset (docs/frontend.md, "The space-time diagram").
//
// Drawn on a canvas (10,000 SVG lines cannot keep 30 fps): only what is in the visible window, found by a binary
// search over the messages in send order, as a display list that a worker paints on an OffscreenCanvas
// (static/js/page/spacetime-draw.js, spacetime-worker.js). Hit-testing (hover, click) goes through the arrows drawn last, bucketed
// by height. "Download SVG" renders the same window, from the same geometry, as an SVG file with one
// <g data-msg="<message id>"> per arrow.
//
// The keyboard: the canvas is focusable (Tab); ←/→ (↑/↓, Home/End) move a cursor over the messages of the window in
// time order, highlighted as a hovered arrow is and read out by a polite live region; Enter inspects it (as a click
// does), Escape lets go of it (and of the message inspected). A message that leaves the window leaves the cursor.
//
// setupSpacetime(page, { inspect, uninspect }) -> { root, model, render(), exportSvg(), arrowAt(x, y), arrowPoint(id),
// drawnIds(), selected, cursor, ... }; the root carries data-view="spacetime" (and data-selected, data-hovered,
// data-cursor).

import { h, fmtTime, GREY } from "../util.js";
import { drawScene, buffersOf } from "./spacetime-draw.js";

const MAX_EVENTS = 400_000; // the branch's events kept (beyond: the oldest go, the diagram says so)
const MAX_MESSAGES = 200_000; // message records (and marks) kept (beyond: the oldest 10% go)
const MAX_LANES = 12; // above this many nodes: lanes for the selected node and the first ones only
const LANE_MIN = 28; // px between lanes at least
const TOP = 34; // px above the first moment (the lane names)
const GUTTER = 46; // px left of the lanes: the time scale's labels
const SPANS = [250, 500, 1000, 2000, 5000, 10000, 30000, 60000]; // zoom levels: ms visible
const MODES = ["topology", "split", "diagram"];
const MODE_LABEL = { topology: "Space-time diagram", split: "Diagram only", diagram: "Topology too" };
const MARK_FIELDS = ["role", "decision", "state", "phase", "leader", "generation", "ballot", "status"];
const HIT_PX = 6; // how near the pointer must be to an arrow
const BAND_PX = 16; // hit-test buckets: horizontal bands this high
const INK = "#0f172a";
const DROP = "#dc2626";

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
    this.messages = new Map(); // id -> {id, from, to, sent, due, end, how: "deliver"|"drop"|"unknown"|null, reason, msg}
    this.list = []; // the same records in send order (windowing: a binary search on `sent`)
    this.open = new Map(); // id -> record, for messages not ended yet (their arrow reaches "now")
    this.maxLife = 0; // the longest a message has lived (or is due to): how far before a window to look
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
    const rec = { id: ev.id, from: ev.from, to: ev.to, sent: ev.t, due: ev.deliver_at, end: null, how: null,
                  reason: null, msg: ev.msg, hb: isHeartbeat(ev.msg), color: null, key: null, keyHow: undefined };
    this.messages.set(ev.id, rec);
    this.list.push(rec);
    this.open.set(ev.id, rec);
    this.maxLife = Math.max(this.maxLife, (ev.deliver_at || ev.t) - ev.t);
    if (ev.msg && ev.msg.kind) this.kinds.add(ev.msg.kind);
    if (this.messages.size > MAX_MESSAGES) this.forgetOldest(Math.floor(MAX_MESSAGES / 10));
  }

  /** Memory stays bounded: the oldest `n` message records go (the diagram says "oldest events forgotten"). */
  forgetOldest(n) {
    for (const rec of this.list.slice(0, n)) {
      this.messages.delete(rec.id);
      this.open.delete(rec.id);
    }
    this.list = this.list.slice(n);
    this.trimmed = true;
  }

  end(rec, t, how, reason) {
    rec.end = t;
    rec.how = how;
    rec.reason = reason || null;
    this.open.delete(rec.id);
    this.maxLife = Math.max(this.maxLife, t - rec.sent);
  }

  /** Records in send order again (after messages were added out of order: a snapshot's in-flight ones). */
  sort() {
    this.list.sort((a, b) => a.sent - b.sent || a.id - b.id);
  }

  /** Call fn(rec) for every message whose life may overlap [t0, t1] (a superset: the caller clips). */
  eachIn(t0, t1, fn) {
    const list = this.list;
    const from = t0 - this.maxLife;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) { // the first record sent at `from` or later
      const mid = (lo + hi) >> 1;
      if (list[mid].sent < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < list.length && list[i].sent <= t1; i++) fn(list[i]);
    for (const rec of this.open.values()) if (rec.sent < from) fn(rec); // held for long (a paused receiver)
  }

  mark(m) {
    this.marks.push(m);
    if (this.marks.length > MAX_MESSAGES) { // bounded as the messages are
      this.marks = this.marks.slice(Math.floor(MAX_MESSAGES / 10));
      this.trimmed = true;
    }
  }

  /** Index of the first mark at `t` or later (marks come in time order). */
  firstMark(t) {
    let lo = 0;
    let hi = this.marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.marks[mid].t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Call fn(mark) for every mark in [t0, t1]. */
  marksIn(t0, t1, fn) {
    for (let i = this.firstMark(t0); i < this.marks.length && this.marks[i].t <= t1; i++) fn(this.marks[i]);
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
        if (m) this.end(m, ev.t, ev.type, ev.reason);
        break;
      }
      case "timer":
        this.mark({ t: ev.t, node: ev.node, kind: "timer", text: `${ev.timer} timer fired` });
        break;
      case "state": {
        const ch = ev.changes || {};
        if (ch.status) this.onStatus(ev.node, ch.status, ev.t);
        const keys = MARK_FIELDS.filter((k) => k in ch && k !== "status");
        if (keys.length) {
          this.mark({ t: ev.t, node: ev.node, kind: "change",
                            text: keys.map((k) => `${k}: ${short(ch[k])}`).join(", ") });
        }
        break;
      }
      case "intervention":
        if (ev.action === "delay_message") {
          const m = this.messages.get(ev.id);
          if (m) {
            m.due = ev.deliver_at;
            this.maxLife = Math.max(this.maxLife, m.due - m.sent);
          }
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

function niceStep(x) {
  for (const st of [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000]) if (st >= x) return st;
  return 120000;
}

const esc = (text) => String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const r1 = (v) => Math.round(v * 10) / 10;

/** One line of words on a message: its tooltip on the canvas and in the SVG file. */
function describe(m) {
  return `#${m.id} ${m.msg ? m.msg.kind : ""} ${m.from} → ${m.to} · sent ${fmtTime(m.sent)}${
    m.how === "deliver" ? ` · delivered ${fmtTime(m.end)}` : m.how === "drop" ? ` · dropped ${fmtTime(m.end)} (${m.reason})`
      : m.how === "unknown" ? " · its end was jumped over" : " · in flight"}`;
}

/** What the keyboard's cursor reads out about a message: "n1 → n3 AppendEntries, sent 1,204 ms, received 1,209 ms". */
export function sayMessage(m) {
  const ms = (t) => `${Math.round(t).toLocaleString("en")} ms`;
  return `${m.from} → ${m.to} ${m.msg ? m.msg.kind : "message"}, sent ${ms(m.sent)}, ${
    m.how === "deliver" ? `received ${ms(m.end)}` : m.how === "drop" ? `dropped ${ms(m.end)} (${m.reason})`
      : m.how === "unknown" ? "its end was jumped over" : `in flight, due ${ms(m.due)}`}`;
}

export function setupSpacetime(page, { inspect, uninspect = () => {} }) {
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
  let hovered = []; // message ids highlighted (an arrow or a feed line under the pointer)
  let hoverKey = "";
  let selected = null;
  let cursor = null; // the message id the keyboard's cursor is on (highlighted as a hovered arrow is)
  let dirty = true;
  let lastDraw = 0;
  let paintMs = 0; // what a redraw costs (a moving average, ms)
  let last = null; // the geometry drawn last (hit-testing, tests)
  let grid = null; // hit-test buckets of `last`, built when first needed

  // --- DOM -------------------------------------------------------------------------------------------
  // (role application: a screen reader passes the arrow keys on to it instead of browsing with them)
  const canvas = h("canvas", { class: "st-canvas", role: "application", tabindex: "0", "aria-roledescription": "diagram",
                               "aria-label": "Space-time diagram: a lane per node, time flows down" });
  const said = h("p", { class: "sr-only st-said", role: "status", "aria-live": "polite" }); // what the cursor is on
  const kinds = h("select", { class: "st-kinds", "aria-label": "Message kind", title: "Show one kind of message" },
    h("option", { value: "" }, "all kinds"));
  const hb = h("input", { type: "checkbox", class: "st-hb" });
  const info = h("span", { class: "st-info" });
  const followBtn = h("button", { class: "btn st-follow", type: "button", title: "Follow the current moment" }, "⇣ Now");
  const zoomIn = h("button", { class: "btn", type: "button", title: "Zoom in (less time)", "aria-label": "Zoom in" }, "+");
  const zoomOut = h("button", { class: "btn", type: "button", title: "Zoom out (more time)", "aria-label": "Zoom out" }, "−");
  const svgBtn = h("button", { class: "btn st-export", type: "button",
                               title: "Download the visible window of the diagram as an SVG file" }, "⤓ SVG");
  const back = h("button", { class: "btn st-mode", type: "button", title: "Show the topology beside the diagram" },
    "Topology too");
  const bar = h("div", { class: "st-bar" }, back, zoomIn, zoomOut, followBtn,
    h("label", { class: "st-check", title: "Hide heartbeats (empty AppendEntries, pings, acks)" }, hb, " hide heartbeats"),
    kinds, svgBtn, info);
  const body = h("div", { class: "st-body" }, canvas, said);
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
      dirty = true;
    } else {
      scroll((e.deltaY / 400) * windowSpan());
    }
  }, { passive: false });

  /** Move the window by `ms` of simulated time (later: positive); back at "now" it follows again. */
  function scroll(ms) {
    const span = windowSpan();
    const end = follow ? Math.max(now(), span) : windowEnd;
    windowEnd = Math.max(span, Math.min(now(), end + ms));
    follow = windowEnd >= now();
    dirty = true;
  }

  // --- linked views: hover highlights a message in the diagram, the topology, the feed and the timeline;
  // selecting an arrow inspects it and scrolls the feed to its line --------------------------------------
  /** The message ids a link points at: its message, else what its node received and sent at its moment. */
  function idsOf(link) {
    if (!link) return [];
    if (link.msg !== null && link.msg !== undefined) return [link.msg];
    if (!link.node || link.t === null || link.t === undefined) return [];
    const out = [];
    model.eachIn(link.t, link.t, (m) => {
      if ((m.to === link.node && m.end === link.t && m.how === "deliver") || (m.from === link.node && m.sent === link.t)) out.push(m.id);
    });
    return out;
  }

  function hoverLink(link) {
    if (!link && cursor !== null && model.messages.has(cursor)) link = linkOf(model.messages.get(cursor)); // (it stays lit)
    const ids = idsOf(link);
    const key = link ? `${link.from || ""}:${link.t}:${ids.join(" ")}` : "";
    if (key === hoverKey) return;
    hoverKey = key;
    for (const el of document.querySelectorAll(".msg.hl")) el.classList.remove("hl");
    hovered = ids;
    for (const id of ids) for (const el of document.querySelectorAll(`#topology [data-msg="${id}"]`)) el.classList.add("hl");
    if (page.feed) page.feed.mark("linked", link && link.from !== "feed" ? page.feed.linesFor(link) : []);
    if (link) root.dataset.hovered = ids.join(" ");
    else delete root.dataset.hovered;
    page.emit("link-hover", link); // the timeline marks its moment
    dirty = true;
  }
  const linkOf = (m) => ({ msg: m.id, t: m.sent, node: m.from, end: m.end, to: m.to });

  function setupFeedLinks() {
    const el = page.feed && page.feed.el;
    if (!el) return;
    el.addEventListener("pointerover", (e) => {
      const line = e.target.closest && e.target.closest("li[data-t]");
      if (line) hoverLink({ ...page.feed.linkOf(line), from: "feed" });
    });
    el.addEventListener("pointerleave", () => hoverLink(null));
  }
  setupFeedLinks();

  let pointer = null;
  canvas.addEventListener("pointermove", (e) => {
    const wanted = pointer === null;
    pointer = { x: e.offsetX, y: e.offsetY };
    if (wanted) requestAnimationFrame(() => { // at most one hit-test a frame
      if (!pointer) return;
      const id = arrowAt(pointer.x, pointer.y);
      pointer = null;
      const m = id === null ? null : model.messages.get(id);
      canvas.title = m ? describe(m) : "";
      canvas.style.cursor = m ? "pointer" : "";
      hoverLink(m ? linkOf(m) : null);
    });
  });
  canvas.addEventListener("pointerleave", () => { pointer = null; hoverLink(null); });
  canvas.addEventListener("click", (e) => {
    const id = arrowAt(e.offsetX, e.offsetY);
    if (id !== null) open(id);
  });
  document.getElementById("topology").addEventListener("click", (e) => {
    const g = e.target.closest && e.target.closest(".msg[data-msg]");
    if (g) open(Number(g.dataset.msg));
  });

  // --- the keyboard: a cursor over the window's messages in time order ------------------------------------------
  /** The message records drawn last, in time order (sent, then id). */
  function inView() {
    return drawn().sort((a, b) => a.sent - b.sent || a.id - b.id);
  }

  function say(text) {
    said.textContent = text;
  }

  function setCursor(id) {
    cursor = id;
    if (id === null) delete root.dataset.cursor;
    else root.dataset.cursor = String(id);
    hoverKey = null; // (the same link as before is lit again: the pointer may have lit another since)
    hoverLink(id === null ? null : linkOf(model.messages.get(id)));
  }

  /** Move the cursor by `step` messages (±Infinity: the last or the first); with none yet, from the window's edge. */
  function moveCursor(step) {
    const list = inView();
    if (!list.length) {
      say("No messages in view");
      return;
    }
    let i = list.findIndex((m) => m.id === cursor);
    if (i < 0) i = list.findIndex((m) => m.id === selected); // (from the message inspected, if it is in view)
    const to = step === Infinity ? list.length - 1 : step === -Infinity ? 0
      : i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.max(0, Math.min(list.length - 1, i + step));
    const m = list[to];
    setCursor(m.id);
    say(`${sayMessage(m)} (${to + 1} of ${list.length})`);
  }

  function clearCursor(text) {
    if (cursor === null) return;
    setCursor(null);
    if (text) say(text);
  }

  const MOVES = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -Infinity, End: Infinity, PageDown: 10, PageUp: -10 };
  // on the window, capturing: before the page's own ←/→ (step the run) and a lesson's (next, back)
  window.addEventListener("keydown", (ev) => {
    if (ev.target !== canvas || ev.metaKey || ev.ctrlKey || ev.altKey) return;
    if (ev.key in MOVES) {
      moveCursor(MOVES[ev.key]);
    } else if (ev.key === "Enter") {
      if (cursor === null) return;
      open(cursor); // as a click does
    } else if (ev.key === "Escape") {
      if (cursor === null && selected === null) return;
      const wasOpen = selected !== null;
      clearCursor(null);
      unselect();
      say(wasOpen ? "Selection cleared, inspector closed" : "Selection cleared");
    } else {
      return;
    }
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }, true);
  canvas.addEventListener("mousedown", (ev) => ev.preventDefault()); // a click inspects; it does not take the keys
  canvas.addEventListener("blur", () => clearCursor(null));
  canvas.addEventListener("focus", () => { label(true); });

  /** The canvas's name says how many messages are in view (not while focused: a name that changes is read out). */
  function label(force = false) {
    if (!force && document.activeElement === canvas) return;
    const n = last ? last.arrows.n : 0;
    const text = `Space-time diagram: ${n.toLocaleString("en")} message${n === 1 ? "" : "s"} in view; arrow keys select a message, Enter opens it`;
    if (canvas.getAttribute("aria-label") !== text) canvas.setAttribute("aria-label", text);
  }

  /** The inspected message is let go of: nothing selected, the inspector closed. */
  function unselect() {
    if (selected === null) return;
    selected = null;
    delete root.dataset.selected;
    for (const el of document.querySelectorAll(".msg.sel")) el.classList.remove("sel");
    if (page.feed) page.feed.mark("linked-sel", []);
    page.emit("link-select", null);
    uninspect();
    dirty = true;
  }

  function open(id) {
    selected = id;
    root.dataset.selected = String(id);
    dirty = true;
    for (const el of document.querySelectorAll(".msg.sel")) el.classList.remove("sel");
    for (const el of document.querySelectorAll(`#topology [data-msg="${id}"]`)) el.classList.add("sel");
    const m = model.messages.get(id);
    if (m && page.feed) {
      const lines = page.feed.linesFor(linkOf(m));
      page.feed.mark("linked-sel", lines);
      if (lines.length) page.feed.reveal(lines[lines.length - 1]); // the earliest line about it (newest first)
    }
    if (m) page.emit("link-select", linkOf(m));
    inspect(id);
  }

  // --- the branch's events ---------------------------------------------------------------------------------
  function rebuild(snapshot) {
    model.clear(null);
    for (const id of snapshot.order) model.status[id] = "up";
    const base = log.length ? null : snapshot; // no history (a viewer, a seek forward): start from the snapshot
    if (base) model.clear(base);
    for (const ev of log) model.add(ev);
    model.trimmed = model.trimmed || trimmed;
    // a jump forward (a seek past what this page saw, a link opened at ?t=): the events in between never came,
    // so say so, and end the messages the log saw leave but not arrive where they were due
    model.gaps = gaps.filter((g) => g.from < snapshot.t).map((g) => ({ from: g.from, to: Math.min(g.to, snapshot.t) }));
    if (jump && jump.to === snapshot.t) {
      const flying = new Set(snapshot.messages.map((m) => m.id));
      for (const m of [...model.open.values()]) {
        if (!flying.has(m.id)) model.end(m, Math.min(m.due, snapshot.t), "unknown", null);
      }
    }
    // what the snapshot has in flight but the log never saw (a fast-forward seek): arrows from their send
    for (const m of snapshot.messages) {
      if (!model.messages.has(m.id)) model.onSend({ id: m.id, from: m.from, to: m.to, t: m.sent_at, deliver_at: m.deliver_at, msg: m.msg });
    }
    model.sort();
    refreshKinds();
    dirty = true;
  }
  let trimmed = false;
  // the log holds every event before `reached` (the last frame's t, or where a seek landed), except in `gaps`:
  // stretches jumped over (a seek past `reached`); `jump` is the last seek's, if it jumped
  let reached = 0;
  let gaps = [];
  let jump = null;
  function landed(msg) {
    gaps = gaps.filter((g) => g.from < msg.t).map((g) => ({ from: g.from, to: Math.min(g.to, msg.t) }));
    jump = msg.reason !== "step_back" && msg.t > reached ? { from: reached, to: msg.t } : null;
    if (jump) gaps.push(jump);
    reached = msg.t;
  }
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

  // a link opened at ?t= (far ahead): the diagram's window before t is played in (docs/frontend.md)
  const saved = page.config.saved || null;
  const linkT = saved && saved.t !== null && saved.t !== undefined && !page.config.lesson && !page.config.embed
    ? saved.t : null; // (a lesson or an embed drives its own run: static/js/lesson/player.js)
  let awaitingLink = false; // the first seek of a ?t= link has not landed yet
  let filling = null; // {t, speed, playing}: playing the window before the link's moment
  function fillWindow(t) {
    const from = Math.max(0, t - windowSpan());
    filling = { t, speed: state.speed, from, playing: false };
    page.send({ type: "speed", speed: 10_000 }); // the server's top speed: a 1 s window in 0.1 s
    page.send({ type: "seek", t: from, id: "history" });
  }

  page.addExtra({
    handles: [],
    startOptions: () => ({}),
    observe(msg) {
      if (msg.type === "started") {
        log = (msg.events || []).slice();
        trimmed = false;
        reached = msg.snapshot.t;
        gaps = [];
        jump = null;
        awaitingLink = linkT !== null && !msg.viewer && !state.viewer && !filling;
      } else if (msg.type === "seeked") {
        if (msg.reason === "step_back") log.pop();
        else log = log.filter((ev) => ev.t < msg.t); // everything before t has happened, nothing at t
        landed(msg);
        if (awaitingLink && msg.t === linkT && jump) fillWindow(msg.t);
        awaitingLink = false;
        if (filling && msg.id === "history") {
          filling.playing = true;
          page.send({ type: "play_until", t: filling.t });
        }
        // (the timeline may have landed the seek, and the reset, before this ran: rebuild once the message is done)
        queueMicrotask(() => rebuild(state.snap));
      } else if (msg.type === "frame") {
        reached = Math.max(reached, msg.t);
      } else if (msg.type === "status" && filling && filling.playing && !msg.playing && msg.t >= filling.t) {
        page.send({ type: "speed", speed: filling.speed });
        filling = null;
      } else if (msg.type === "error" && filling) {
        page.send({ type: "speed", speed: filling.speed });
        filling = null;
      }
    },
  });
  page.on("event", (ev) => push(ev));
  page.on("reset", (snapshot) => rebuild(snapshot));

  // --- geometry (shared by the canvas and the SVG file) ------------------------------------------------------
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
    if (hideHeartbeats && m.hb) return false;
    if (kindFilter && (!m.msg || m.msg.kind !== kindFilter)) return false;
    return true;
  }

  const arrows = { n: 0, x1: [], y1: [], x2: [], y2: [], rec: [] }; // reused frame after frame

  /** Where everything of the window [t0, t1] goes at the given size (the arrows in `arrows`). */
  function layout(width, height, t0, t1, out = arrows) {
    const ids = lanes();
    const laneX = {};
    const gap = Math.max(LANE_MIN, (width - GUTTER - 10) / Math.max(1, ids.length)); // (LANE_MIN: never closer)
    ids.forEach((id, i) => { laneX[id] = GUTTER + gap * (i + 0.5); });
    const span = Math.max(1, t1 - t0);
    const scale = (height - TOP - 10) / span;
    const y = (t) => TOP + (t - t0) * scale;
    const tNow = now();
    const module = page.view.module;
    out.n = 0;
    model.eachIn(t0, t1, (m) => {
      const end = m.end === null ? tNow : m.end;
      if (end < t0 || m.sent > t1) return;
      const xa = laneX[m.from];
      let xb = laneX[m.to];
      if (xa === undefined || xb === undefined || !visible(m)) return;
      let tEnd = end;
      if (m.end === null) { // in flight: the arrow's head is where it is now
        const f = Math.min(1, Math.max(0, (tNow - m.sent) / Math.max(1, m.due - m.sent)));
        xb = xa + (xb - xa) * f;
        tEnd = tNow;
      } else if (m.how === "drop" && m.due > m.sent) { // it falls where it was
        const f = Math.min(1, Math.max(0, (m.end - m.sent) / (m.due - m.sent)));
        xb = xa + (xb - xa) * f;
      }
      if (m.color === null) m.color = m.msg ? module.messageColor(m.msg) : GREY;
      const i = out.n++;
      out.x1[i] = xa;
      out.y1[i] = y(m.sent);
      out.x2[i] = xb;
      out.y2[i] = y(tEnd);
      out.rec[i] = m;
    });
    out.rec.length = Math.max(out.n, Math.min(out.rec.length, out.n + 1000)); // let go of old records
    return { width, height, t0, t1, tNow, ids, laneX, y, arrows: out };
  }

  // --- the canvas -------------------------------------------------------------------------------------------
  /** The display list of a frame (static/js/page/spacetime-draw.js): everything in the window, in paint order. */
  function scene(G) {
    const { width, height, t0, t1, tNow, ids, laneX, y } = G;
    const out = [];
    const F = (a) => new Float32Array(a);
    const clip = (from, to) => [Math.max(t0, from), Math.min(t1, to)];
    const band = (list, end) => {
      const rects = [];
      for (const b of list) {
        const [from, to] = clip(b.from, end(b));
        if (to > from) rects.push(0, y(from), width, Math.max(1, y(to) - y(from)));
      }
      return F(rects);
    };
    out.push({ op: "fill", color: "rgba(251, 146, 60, 0.12)", rects: band(model.bands, (b) => (b.to === null ? tNow : b.to)) });
    out.push({ op: "fill", color: "rgba(148, 163, 184, 0.15)", rects: band(model.gaps, (g) => g.to) });
    out.push({ op: "stroke", color: "#cbd5e1", width: 2, lines: F(ids.flatMap((id) => [laneX[id], TOP - 4, laneX[id], height])) });
    for (const what of ["crashed", "paused"]) {
      const rects = [];
      for (const sp of model.spans) {
        if (sp.what !== what || !(sp.node in laneX)) continue;
        const [from, to] = clip(sp.from, sp.to === null ? tNow : sp.to);
        if (to >= from) rects.push(laneX[sp.node] - 7, y(from), 14, Math.max(2, y(to) - y(from)));
      }
      out.push({ op: "fill", color: what === "crashed" ? "rgba(100, 116, 139, 0.35)" : "rgba(245, 158, 11, 0.35)", rects: F(rects) });
    }
    // arrows: one path per colour and style (thousands of lines cost a few strokes)
    const A = G.arrows;
    const dense = A.n > 2000;
    const groups = new Map();
    for (let i = 0; i < A.n; i++) {
      const m = A.rec[i];
      if (m.keyHow !== m.how) { // (cached: a string per arrow per frame costs)
        m.keyHow = m.how;
        m.key = m.how === null ? `${m.color}|flying` : m.how === "unknown" ? `${m.color}|unknown` : m.color;
      }
      let g = groups.get(m.key);
      if (!g) groups.set(m.key, (g = []));
      g.push(i);
    }
    for (const [key, idx] of groups) {
      const [color, style] = key.split("|");
      const lines = new Float32Array(idx.length * 4);
      idx.forEach((i, k) => { lines[4 * k] = A.x1[i]; lines[4 * k + 1] = A.y1[i]; lines[4 * k + 2] = A.x2[i]; lines[4 * k + 3] = A.y2[i]; });
      // (dense: translucent, so that where traffic is thicker shows)
      out.push({ op: "stroke", color, width: dense ? 1 : 1.6, lines, alpha: (style === "unknown" ? 0.6 : 1) * (dense ? 0.35 : 1),
                 dash: style === "flying" ? [4, 3] : style === "unknown" ? [1, 3] : [] });
      if (!style && !dense) { // delivered: a dot at the head (when dense, thousands of dots only add noise)
        const rects = [];
        for (const i of idx) if (A.rec[i].how === "deliver") rects.push(A.x2[i] - 2.5, A.y2[i] - 2.5, 5, 5);
        out.push({ op: "fill", color, rects: F(rects) });
      }
    }
    const drops = []; // a cross where a message fell
    for (let i = 0; i < A.n; i++) {
      if (A.rec[i].how !== "drop") continue;
      const x = A.x2[i];
      const yy = A.y2[i];
      drops.push(x - 4, yy - 4, x + 4, yy + 4, x + 4, yy - 4, x - 4, yy + 4);
    }
    out.push({ op: "stroke", color: DROP, width: 2, lines: F(drops) });
    // marks: timers (rings) and role or decision changes (squares)
    const timers = [];
    const changes = [];
    model.marksIn(t0, t1, (mk) => {
      if (!(mk.node in laneX)) return;
      if (mk.kind === "timer") timers.push(mk);
      else changes.push(laneX[mk.node] - 5, y(mk.t) - 5, 10, 10);
    });
    if (timers.length <= 1000) {
      out.push({ op: "rings", fill: "#fff", color: "#475569", width: 1.5, r: 3.5,
                 points: F(timers.flatMap((mk) => [laneX[mk.node], y(mk.t)])) });
    } else { // dense: a small grey tick per lane and 2 px of height at most
      const rows = Math.ceil(height / 2) + 2;
      const lane = Object.fromEntries(ids.map((id, i) => [id, i]));
      const seen = new Uint8Array(rows * ids.length);
      const rects = [];
      for (const mk of timers) {
        const row = Math.max(0, Math.min(rows - 1, Math.round(y(mk.t) / 2)));
        const key = row * ids.length + lane[mk.node];
        if (seen[key]) continue;
        seen[key] = 1;
        rects.push(laneX[mk.node] - 3, row * 2 - 1, 6, 2);
      }
      out.push({ op: "fill", color: "#94a3b8", rects: F(rects) });
    }
    out.push({ op: "fill", color: "#7c3aed", rects: F(changes) });
    // the highlighted and the selected arrows, on top
    const on = new Set(hovered);
    for (let i = 0; i < A.n; i++) {
      const m = A.rec[i];
      if (m.id !== selected && !on.has(m.id)) continue;
      out.push({ op: "stroke", color: m.id === selected ? INK : m.color, width: 4, lines: F([A.x1[i], A.y1[i], A.x2[i], A.y2[i]]) });
    }
    // now, the time scale and the lane names
    if (tNow >= t0 && tNow <= t1) out.push({ op: "stroke", color: INK, width: 1, dash: [2, 3], lines: F([0, y(tNow), width, y(tNow)]) });
    const step = niceStep(Math.max(1, t1 - t0) / 6);
    const ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push([fmtTime(t), 2, y(t) - 2]);
    out.push({ op: "text", font: "11px system-ui, sans-serif", color: "#64748b", align: "left", items: ticks });
    out.push({ op: "fill", color: "rgba(255, 255, 255, 0.9)", rects: F([0, 0, width, TOP - 8]) });
    out.push({ op: "text", font: "700 13px system-ui, sans-serif", color: INK, align: "center",
               items: ids.map((id) => [id, laneX[id], 16]) });
    return out;
  }

  // painted by a worker on an OffscreenCanvas where there is one (the page's main thread stays free), else here
  let worker = null;
  let ctx = null;
  let painted = 0; // scenes painted (for the bench: the diagram's own redraw rate)
  try {
    if (canvas.transferControlToOffscreen && window.Worker) {
      worker = new Worker(new URL("./spacetime-worker.js", import.meta.url), { type: "module" });
      const offscreen = canvas.transferControlToOffscreen();
      worker.postMessage({ canvas: offscreen }, [offscreen]);
      worker.onmessage = (e) => { paintMs = 0.8 * paintMs + 0.2 * e.data.painted; painted += 1; };
    }
  } catch (err) {
    console.warn("the diagram paints on the page's main thread", err);
    worker = null;
  }

  function paint(G) {
    const dpr = window.devicePixelRatio || 1;
    const list = scene(G);
    if (worker) {
      worker.postMessage({ scene: list, width: G.width, height: G.height, dpr }, buffersOf(list));
      return;
    }
    if (canvas.width !== Math.round(G.width * dpr) || canvas.height !== Math.round(G.height * dpr)) {
      canvas.width = Math.round(G.width * dpr);
      canvas.height = Math.round(G.height * dpr);
    }
    if (!ctx) ctx = canvas.getContext("2d");
    const t = performance.now();
    drawScene(ctx, list, G.width, G.height, dpr);
    paintMs = 0.8 * paintMs + 0.2 * (performance.now() - t);
    painted += 1;
  }

  // --- hit-testing ------------------------------------------------------------------------------------------
  function buckets() {
    if (grid) return grid;
    grid = new Map();
    const A = last ? last.arrows : arrows;
    for (let i = 0; i < A.n; i++) {
      const lo = Math.floor((Math.min(A.y1[i], A.y2[i]) - HIT_PX) / BAND_PX);
      const hi = Math.floor((Math.max(A.y1[i], A.y2[i]) + HIT_PX) / BAND_PX);
      for (let b = lo; b <= hi; b++) {
        let list = grid.get(b);
        if (!list) grid.set(b, (list = []));
        list.push(i);
      }
    }
    return grid;
  }

  /** The message id of the arrow drawn nearest to (x, y) (px in the canvas), within HIT_PX; or null. */
  function arrowAt(x, y) {
    if (!last) return null;
    const A = last.arrows;
    let best = null;
    let bestD = HIT_PX * HIT_PX;
    for (const i of buckets().get(Math.floor(y / BAND_PX)) || []) {
      const dx = A.x2[i] - A.x1[i];
      const dy = A.y2[i] - A.y1[i];
      const len = dx * dx + dy * dy;
      const f = len ? Math.max(0, Math.min(1, ((x - A.x1[i]) * dx + (y - A.y1[i]) * dy) / len)) : 0;
      const ex = A.x1[i] + f * dx - x;
      const ey = A.y1[i] + f * dy - y;
      const d = ex * ex + ey * ey;
      if (d <= bestD) { // (a later arrow is drawn on top: it wins a tie)
        bestD = d;
        best = A.rec[i].id;
      }
    }
    return best;
  }

  /** A point of the page (client px) where arrowAt finds message `id` (for tests and keyboard users); or null. */
  function arrowPoint(id) {
    if (!last) return null;
    const A = last.arrows;
    const i = A.rec.slice(0, A.n).findIndex((m) => m.id === id);
    if (i < 0) return null;
    const r = canvas.getBoundingClientRect();
    // whole pixels (a pointer event's offsetX is), where the pixels around find it too
    const around = (x, y) => [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]].every(([dx, dy]) => arrowAt(x + dx, y + dy) === id);
    let near = null;
    for (let k = 1; k < 20; k++) {
      const f = k % 2 ? 0.5 + k / 40 : 0.5 - k / 40;
      const x = Math.round(A.x1[i] + f * (A.x2[i] - A.x1[i]));
      const y = Math.round(A.y1[i] + f * (A.y2[i] - A.y1[i]));
      if (around(x, y)) return { x: r.left + x, y: r.top + y };
      if (!near && arrowAt(x, y) === id) near = { x: r.left + x, y: r.top + y };
    }
    return near;
  }

  /** The message ids drawn as arrows last, in order. */
  /** The message records drawn last (a copy: callers sort it). */
  function drawn() {
    return last ? last.arrows.rec.slice(0, last.arrows.n) : [];
  }

  function drawnIds() {
    return drawn().map((m) => m.id).sort((a, b) => a - b);
  }

  // --- the window, the render loop ----------------------------------------------------------------------------
  function windowSpan() {
    return spanIndex < 0 ? Math.max(SPANS[0], now()) : SPANS[spanIndex]; // -1: the whole run so far
  }

  function windowOf() {
    const span = windowSpan();
    const end = follow ? Math.max(now(), span) : windowEnd;
    return [Math.max(0, end - span), Math.max(end, span)];
  }

  function render(force = false) {
    if (mode === "topology" || !state.snap) return;
    const t = performance.now();
    if (!force && !dirty && !(state.playing && follow)) return;
    // while playing: at most 20 redraws a second, fewer when a redraw is dear (a dense window), so that the rest
    // of the page keeps its frame rate
    if (!force && state.playing && t - lastDraw < Math.max(50, 5 * paintMs)) return;
    lastDraw = t;
    dirty = false;
    const width = body.clientWidth || 600;
    const height = body.clientHeight || 400;
    const [t0, t1] = windowOf();
    last = layout(width, height, t0, t1);
    grid = null;
    if (cursor !== null && !drawn().some((m) => m.id === cursor)) {
      clearCursor("The selected message is out of view"); // (a seek, a zoom, the window following the run)
      dirty = false;
    }
    paint(last);
    label();
    const shown = last.arrows.n;
    followBtn.disabled = follow;
    info.textContent = `${fmtTime(t0)} – ${fmtTime(t1)} · ${shown.toLocaleString("en")} message${shown === 1 ? "" : "s"}${
      lanes().length < (state.snap.order || []).length ? ` · lanes: ${lanes().length} of ${state.snap.order.length} nodes (select one to add it)` : ""}${
      model.trimmed ? " · oldest events forgotten" : ""}`;
  }
  (function loop() {
    render();
    requestAnimationFrame(loop);
  })();

  /** The diagram of the current window as a standalone SVG document: the same geometry as the canvas, one
   * <g class="st-msg" data-msg="id"> per arrow, its styles inlined. */
  function exportSvg() {
    const width = Math.max(600, body.clientWidth || 800);
    const height = Math.max(400, body.clientHeight || 600);
    const [t0, t1] = windowOf();
    const G = layout(width, height, t0, t1, { n: 0, x1: [], y1: [], x2: [], y2: [], rec: [] });
    const { tNow, ids, laneX, y } = G;
    const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
      `<style>${EXPORT_CSS}</style>`, `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`];
    const rect = (cls, x, y0, w, hh, title) => out.push(`<rect class="${cls}" x="${r1(x)}" y="${r1(y0)}" width="${r1(w)}" height="${r1(hh)}"><title>${esc(title)}</title></rect>`);
    for (const b of model.bands) {
      const from = Math.max(t0, b.from);
      const to = Math.min(t1, b.to === null ? tNow : b.to);
      if (to > from) rect("st-band", 0, y(from), width, Math.max(1, y(to) - y(from)), b.text);
    }
    for (const gp of model.gaps) {
      const from = Math.max(t0, gp.from);
      const to = Math.min(t1, gp.to);
      if (to > from) rect("st-gap", 0, y(from), width, Math.max(1, y(to) - y(from)), `${fmtTime(gp.from)} – ${fmtTime(gp.to)}: jumped over`);
    }
    for (const id of ids) {
      out.push(`<line class="st-lane" x1="${r1(laneX[id])}" x2="${r1(laneX[id])}" y1="${TOP - 4}" y2="${height}"/>`,
        `<text class="st-lane-name" x="${r1(laneX[id])}" y="16">${esc(id)}</text>`);
    }
    for (const sp of model.spans) {
      if (!(sp.node in laneX)) continue;
      const from = Math.max(t0, sp.from);
      const to = Math.min(t1, sp.to === null ? tNow : sp.to);
      if (to >= from) rect(`st-span ${sp.what}`, laneX[sp.node] - 7, y(from), 14, Math.max(2, y(to) - y(from)), `${sp.node} ${sp.what}`);
    }
    const A = G.arrows;
    for (let i = 0; i < A.n; i++) {
      const m = A.rec[i];
      const [x1, y1, x2, y2] = [r1(A.x1[i]), r1(A.y1[i]), r1(A.x2[i]), r1(A.y2[i])];
      out.push(`<g class="st-msg ${m.how || "flying"}" data-msg="${m.id}"><line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${esc(m.color)}"/>${
        m.how === "deliver" ? `<circle cx="${x2}" cy="${y2}" r="3" fill="${esc(m.color)}"/>` : ""}${
        m.how === "drop" ? `<text class="st-cross" x="${x2}" y="${r1(y2 + 4)}">✕</text>` : ""}<title>${esc(describe(m))}</title></g>`);
    }
    for (const mk of model.marks.slice(model.firstMark(t0))) {
      if (mk.t > t1) break;
      if (!(mk.node in laneX)) continue;
      const title = `<title>${esc(`${fmtTime(mk.t)} · ${mk.node}: ${mk.text}`)}</title>`;
      out.push(mk.kind === "timer"
        ? `<circle class="st-mark timer" cx="${r1(laneX[mk.node])}" cy="${r1(y(mk.t))}" r="3.5">${title}</circle>`
        : `<rect class="st-mark change" x="${r1(laneX[mk.node] - 5)}" y="${r1(y(mk.t) - 5)}" width="10" height="10">${title}</rect>`);
    }
    if (tNow >= t0 && tNow <= t1) out.push(`<line class="st-now" x1="0" x2="${width}" y1="${r1(y(tNow))}" y2="${r1(y(tNow))}"/>`);
    const step = niceStep(Math.max(1, t1 - t0) / 6);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(`<text class="st-tick" x="2" y="${r1(y(t) - 2)}">${fmtTime(t)}</text>`);
    out.push("</svg>");
    return out.join("\n");
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
  /** Show `ms` of time (the nearest zoom level at least that long; none: the whole run), following now. */
  function setSpan(ms) {
    spanIndex = SPANS.findIndex((x) => x >= ms);
    follow = true;
    dirty = true;
    render();
  }

  const api = { root, model, get log() { return log; }, setMode, render, exportSvg, open, showAll, setSpan, scroll,
                arrowAt, arrowPoint, drawnIds, hover: hoverLink, get window() { return windowOf(); },
                get selected() { return selected; }, get cursor() { return cursor; }, get hovered() { return hovered.slice(); },
                get mode() { return mode; }, get filling() { return filling !== null; }, get jump() { return jump; },
                get painted() { return painted; } };
  page.spacetime = api; // (the happening stepper reads the branch's log)
  return api;
}

// the exported file's styles (the page draws the same on its canvas: keep the two alike)
const EXPORT_CSS = `
.st-lane{stroke:#cbd5e1;stroke-width:2}.st-lane-name{font:700 13px system-ui,sans-serif;text-anchor:middle;fill:#0f172a}
.st-msg line{stroke-width:1.6}.st-msg.flying line{stroke-dasharray:4 3}.st-msg.unknown line{stroke-dasharray:1 3;opacity:.6}
.st-cross{font:700 12px system-ui,sans-serif;fill:#dc2626;text-anchor:middle}.st-band{fill:#fb923c;opacity:.12}.st-gap{fill:#94a3b8;opacity:.15}
.st-span.crashed{fill:#64748b;opacity:.35}.st-span.paused{fill:#f59e0b;opacity:.35}.st-mark.timer{fill:#fff;stroke:#475569}
.st-mark.change{fill:#7c3aed}.st-now{stroke:#0f172a;stroke-dasharray:2 3}.st-tick{font:11px system-ui,sans-serif;fill:#64748b}`;
