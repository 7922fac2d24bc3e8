// Gossip's view module (interface: docs/frontend.md). Rumour modes colour each node by what it knows of the
// rumour in focus (never heard / spreading / knows, quiet / older version), SWIM mode by what the rest of the
// cluster believes about it (alive / suspected / dead). Past 40 nodes the nodes sit on a grid, lose their
// labels, and the feed tells milestones instead of every node; the panel charts the fraction informed live.

import { h, fmtTime, listNodes, STAGE_TOP, crashZone, nodeRadius, stageFrame } from "../util.js";
import { createChart } from "../charts.js";

const C = {
  unheard: "#64748b", // slate: has not heard the rumour
  hot: "#f59e0b", // amber (light): knows it and still spreads it
  knows: "#15803d", // dark green: knows it, stopped spreading (lightness differs from amber for colour-blind eyes)
  stale: "#7c3aed", // violet: holds an older version
  alive: "#2563eb",
  suspect: "#f59e0b",
  dead: "#dc2626",
  quiet: "#cbd5e1", // a message that carries nothing new
};
const titles = new WeakMap(); // view -> cached tooltip
const BIG = 40; // above this many nodes: grid layout, no labels, milestone narration

// --- per-run state: made by reset (the lifecycle, docs/frontend.md) from the snapshot it is handed ----------
let run = null;
let panel = null; // from mount
let panelCtx = null;
let chartBox = null; // where the chart sits in the panel (kept when the panel's parts are rebuilt)
let chart = null; // rumour: the share of nodes that know it and still spread it; SWIM: suspected and dead

function fresh(snap) {
  return {
    n: snap.order.length,
    mode: modeOf(snap),
    focus: null, // rumour id in focus (the newest started, or the one clicked in the panel)
    pinned: false, // the user picked the focus
    best: {}, // rumour id -> newest version [counter, origin] seen anywhere
    ids: new WeakMap(), // view object -> node id (nodeColor gets only the view)
    verdict: {}, // SWIM: id -> "alive" | "suspect" | "dead" as the others see it
    milestones: {}, // "r1@1:50" -> true (narrated once)
    said: {}, // SWIM: "suspect n5 0" -> true (first suspicion / death / refutation narrated once)
    startedAt: {}, // "id@version" -> t it was started (from the intervention event)
    pick: null, // the live node the toolbar's buttons act on
  };
}

function modeOf(snap) {
  const first = snap.nodes[snap.order[0]];
  return first && "incarnation" in first ? "swim" : "rumor";
}

function vkey(entry, order) {
  // version order: counter, then the origin's index (the simulator's tie-break)
  return entry[0] * 1e6 + order.indexOf(entry[1]);
}

/** SWIM: id -> "alive" | "suspect" | "dead", as the live members see it. */
function verdictsOf(snap) {
  const verdict = {};
  for (const id of snap.order) verdict[id] = "alive";
  for (const id of snap.order) {
    const v = snap.nodes[id];
    if (v.status === "crashed") continue;
    for (const [m] of v.suspects) if (verdict[m] === "alive") verdict[m] = "suspect";
    for (const [m] of v.dead) verdict[m] = "dead";
  }
  return verdict;
}

/** Recompute what the colours need from the whole snapshot (called from update: once per frame at most). */
function scan(snap) {
  const r = run;
  r.n = snap.order.length;
  for (const id of snap.order) r.ids.set(snap.nodes[id], id);
  if (r.mode === "swim") {
    r.verdict = verdictsOf(snap);
    return;
  }
  const best = {};
  let newest = null;
  for (const id of snap.order) {
    const store = snap.nodes[id].store;
    for (const rid in store) {
      const e = store[rid];
      const b = best[rid];
      if (!b || vkey(e, snap.order) > vkey(b, snap.order)) best[rid] = e;
    }
  }
  r.best = best;
  if (!r.pinned || !(r.focus in best)) {
    if (!(r.focus in best)) r.focus = null;
    if (r.focus === null) {
      for (const rid in best) if (newest === null || rid > newest) newest = rid;
      r.focus = newest;
    }
  }
}

/** What `view` knows of the rumour in focus: "unheard" | "hot" | "knows" | "stale". */
function knowledge(view) {
  const r = run;
  const rid = r && r.focus;
  if (!rid) return "unheard";
  const e = view.store[rid];
  if (!e) return "unheard";
  const b = r.best[rid];
  if (b && (e[0] !== b[0] || e[1] !== b[1])) return "stale";
  return view.hot.includes(rid) ? "hot" : "knows";
}

function counts(snap) {
  const c = { unheard: 0, hot: 0, knows: 0, stale: 0, crashed: 0, up: 0 };
  for (const id of snap.order) {
    const v = snap.nodes[id];
    if (v.status === "crashed") c.crashed += 1;
    else c.up += 1;
    c[knowledge(v)] += 1;
  }
  return c;
}

function hasNews(msg) {
  return (msg.updates && msg.updates.length > 0) || (msg.knew && msg.knew.length > 0);
}

// --- the chart (static/js/charts.js) --------------------------------------------------------------------
/** What the chart measures in `snap`: rumour modes, the share of nodes that know the rumour in focus and the
 * share still spreading it (when spreading stops short of everyone, the gap is the residue); SWIM, how many
 * members are suspected and declared dead. */
function measure(snap) {
  if (run.mode === "swim") {
    const verdict = verdictsOf(snap);
    let suspect = 0;
    let dead = 0;
    for (const id of snap.order) {
      if (verdict[id] === "suspect") suspect += 1;
      else if (verdict[id] === "dead") dead += 1;
    }
    return [suspect, dead];
  }
  if (!run.focus) return [0, 0];
  const c = counts(snap);
  return [(c.hot + c.knows) / snap.order.length, c.hot / snap.order.length];
}

function chartFor(snap) {
  const sc0 = panelCtx.scenario;
  const key = `${snap.order.length}|${snap.order[0]}|${run.mode}|${sc0 && sc0.params && sc0.params.mode}`;
  if (chart && chart.key === key) return chart;
  if (chart) chart.destroy();
  const swim = run.mode === "swim";
  const sc = panelCtx.scenario;
  const entropy = !!(sc && sc.params && sc.params.mode === "anti_entropy"); // everyone spreads, always
  const series = swim
    ? [{ label: "suspected", color: C.suspect }, { label: "declared dead", color: C.dead }]
    : [{ label: "know the rumour", color: C.knows }, { label: "still spreading it", color: C.hot, dash: [6, 4] }];
  if (entropy) series.pop();
  chart = createChart(chartBox, {
    name: "gossip",
    title: swim ? "Members" : "Share of nodes",
    series,
    y: swim ? { max: 4 } : { percent: true },
    measure: (s) => measure(s).slice(0, series.length),
    now: () => panelCtx.now,
    seek: panelCtx.seek,
  });
  chart.key = key;
  return chart;
}

// --- panel pieces ------------------------------------------------------------------------------------
/** A count of nodes, in a box as wide as the largest count of this run (`of`), so that the row's width, and where
 * it wraps, does not change with the numbers while the run plays (the panel would change height). */
function stat(color, text, value, of) {
  return h("span", { class: "gossip-stat" }, h("span", { class: "dot", style: { background: color } }),
    text, h("b", { style: { display: "inline-block", minWidth: `${String(of).length}ch`, fontVariantNumeric: "tabular-nums" } },
      String(value)));
}

function fill(el, ...children) {
  el.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

/** The panel's parts, built once per mode and then only updated (the chart's box is kept across modes). */
function parts(el, mode) {
  let p = el._gossip;
  if (!p || p.mode !== mode || !el.contains(chartBox)) {
    p = {
      mode,
      title: h("div", { class: "panel-title" }),
      chips: h("div", { class: "gossip-chips" }),
      body: h("div", { class: "gossip-stats" }),
      note: h("div", { class: "gossip-note" }),
      chipKey: "",
    };
    el._gossip = p;
    el.replaceChildren(p.title, p.chips, p.body, chartBox, p.note);
  }
  return p;
}

function rumorPanel(el, snap) {
  const r = run;
  const p = parts(el, "rumor");
  const c = counts(snap);
  const frac = r.focus ? (c.hot + c.knows) / r.n : 0;
  const rids = Object.keys(r.best).sort();
  const chipKey = rids.length > 1 ? `${rids.join(",")}|${r.focus}` : "";
  if (chipKey !== p.chipKey) {
    p.chipKey = chipKey;
    fill(p.chips, ...(rids.length > 1 ? ["focus:", ...rids.map((rid) => h("button", {
      class: `btn gossip-chip${rid === r.focus ? " active" : ""}`,
      title: `colour the nodes by rumour ${rid}`,
      onclick: () => {
        r.focus = rid;
        r.pinned = true;
        if (chart) chart.clear(); // the chart follows the rumour in focus
      },
    }, rid))] : []));
  }
  const best = r.focus ? r.best[r.focus] : null;
  const title = r.focus
    ? [`Rumour ${r.focus}`, best && best[0] > 1 ? ` v${best[0]}` : "", best ? ` “${best[2]}”` : ""].join("")
    : "No rumour yet";
  const msgs = snap.messages.length;
  // the live figures on a line of their own: beside the title, their changing width made the title wrap and
  // unwrap while the run played (the panel's height, and the feed's below it, changed with the numbers)
  fill(p.title, title,
    h("span", { class: "panel-legend", style: { flexBasis: "100%" } },
      `${Math.round(frac * 1000) / 10}% informed · ${msgs} message${msgs === 1 ? "" : "s"} in flight`));
  fill(p.body,
    stat(C.unheard, "never heard", c.unheard, r.n),
    stat(C.hot, "spreading", c.hot, r.n),
    stat(C.knows, "knows, quiet", c.knows, r.n),
    c.stale ? stat(C.stale, "older version", c.stale, r.n) : null,
    c.crashed ? stat("#cbd5e1", "crashed", c.crashed, r.n) : null);
  const note = r.focus ? noteFor(c, snap.net) : "Start one with “+ New rumour” or a node's menu.";
  if (p.note.textContent !== note) p.note.textContent = note;
}

function noteFor(c, net) {
  const islands = (net && net.partition) || [];
  if (c.unheard > 0 && islands.length > 1) {
    return `Split into ${islands.length} islands: the rumour cannot cross until the partition heals.`;
  }
  if (c.hot === 0 && c.unheard > 0) {
    return `Nobody spreads it any more: ${c.unheard} node${c.unheard === 1 ? "" : "s"} will never hear it (the residue), unless anti-entropy runs.`;
  }
  if (c.unheard === 0 && c.stale === 0) return "Everyone knows.";
  return "Each round every spreading node contacts random peers: the classic epidemic S-curve.";
}

function swimPanel(el, snap) {
  const r = run;
  const p = parts(el, "swim");
  const rows = [];
  let suspected = 0;
  let dead = 0;
  for (const id of snap.order) {
    const verdict = r.verdict[id];
    if (verdict === "suspect") suspected += 1;
    if (verdict === "dead") dead += 1;
  }
  for (const id of snap.order) {
    const verdict = r.verdict[id];
    const v = snap.nodes[id];
    if (verdict === "alive" && v.incarnation === 0 && v.status === "up") continue;
    let by = 0;
    for (const other of snap.order) {
      const o = snap.nodes[other];
      if (other === id || o.status === "crashed") continue;
      if ((verdict === "dead" ? o.dead : o.suspects).some((e) => e[0] === id)) by += 1;
    }
    rows.push(h("tr", { dataset: { node: id } },
      h("th", {}, id, v.status === "up" ? null : h("small", { class: "gossip-status" }, ` ${v.status}`)),
      h("td", {}, h("span", { class: "dot", style: { background: C[verdict] } }), " ",
        verdict === "alive" ? "alive" : `${verdict === "dead" ? "dead" : "suspected"} (${by})`),
      h("td", {}, String(v.incarnation))));
    if (rows.length >= 12) break;
  }
  fill(p.title, "Membership",
    h("span", { class: "panel-legend" }, `${snap.order.length - suspected - dead} alive · ${suspected} suspected · ${dead} dead`));
  fill(p.body, rows.length
    ? h("table", { class: "view-table gossip-members" },
      h("thead", {}, h("tr", {}, h("th", {}, "member"), h("th", {}, "seen as (by how many)"),
        h("th", { title: "incarnation number" }, "inc."))),
      h("tbody", {}, rows))
    : h("div", { class: "gossip-note" }, "Everyone is alive in everyone's eyes. Crash or pause a node to see SWIM notice."));
  const note = "Each member pings one random member per second; no ack, even through others: suspect; "
    + "no refutation before the timeout: dead.";
  if (p.note.textContent !== note) p.note.textContent = note;
}

// --- narration helpers ---------------------------------------------------------------------------------
function storeChanged(ev, before) {
  const r = run;
  const id = ev.node;
  const b = before.nodes[id];
  const store = ev.changes.store;
  const out = [];
  for (const rid in store) {
    const e = store[rid];
    const old = b.store[rid];
    if (!old || old[0] !== e[0] || old[1] !== e[1]) out.push([rid, e, old]);
  }
  return out;
}

function milestone(ev, before, rid) {
  // called after a node learned `rid`: count who knows the newest version now
  const r = run;
  const best = r.best[rid];
  if (!best) return null;
  let know = 0;
  let up = 0;
  for (const id of before.order) {
    const v = id === ev.node ? { ...before.nodes[id], ...ev.changes } : before.nodes[id];
    if (v.status !== "crashed") up += 1;
    const e = v.store[rid];
    if (e && e[0] === best[0] && e[1] === best[1]) know += 1;
  }
  const pct = Math.floor((know / r.n) * 100);
  for (const mark of [100, 90, 50, 10]) {
    if (pct >= mark) {
      const key = `${rid}@${best[0]}:${mark}`;
      if (r.milestones[key]) return null;
      for (const m of [10, 50, 90, 100]) if (m <= mark) r.milestones[`${rid}@${best[0]}:${m}`] = true;
      const since = r.startedAt[`${rid}@${best[0]}`];
      const after = since !== undefined ? ` after ${fmtTime(ev.t - since)}` : "";
      if (mark === 100) return `Everyone knows ${rid}${after}`;
      return `${mark}% of the nodes know ${rid}${after}`;
    }
  }
  return null;
}

// --- layout ---------------------------------------------------------------------------------------
/**
 * A grid filling the stage, clear of the crash zone and the legend. Positions are in the page's layout units
 * (0..1 across the square the page draws its circle in), computed with the page's own geometry helpers
 * (util.js: crashZone, nodeRadius, stageFrame), so the grid follows the page if its geometry changes.
 */
function gridLayout(order) {
  const n = order.length;
  const svg = document.querySelector("#topology");
  const rect = svg ? svg.getBoundingClientRect() : { width: 800, height: 600, top: 0 };
  const W = Math.max(200, rect.width);
  const H = Math.max(200, rect.height);
  const r = gridRadius(W, H, n);
  const { side, cx, cy } = stageFrame(W, H, r, crashZone(W, H)); // the page's frame(): where layout units map
  const { box, corner, d, cols, rows } = gridFor(W, H, n, r, rect, svg);
  // centre the used block horizontally and vertically in the box
  const used = Math.ceil(n / cols);
  const offX = (box.x1 - box.x0 - (cols - 1) * d) / 2;
  const offY = Math.max(0, (box.y1 - box.y0 - (Math.min(rows, used + 1) - 1) * d) / 2);
  const out = {};
  let k = 0;
  for (let j = 0; j < rows && k < n; j++) {
    const y = box.y0 + offY + j * d;
    for (let i = 0; i < cols && k < n; i++) {
      const x = box.x0 + offX + i * d;
      if (x > corner.x && y > corner.y) continue;
      out[order[k++]] = [(x - cx) / side + 0.5, (y - cy) / side + 0.5];
    }
  }
  return out;
}

/** The widest square grid of `n` nodes of radius `r` that fits the stage (pixels): the box it fills, the crash
 * zone's corner it keeps clear of, the spacing `d` and the columns and rows. */
function gridFor(W, H, n, r, rect = { top: 0 }, svg = null) {
  const crash = crashZone(W, H);
  // the box to fill: below the hint line, above the legend, clear of the crash zone's corner
  const below = (sel, fallback) => {
    const el = document.querySelector(sel);
    return el && svg ? el.getBoundingClientRect() : fallback;
  };
  const hint = below(".stage-hint", { bottom: rect.top + STAGE_TOP });
  const legend = below("#legend", { top: rect.top + H - 64 });
  const y0 = Math.max(STAGE_TOP, hint.bottom - rect.top + 4) + r;
  const y1 = Math.min(H - 40, legend.top - rect.top - 6) - r;
  const box = { x0: 12 + r, x1: W - 12 - r, y0, y1: Math.max(y0 + 4 * r, y1) };
  const corner = { x: crash.x - r - 6, y: crash.y - r - 6 };
  const fits = (d) => {
    let count = 0;
    const cols = Math.floor((box.x1 - box.x0) / d) + 1;
    const rows = Math.floor((box.y1 - box.y0) / d) + 1;
    for (let j = 0; j < rows; j++) {
      const y = box.y0 + j * d;
      for (let i = 0; i < cols; i++) if (!(box.x0 + i * d > corner.x && y > corner.y)) count += 1;
    }
    return count >= n ? { cols, rows } : null;
  };
  let lo = 1;
  let hi = Math.max(2, Math.min(box.x1 - box.x0, box.y1 - box.y0));
  for (let k = 0; k < 30; k++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return { box, corner, d: lo, ...fits(lo) };
}

/** Node radius on the grid: the page's usual radius, smaller when the grid is too tight for it, so that
 * neighbours never hide each other (1,000 nodes on a 1024 x 768 projector). */
function gridRadius(W, H, n) {
  const r = nodeRadius(W, H, n);
  if (n <= BIG) return r;
  const svg = document.querySelector("#topology");
  const { d } = gridFor(W, H, n, r, svg ? svg.getBoundingClientRect() : { top: 0 }, svg);
  return d >= 2 * r ? r : Math.max(3, d * 0.46);
}

export default {
  name: "gossip",

  // one legend for both modes (the page draws it once, before the mode is known); amber means "spreading" in
  // rumour modes and "suspected" in SWIM
  roleLegend: [
    { label: "never heard", color: C.unheard },
    { label: "spreading · suspected", color: C.hot },
    { label: "knows", color: C.knows },
    { label: "older version", color: C.stale },
    { label: "alive", color: C.alive },
    { label: "dead", color: C.dead },
  ],

  layout(order) {
    if (order.length <= BIG) return null; // the page's circle
    return gridLayout(order);
  },

  nodeRadius: gridRadius,

  nodeColor(view) {
    if ("incarnation" in view) {
      const id = run && run.ids.get(view);
      return C[(id && run.verdict[id]) || "alive"];
    }
    return C[knowledge(view)];
  },

  nodeBadge(view) {
    if ("incarnation" in view) return view.incarnation > 0 ? `i${view.incarnation}` : null;
    return null;
  },

  nodeLabel(id) {
    return run && run.n > BIG ? "" : id;
  },

  nodeTitle(id, view) {
    if ("incarnation" in view) {
      const lines = [`${id} (${view.status}) · incarnation ${view.incarnation}`];
      if (view.suspects.length) lines.push(`suspects: ${view.suspects.map((e) => e[0]).join(", ")}`);
      if (view.dead.length) lines.push(`believes dead: ${view.dead.map((e) => e[0]).join(", ")}`);
      return lines.join("\n");
    }
    // called for every node on every frame: cached until the node's store, hot list or status change (the
    // page replaces those objects when they change)
    const c = titles.get(view);
    if (c && c.store === view.store && c.hot === view.hot && c.status === view.status) return c.text;
    const rumors = Object.entries(view.store).map(([rid, e]) => `${rid} v${e[0]} “${e[2]}”${view.hot.includes(rid) ? " (spreading)" : ""}`);
    const text = `${id} (${view.status})\n${rumors.length ? rumors.join("\n") : "has heard nothing yet"}`;
    titles.set(view, { store: view.store, hot: view.hot, status: view.status, text });
    return text;
  },

  messageColor(msg) {
    switch (msg.kind) {
      case "push":
      case "pushpull":
        return hasNews(msg) ? C.hot : C.quiet;
      case "reply":
        return msg.updates && msg.updates.length ? C.hot : C.quiet;
      case "pull":
        return "#94a3b8";
      case "feedback":
        return "#0f766e";
      case "ping":
        return C.alive;
      case "ack":
        return C.knows;
      case "ping_req":
        return "#7c3aed";
      case "gossip":
        return C.suspect;
      default:
        return "#64748b";
    }
  },

  messageLabel(msg) {
    if (run && run.n > BIG) return null;
    const news = msg.updates && msg.updates.length ? `+${msg.updates.length}` : "";
    switch (msg.kind) {
      case "push":
        return `push${news}`;
      case "pull":
        return "pull?";
      case "pushpull":
        return `⇄${news}`;
      case "reply":
        return `reply${news}`;
      case "feedback":
        return "knew";
      case "ping":
        return news ? `ping${news}` : "ping";
      case "ack":
        return news ? `ack${news}` : "ack";
      case "ping_req":
        return `req ${msg.target}`;
      case "gossip":
        return `gsp${news}`;
      default:
        return null;
    }
  },

  narrate(ev, before) {
    const r = run;
    const big = r.n > BIG;
    if (chart) chart.sample(before);
    if (ev.type === "intervention") {
      if (ev.action !== "rumor") return null;
      r.startedAt[`${ev.id}@${ev.version}`] = ev.t;
      if (ev.node === r.pick) r.pick = null; // the next click starts elsewhere
      if (!r.pinned) r.focus = ev.id;
      r.best[ev.id] = [ev.version, ev.node, ev.value];
      if (chart && !r.pinned) chart.clear(); // the chart follows the rumour in focus: the new one
      return ev.version > 1
        ? `${ev.node} updated rumour ${ev.id} to version ${ev.version}: “${ev.value}”; the newer version replaces the old one as it spreads`
        : `${ev.node} started rumour ${ev.id}: “${ev.value}”`;
    }
    if (ev.type !== "state") return null;
    const ch = ev.changes;
    const id = ev.node;
    if (r.mode === "swim" && "incarnation" in ch && ch.incarnation > before.nodes[id].incarnation) {
      const key = `alive ${id} ${ch.incarnation}`;
      if (r.said[key]) return null;
      r.said[key] = true;
      return ch.status === "up" && before.nodes[id].status === "crashed"
        ? `${id} rejoins with incarnation ${ch.incarnation}, which outranks whatever the others concluded about it`
        : `${id} heard it is suspected and refutes: “alive, incarnation ${ch.incarnation}”`;
    }
    if ("status" in ch) return null; // crash / restart / pause / resume: the page says it
    if (r.mode === "swim") {
      const b = before.nodes[id];
      if (ch.dead) {
        for (const [m, inc] of ch.dead) {
          if (b.dead.some((e) => e[0] === m)) continue;
          const key = `dead ${m} ${inc}`;
          if (r.said[key]) continue;
          r.said[key] = true;
          const wasSuspect = b.suspects.some((e) => e[0] === m);
          return wasSuspect
            ? `${id} declares ${m} dead: no refutation within the suspicion timeout`
            : `${id} learns that ${m} is dead`;
        }
      }
      if (ch.suspects) {
        for (const [m, inc] of ch.suspects) {
          if (b.suspects.some((e) => e[0] === m)) continue;
          const key = `suspect ${m} ${inc}`;
          if (r.said[key]) continue;
          r.said[key] = true;
          return `${id} suspects ${m}: no ack to its ping, nor through the others (ping-req)`;
        }
        for (const [m] of b.suspects) {
          if (ch.suspects.some((e) => e[0] === m) || (ch.dead || []).some((e) => e[0] === m)) continue;
          const key = `cleared ${m}`;
          if (r.said[key]) continue;
          r.said[key] = true;
          return `${id} drops its suspicion of ${m}: a higher incarnation proves it alive`;
        }
      }
      return null;
    }
    if (ch.store) {
      const learned = storeChanged(ev, before);
      for (const [rid, e] of learned) {
        const b = r.best[rid];
        if (!b || vkey(e, before.order) > vkey(b, before.order)) r.best[rid] = e;
      }
      if (!learned.length) return null;
      const [rid, e, old] = learned[0];
      const m = milestone(ev, before, rid);
      if (big) return m;
      if (e[1] === id && e[0] === 1 && !old) return m; // its own rumour: the intervention said it
      const text = old
        ? `${id} replaced ${rid} v${old[0]} with v${e[0]} “${e[2]}”`
        : `${id} heard ${rid}${(ch.hot || []).includes(rid) ? " and starts spreading it" : ""}`;
      return m ? `${text}. ${m}` : text;
    }
    if (ch.hot) {
      const lost = before.nodes[id].hot.filter((rid) => !ch.hot.includes(rid));
      const still = ch.hot.length > 0 || before.order.some((other) => other !== id
        && before.nodes[other].status !== "crashed" && before.nodes[other].hot.length);
      if (lost.length && !still) {
        // the last spreader going quiet: the residue is now fixed
        let unheard = 0;
        for (const other of before.order) if (knowledge(before.nodes[other]) === "unheard") unheard += 1;
        return unheard
          ? `${id} was the last to lose interest: the rumour died out, and ${unheard} of ${r.n} nodes never heard it (the residue)`
          : `${id} was the last to lose interest: the rumour died out after reaching everyone`;
      }
      if (lost.length && !big) return `${id} lost interest in ${listNodes(lost)}: its stop rule fired`;
    }
    return null;
  },

  mount(el, pageCtx) {
    panel = el;
    panelCtx = pageCtx;
    chartBox = h("div", { class: "gossip-chartbox" });
  },

  reset(snap) {
    run = fresh(snap);
    scan(snap);
    chartFor(snap).reset(snap); // the chart keeps the branch's past up to this moment
  },

  unmount() {
    if (chart) chart.destroy();
    chart = null;
    panel.replaceChildren();
    panel._gossip = null;
  },

  update(snap) {
    scan(snap);
    chartFor(snap).update(snap);
    if (run.mode === "swim") swimPanel(panel, snap);
    else rumorPanel(panel, snap);
  },

  nodeMenu(id, view) {
    if (view.status !== "up" || "incarnation" in view) return [];
    const items = [{ label: "Start a new rumour here", intervention: { action: "rumor", node: id } }];
    const focus = run && run.focus;
    if (focus) items.push({ label: `Update ${focus} here (new version)`, intervention: { action: "rumor", node: id, id: focus } });
    return items;
  },

  toolbar(snap) {
    const r = run;
    const up = snap.order.filter((id) => snap.nodes[id].status === "up");
    if (!r.pick || snap.nodes[r.pick].status !== "up") {
      r.pick = up.length ? up[Math.floor(Math.random() * up.length)] : null; // a stable pick, shown on the button
    }
    const pick = r.pick;
    if (r.mode === "swim") {
      const paused = snap.order.find((id) => snap.nodes[id].status === "paused");
      return [
        { label: pick ? `☠ Crash ${pick}` : "☠ Crash", title: "SWIM should suspect it, then declare it dead",
          intervention: { action: "crash", node: pick }, disabled: !pick || up.length < 3 },
        paused
          ? { label: `▶ Resume ${paused}`, title: "it wakes, reads the suspicion and refutes it",
              intervention: { action: "resume", node: paused } }
          : { label: pick ? `❚❚ Pause ${pick}` : "❚❚ Pause", title: "a long GC pause: it gets suspected",
              intervention: { action: "pause", node: pick }, disabled: !pick || up.length < 3 },
      ];
    }
    const items = [{ label: pick ? `+ New rumour at ${pick}` : "+ New rumour", title: "a live node starts a new rumour",
                     intervention: { action: "rumor", node: pick }, disabled: !pick }];
    if (r.focus) {
      items.push({ label: pick ? `↻ Update ${r.focus} at ${pick}` : `↻ Update ${r.focus}`,
                   title: `a live node writes a newer version of ${r.focus}`,
                   intervention: { action: "rumor", node: pick, id: r.focus }, disabled: !pick });
    }
    return items;
  },
};
