// Time travel on the page: the timeline under the topology (a marker for every intervention and violation),
// drag or click it to go to any moment, step back one event (← key), and the fork notice. The server does the
// work (docs/sharing.md, "Time travel"); this draws its `timeline` and applies its `seeked`.
// Protocol: docs/websocket.md; what it means: docs/sharing.md.
//
// setupTimeline(ext) -> { observe(msg), seek(t), handles, startOptions() }; `ext` is the page
// (static/js/page/state.js).

import { h, fmtTime } from "./util.js";

const GLYPH = {
  crash: "☠", restart: "↻", pause: "❚❚", resume: "▶", cut: "✂", partition: "✂", heal: "⚭", heal_partition: "⚭", heal_all: "⚭",
  set_link: "⇝", set_drift: "⟳",
};
const COLOR = {
  crash: "#dc2626", restart: "#15803d", pause: "#b45309", resume: "#15803d", cut: "#ea580c", partition: "#ea580c",
  heal: "#2563eb", heal_partition: "#2563eb", heal_all: "#2563eb", set_link: "#475569", set_drift: "#475569",
};
const PROTOCOL_COLOR = "#7c3aed";
const MIN_END = 1000;

/** "crash n3", "partition {n1 n2} | the rest", "client_request leader". */
function describeIntervention(iv) {
  const who = iv.node ? ` ${iv.node}` : iv.a ? ` ${iv.a}${iv.oneway ? "→" : "–"}${iv.b}` : "";
  if (iv.action === "partition" && iv.groups) {
    return `partition ${iv.groups.map((g) => `{${g.join(" ")}}`).join(" | ")}${iv.groups.length === 1 ? " | the rest" : ""}`;
  }
  const value = iv.value !== undefined && iv.value !== "" ? ` ${JSON.stringify(iv.value)}` : "";
  return `${iv.action.replace(/_/g, " ")}${who}${value}`;
}

export function setupTimeline(ext) {
  const { state, config } = ext;
  const root = document.getElementById("timeline");
  const saved = config.saved || null;
  let marks = []; // {t, kind: "intervention"|"violation", iv?, invariant?, node?, details?}
  let frontier = 0; // the furthest moment this branch has reached
  let serverT = 0; // where the server's run is (the page draws a little behind it while playing)
  let started = false;
  let pendingT = saved && saved.t !== null && saved.t !== undefined ? saved.t : null; // ?t=<ms> of a link
  let drag = null; // {t} while the knob is dragged
  let inFlight = false; // a seek is on its way: while dragging, send the next one when it is answered
  let sentT = null; // the moment of the last seek sent
  let wantT = null;
  let layoutKey = "";

  // --- DOM ------------------------------------------------------------------------------------
  const back = h("button", { class: "btn tl-back", type: "button", title: "Step back one event (←)",
                             "aria-label": "Step back one event" }, "|◀");
  const past = h("div", { class: "tl-past" });
  const future = h("div", { class: "tl-future" });
  const markLayer = h("div", { class: "tl-marks" });
  const headLabel = h("span", { class: "tl-head-label" });
  const head = h("div", { class: "tl-head", role: "slider", tabindex: "0", "aria-label": "Simulated time",
                          "aria-valuemin": "0" }, headLabel);
  const track = h("div", { class: "tl-track" }, h("div", { class: "tl-rail" }), future, past, markLayer, head);
  const startLabel = h("span", { class: "tl-start" }, "0 s");
  const status = h("span", { class: "tl-status" });
  const endLabel = h("span", { class: "tl-end" });
  // always laid out (only hidden): the track must not change width under a dragging finger
  const latest = h("button", { class: "btn tl-latest", type: "button", title: "Back to the latest moment of this run",
                               style: { visibility: "hidden" } }, "⇥ Latest");
  root.replaceChildren(back, h("div", { class: "tl-main" }, track, h("div", { class: "tl-scale" }, startLabel, status,
    endLabel)), latest);

  // --- geometry -----------------------------------------------------------------------------------
  function now() {
    return state.snap ? Math.floor(state.shownT) : 0;
  }
  function end() {
    let e = Math.max(frontier, now(), MIN_END);
    if (saved && state.preset === saved) e = Math.max(e, saved.duration);
    return e;
  }
  function tAt(clientX) {
    const r = track.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (clientX - r.left) / Math.max(1, r.width)));
    return Math.round(x * end());
  }
  const pct = (t, e) => `${Math.min(100, Math.max(0, (100 * t) / e)).toFixed(3)}%`;

  // --- drawing ----------------------------------------------------------------------------------------
  function markTitle(m) {
    if (m.kind === "violation") return `${fmtTime(m.t)} · ⚠ ${m.invariant.replace(/_/g, " ")} violated${m.node ? ` (${m.node})` : ""}${m.details ? `: ${m.details}` : ""}`;
    return `${fmtTime(m.t)} · ${describeIntervention(m.iv)}${m.rejected ? " (could not apply)" : ""}`;
  }

  // Markers closer than CLUSTER_PX on the track (per row: interventions above, violations below) are one
  // cluster showing how many they are; a click lists what happened there, and an item of the list seeks to it.
  const CLUSTER_PX = 22;
  const MAX_LISTED = 60;
  const clusterList = h("div", { class: "tl-cluster-list", role: "dialog", "aria-label": "What happened here",
                                 hidden: true });
  track.append(clusterList);
  function closeList() {
    clusterList.hidden = true;
    clusterList.replaceChildren();
  }
  function openList(group, button) {
    const items = group.slice(0, MAX_LISTED).map((m) => h("li", {}, h("button", {
      type: "button", class: `tl-cluster-item ${m.kind}`, "data-t": m.t,
      onclick: () => { closeList(); seek(m.t); },
    }, markTitle(m))));
    const more = group.length - items.length;
    clusterList.replaceChildren(
      h("p", { class: "tl-cluster-head" }, `${group.length} at ${fmtTime(group[0].t)}–${fmtTime(group[group.length - 1].t)}`,
        h("button", { type: "button", class: "tl-cluster-close", "aria-label": "Close", onclick: closeList }, "✕")),
      h("ul", {}, items), ...(more > 0 ? [h("p", { class: "tl-cluster-more" }, `… and ${more} more`)] : []));
    clusterList.hidden = false;
    // above the track, kept inside it
    const x = Math.min(Math.max(0, button.offsetLeft - 20), Math.max(0, track.clientWidth - clusterList.offsetWidth));
    clusterList.style.left = `${x}px`;
    const first = clusterList.querySelector(".tl-cluster-item");
    if (first) first.focus();
  }
  clusterList.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.stopPropagation(); closeList(); } });
  clusterList.addEventListener("pointerdown", (ev) => ev.stopPropagation());
  document.addEventListener("pointerdown", (ev) => { if (!clusterList.hidden && !clusterList.contains(ev.target)) closeList(); });

  /** Groups of marks (in time order) whose neighbours are closer than CLUSTER_PX, per row. */
  function clusters(e, width) {
    const out = [];
    for (const kind of ["intervention", "violation"]) {
      let group = null;
      let lastPx = -Infinity;
      for (const m of marks.filter((x) => x.kind === kind).sort((a, b) => a.t - b.t)) {
        const px = (m.t / e) * width;
        if (group && px - lastPx < CLUSTER_PX) group.push(m);
        else out.push((group = [m]));
        lastPx = px;
      }
    }
    return out;
  }

  function markButton(m, e) {
    const isIv = m.kind === "intervention";
    const action = isIv ? m.iv.action : null;
    const el = h("button", {
      type: "button",
      class: `tl-mark ${isIv ? "iv" : "violation"}${m.t > now() ? " ahead" : ""}`,
      style: { left: pct(m.t, e) },
      title: markTitle(m),
      "data-t": m.t,
      "data-kind": m.kind,
      "data-action": action || m.invariant,
      onpointerdown: (ev) => ev.stopPropagation(),
      onclick: () => seek(m.t),
    }, isIv ? GLYPH[action] || "●" : "⚠");
    el.style.setProperty("--mark", isIv ? COLOR[action] || PROTOCOL_COLOR : "#dc2626");
    return el;
  }

  function drawMarks(e) {
    const width = track.clientWidth || 1;
    closeList();
    const els = clusters(e, width).map((group) => {
      if (group.length === 1) return markButton(group[0], e);
      const m = group[0];
      const isIv = m.kind === "intervention";
      const mid = (group[0].t + group[group.length - 1].t) / 2;
      const el = h("button", {
        type: "button",
        class: `tl-mark tl-cluster ${isIv ? "iv" : "violation"}${m.t > now() ? " ahead" : ""}`,
        style: { left: pct(mid, e) },
        title: `${group.length} ${isIv ? "actions" : "violations"} here (${fmtTime(m.t)}–${fmtTime(group[group.length - 1].t)}): click for the list`,
        "aria-haspopup": "dialog",
        "data-t": m.t,
        "data-kind": m.kind,
        "data-count": group.length,
        onpointerdown: (ev) => ev.stopPropagation(),
        onclick: (ev) => openList(group, ev.currentTarget),
      }, group.length > 99 ? "99+" : String(group.length));
      el.style.setProperty("--mark", isIv ? COLOR[m.iv.action] || PROTOCOL_COLOR : "#dc2626");
      return el;
    });
    markLayer.replaceChildren(...els);
  }

  function render() {
    const e = end();
    const t = drag ? drag.t : now();
    const f = Math.max(frontier, now());
    past.style.width = pct(t, e);
    future.style.left = pct(t, e);
    future.style.width = pct(Math.max(0, f - t), e);
    head.style.left = pct(t, e);
    headLabel.textContent = fmtTime(t);
    head.setAttribute("aria-valuemax", String(e));
    head.setAttribute("aria-valuenow", String(t));
    endLabel.textContent = fmtTime(e);
    // markers: re-laid out when they change, when the scale moves by more than ~1%, or when "now" passes one
    const passed = marks.filter((m) => m.t > now()).length;
    const key = `${marks.length}:${Math.round(Math.log(e) * 100)}:${track.clientWidth}:${passed}`;
    if (key !== layoutKey) {
      layoutKey = key;
      drawMarks(e);
    }
    const behind = started && !state.viewer && serverT < frontier; // travelled back, not merely drawing behind
    root.classList.toggle("behind", behind);
    latest.style.visibility = behind ? "visible" : "hidden";
    latest.disabled = !behind;
    const ahead = marks.filter((m) => m.kind === "intervention" && m.t >= now()).length;
    status.textContent = drag ? `release to go to ${fmtTime(drag.t)}`
      : behind ? `⎇ Acting here forks the run (${ahead ? `drops ${ahead} later action${ahead === 1 ? "" : "s"}` : "replaces what came after"})`
        : state.viewer ? "" : "drag to travel back in time";
    back.disabled = state.viewer || !started;
    requestAnimationFrame(render);
  }
  requestAnimationFrame(render);
  setupLinkMarks(ext, track, markLayer, () => end());

  // --- travelling --------------------------------------------------------------------------------------
  function seek(t) {
    if (state.viewer || !started) return;
    wantT = t;
    if (!inFlight) {
      inFlight = true;
      wantT = null;
      sentT = t;
      ext.send({ type: "seek", t, id: "seek" });
    }
  }

  function stepBack() {
    if (state.viewer || !started) return;
    ext.send({ type: "step_back" });
  }

  track.addEventListener("pointerdown", (ev) => {
    if (state.viewer || !started || ev.button > 0) return;
    ev.preventDefault();
    track.setPointerCapture(ev.pointerId);
    drag = { t: tAt(ev.clientX) };
    root.classList.add("dragging");
    seek(drag.t); // scrub: the view follows the knob, one seek in flight at a time
  });
  track.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    drag.t = tAt(ev.clientX);
    seek(drag.t);
  });
  const finish = (ev) => {
    if (!drag) return;
    const t = ev && ev.type === "pointerup" ? tAt(ev.clientX) : drag.t;
    drag = null;
    root.classList.remove("dragging");
    seek(t);
  };
  track.addEventListener("pointerup", finish);
  track.addEventListener("pointercancel", finish);
  head.addEventListener("keydown", (ev) => {
    const stepMs = ev.shiftKey ? 1000 : 100;
    if (ev.key === "ArrowLeft") seek(Math.max(0, now() - stepMs));
    else if (ev.key === "ArrowRight") seek(Math.min(end(), now() + stepMs));
    else if (ev.key === "Home") seek(0);
    else if (ev.key === "End") seek(frontier);
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  });
  back.addEventListener("click", stepBack);
  latest.addEventListener("click", () => seek(frontier));
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]") || e.target === head) return;
    if (e.key === "ArrowLeft") {
      e.preventDefault();
      stepBack();
    }
  });

  // --- messages ------------------------------------------------------------------------------------------
  function setTimeline(tl) {
    if (!tl) return;
    marks = tl.marks.map((m) => ({ ...m }));
    frontier = tl.frontier;
    layoutKey = "";
  }

  function addMark(ev) {
    let m;
    if (ev.type === "intervention") {
      const iv = { ...ev };
      delete iv.t;
      delete iv.type;
      m = { t: ev.t, kind: "intervention", iv };
    } else if (ev.type === "rejected") {
      m = { t: ev.t, kind: "intervention", iv: ev.intervention, rejected: true };
    } else if (ev.type === "violation") {
      m = { t: ev.t, kind: "violation", invariant: ev.invariant, node: ev.node, details: ev.details };
    } else {
      return;
    }
    const same = (x) => x.t === m.t && x.kind === m.kind
      && (m.kind === "violation" ? x.invariant === m.invariant : x.iv.action === m.iv.action);
    if (marks.some(same)) return; // already known (a recorded future being replayed)
    marks.push(m);
  }

  function applySeek(msg) {
    const { feed } = ext;
    ext.replaceSnapshot(msg.snapshot, msg); // the stage and the view module start over from it
    for (const m of marks) {
      if (m.kind === "violation" && m.t < msg.t && !state.violations[m.invariant]) {
        state.violations[m.invariant] = { id: null, t: m.t, node: m.node, details: m.details || "" };
      }
    }
    // one line for a run of jumps (dragging the knob sends many): replace the previous one
    const top = feed.el.firstElementChild;
    if (top && top.dataset.travel) top.remove();
    feed.separator(msg.reason === "step_back" ? `◀ One event back · ${fmtTime(msg.t)}` : `↶ Travelled to ${fmtTime(msg.t)}`);
    if (feed.el.firstElementChild) feed.el.firstElementChild.dataset.travel = "1";
    ext.refresh();
  }

  function observe(msg) {
    switch (msg.type) {
      case "started":
        setTimeline(msg.timeline);
        if (!msg.timeline) frontier = msg.snapshot.t;
        serverT = msg.snapshot.t;
        if (!started && pendingT !== null && !msg.viewer) {
          ext.send({ type: "seek", t: pendingT, id: "seek" }); // a link with ?t=: open the run at that moment
          inFlight = true;
        }
        started = true;
        pendingT = null;
        break;
      case "frame":
        for (const ev of msg.events) addMark(ev);
        frontier = Math.max(frontier, msg.t);
        serverT = msg.t;
        break;
      case "seeked":
        setTimeline(msg.timeline);
        serverT = msg.t;
        applySeek(msg);
        inFlight = false;
        if (wantT !== null && wantT !== msg.t) seek(wantT);
        else wantT = null;
        break;
      case "timeline":
        setTimeline(msg);
        if (msg.forked) {
          const n = msg.forked.dropped;
          ext.toast(`⎇ Forked at ${fmtTime(msg.forked.t)}${n ? `: ${n} recorded action${n === 1 ? "" : "s"} after it dropped` : ""}. Share to keep this branch.`, "info");
        }
        break;
      case "error":
        if (msg.id === "seek") {
          // a seek cancelled by the page's own next message (docs/websocket.md, cost limits) is asked again
          const retry = msg.code === "cancelled" ? (wantT !== null ? wantT : sentT) : null;
          inFlight = false;
          wantT = null;
          if (retry !== null) seek(retry);
        }
        break;
      default:
    }
  }

  return {
    observe,
    seek, // go to moment t (ms) of this branch: a chart or a diagram can link to the timeline through it
    handles: ["seeked", "timeline"],
    startOptions() {
      if (!saved || state.preset !== saved) return {};
      if (!started && pendingT !== null) return { paused: true }; // then a seek to ?t=
      return { pause_at: saved.duration }; // a saved run plays to where it was saved, then pauses
    },
    get marks() {
      return marks;
    },
    get frontier() {
      return frontier;
    },
  };
}

/** Linked views (static/js/page/spacetime.js): the moment of what is under the pointer (a feed line, an arrow)
 * and of the selected message, as thin markers on the track; an intervention marker at that moment lights up. */
function setupLinkMarks(ext, track, markLayer, end) {
  const hover = h("div", { class: "tl-link", hidden: true });
  const chosen = h("div", { class: "tl-link sel", hidden: true });
  track.append(chosen, hover);
  function place(el, link) {
    el.hidden = !link || !Number.isFinite(link.t);
    if (!el.hidden) {
      el.style.left = `${Math.min(100, Math.max(0, (100 * link.t) / end())).toFixed(3)}%`;
      el.dataset.t = String(link.t);
    }
  }
  ext.on("link-hover", (link) => {
    place(hover, link);
    for (const el of markLayer.querySelectorAll(".tl-mark.linked")) el.classList.remove("linked");
    if (link && Number.isFinite(link.t)) for (const el of markLayer.querySelectorAll(`.tl-mark[data-t="${link.t}"]`)) el.classList.add("linked");
  });
  ext.on("link-select", (link) => place(chosen, link));
  ext.on("reset", () => { place(hover, null); place(chosen, null); });
}
