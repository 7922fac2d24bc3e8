// Paxos's view module (interface: docs/frontend.md). Three columns: proposers, acceptors, learners. Proposers are
// coloured by phase, acceptors by the proposer whose ballot they promised (so you can see whose ballot holds a
// majority), learners show what they learned in their badge. The panel shows the chosen value, each proposer's phase, and every acceptor's
// promise and accepted proposal (Multi-Paxos: the log, slot by slot).

import { h, listNodes, crashZone, nodeRadius, stageFrame } from "../util.js";
import { createChart } from "../charts.js";

const PHASE_COLORS = {
  idle: "#2563eb",
  follower: "#2563eb",
  prepare: "#f59e0b",
  accept: "#7c3aed",
  backoff: "#0891b2",
  done: "#16a34a",
  leading: "#16a34a",
};
const PHASE_NAMES = {
  idle: "idle",
  follower: "follower",
  prepare: "phase 1: prepare",
  accept: "phase 2: accept",
  backoff: "backing off",
  done: "knows the value",
  leading: "leader ★",
};
const ACCEPTOR_IDLE = "#475569";
const LEARNER = "#0f766e";
const NOOP = "no-op";

const MESSAGE_COLORS = {
  prepare: "#f59e0b",
  promise: "#16a34a",
  nack: "#dc2626",
  accept: "#7c3aed",
  accepted: "#0891b2",
  decide: "#15803d",
  heartbeat: "#94a3b8",
  forward: "#2563eb",
  "learn?": "#b45309",
  report: "#0e7490",
  learned: "#15803d",
  commit: "#94a3b8",
};

const roleOf = (id) => ({ p: "proposer", a: "acceptor", l: "learner" })[id[0]];
const fmtBallot = (b) => (b ? `${b[0]}.${b[1]}` : "—");
// A ballot is coloured by the proposer that owns it (p1 pink, p2 brown, ...): an acceptor's colour shows whose
// ballot it has promised, and in a duel you watch the acceptors flip between the two.
const OWNER_COLORS = ["#db2777", "#92400e", "#4d7c0f", "#9f1239", "#0f172a", "#c2410c", "#6b21a8", "#115e59", "#854d0e"];
const ownerColor = (n) => OWNER_COLORS[(n - 1) % OWNER_COLORS.length];
const ballotColor = (b) => (b ? ownerColor(b[1]) : ACCEPTOR_IDLE);
const q = (v) => (v === NOOP ? "a no-op" : `“${v}”`);
const short = (v) => (v === NOOP ? "∅" : String(v).length > 4 ? `${String(v).slice(0, 3)}…` : String(v));

// Single-decree or Multi-Paxos: the run's params.multi, read by reset (the lifecycle, docs/frontend.md).
let multiMode = false;
const isMulti = () => multiMode;

// lifecycle: the panel element and the page's context, from mount
let panel = null;
let ctx = null;
let body = null; // the panel's part redrawn at each update; the chart below it stays
let chart = null; // ballots per proposer and slots chosen over time (static/js/charts.js)

/** A chart for this run's proposers (made again only when the nodes or the mode change: a new run). */
function chartFor(snap) {
  const proposers = snap.order.filter((id) => id[0] === "p");
  const key = `${snap.order.join(",")}|${multiMode}`;
  if (chart && chart.key === key) return chart;
  if (chart) chart.destroy();
  chart = createChart(panel, {
    name: "paxos",
    title: "Ballot round",
    series: [
      ...proposers.map((id) => ({ label: id, color: ownerColor(Number(id.slice(1)) || 1) })),
      { label: multiMode ? "slots chosen (right axis)" : "chosen (right axis)", color: "#15803d", scale: "y2",
        dash: [6, 4], width: 2.5 },
    ],
    y2: {},
    measure: (s) => [
      ...proposers.map((id) => (s.nodes[id].ballot ? s.nodes[id].ballot[0] : 0)),
      learnedCount(chosenOf(s, { p: proposers, a: [], l: s.order.filter((id) => id[0] === "l") })),
    ],
    now: () => ctx.now,
    seek: ctx.seek,
  });
  chart.key = key;
  return chart;
}

// How a learner learned a slot (its `learned_from`): from the acceptors' accepted messages or a proposer's decide
// as they happened, or by catching up: "acceptors" (a majority reported one ballot) or the id of a node that knew.
const caughtUp = (how) => how !== undefined && how !== null && how !== "accepted" && how !== "decide";
function howLearned(how) {
  if (how === "accepted") return "a majority's accepted messages";
  if (how === "decide") return "a proposer's decide";
  if (how === "acceptors") return "asked: a majority of acceptors reported one ballot";
  return how ? `asked: ${how} knew it` : "";
}

function learnedCount(list) {
  return (list || []).filter((v) => v !== null && v !== undefined).length;
}

function timerLength(ch, name) {
  const t = ch.timers && ch.timers[name];
  return t ? t[1] - t[0] : null;
}

export default {
  name: "paxos",

  // read once when the page loads: shorter on a phone, where the legend lies over the topology
  get roleLegend() {
    const narrow = typeof window !== "undefined" && window.innerWidth < 600;
    return [
      { label: "phase 1", color: PHASE_COLORS.prepare },
      { label: "phase 2", color: PHASE_COLORS.accept },
      { label: narrow ? "backoff" : "backing off", color: PHASE_COLORS.backoff },
      { label: "idle", color: PHASE_COLORS.idle },
      { label: narrow ? "done" : "done · leader", color: PHASE_COLORS.done },
      { label: narrow ? "p1's" : "promised p1", color: OWNER_COLORS[0] },
      { label: narrow ? "p2's" : "promised p2", color: OWNER_COLORS[1] },
      { label: "learner", color: LEARNER },
    ];
  },

  nodeColor(view) {
    if (view.role === "proposer") return PHASE_COLORS[view.phase] || PHASE_COLORS.idle;
    if (view.role === "acceptor") return ballotColor(view.promised);
    return LEARNER; // what it learned is in its badge
  },

  nodeBadge(view) {
    if (view.role === "proposer") {
      if (view.phase === "leading") return `★${fmtBallot(view.ballot)}`;
      return view.ballot ? fmtBallot(view.ballot) : null;
    }
    if (view.role === "acceptor") return view.promised ? fmtBallot(view.promised) : null;
    const n = learnedCount(view.learned);
    if (!n) return view.asking ? "?" : null;
    return view.learned.length === 1 ? short(view.learned[0]) : `${n}✓`;
  },

  nodeTitle(id, view) {
    const lines = [`${id}: ${view.role} (${view.status})`];
    if (view.role === "proposer") {
      lines.push(`${PHASE_NAMES[view.phase] || view.phase} · ballot ${fmtBallot(view.ballot)}`);
      if (view.value !== null && view.value !== undefined) lines.push(`its own value: ${q(view.value)}`);
      if (view.proposal !== null && view.proposal !== undefined) lines.push(`proposing: ${q(view.proposal)}`);
      if (view.promises && view.promises.length) lines.push(`promises: ${view.promises.join(", ")}`);
      if (view.leader) lines.push(`leader: ${view.leader}`);
      if (view.pending && view.pending.length) lines.push(`waiting values: ${view.pending.join(", ")}`);
      if (learnedCount(view.chosen)) lines.push(`knows chosen: ${view.chosen.map((v) => (v === null ? "?" : v)).join(" ")}`);
    } else if (view.role === "acceptor") {
      lines.push(`promised: ${fmtBallot(view.promised)}`);
      view.accepted.forEach((e, i) => {
        if (e) lines.push(`slot ${i + 1}: accepted ${q(e[1])} at ballot ${fmtBallot(e[0])}`);
      });
      if (!learnedCount(view.accepted)) lines.push("has accepted nothing");
    } else {
      lines.push(learnedCount(view.learned)
        ? `learned: ${view.learned.map((v) => (v === null ? "?" : v)).join(" ")}`
        : "has learned nothing yet");
      const from = view.learned_from || [];
      if (from.length === 1 && from[0]) lines.push(`from ${howLearned(from[0])}`);
      else if (from.some(caughtUp)) lines.push(`caught up by asking: slot ${from.map((f, i) => (caughtUp(f) ? i + 1 : null)).filter((x) => x).join(", ")}`);
      if (view.asking) lines.push("misses something: asks the acceptors, learners and proposers (learn?)");
    }
    return lines.join("\n");
  },

  timerColor(name) {
    return { retry: "#b45309", backoff: "#0891b2", election: "#334155" }[name] || "#334155";
  },

  messageColor(msg) {
    return MESSAGE_COLORS[msg.kind] || "#64748b";
  },

  messageLabel(msg) {
    switch (msg.kind) {
      case "prepare":
        return `P${fmtBallot(msg.ballot)}`;
      case "promise":
        return msg.accepted && msg.accepted.length === 1 ? `✓${short(msg.accepted[0][2])}` : "✓";
      case "nack":
        return "✗";
      case "accept":
        return `${short(msg.value)}?`;
      case "accepted":
        return `✓${short(msg.value)}`;
      case "decide":
        return `★${short(msg.value)}`;
      case "forward":
        return `→${short(msg.value)}`;
      case "learn?":
        return "?";
      case "report":
        return msg.accepted && msg.accepted.length === 1 ? `${short(msg.accepted[0][2])}@${fmtBallot(msg.accepted[0][1])}`
          : msg.accepted && msg.accepted.length ? `${msg.accepted.length}✓` : "–";
      case "learned":
        return msg.learned && msg.learned.length === 1 ? `★${short(msg.learned[0][1])}` : `★${(msg.learned || []).length}`;
      default:
        return null; // heartbeats are routine
    }
  },

  narrate(ev, before) {
    if (chart) chart.sample(before);
    if (ev.type === "intervention") {
      if (ev.action !== "propose") return null;
      const v = q(ev.value);
      switch (ev.result) {
        case "forwarded":
          return `A client gives ${v} to ${ev.node}, which is not the leader: it forwards it to leader ${ev.leader_hint}`;
        case "queued":
          return `A client gives ${v} to ${ev.node}, which knows no leader: it keeps the value and tries to lead`;
        default:
          return ev.slot
            ? `A client gives ${v} to leader ${ev.node}: slot ${ev.slot}, phase 2 only (phase 1 is already done)`
            : `A client asks ${ev.node} to propose ${v}`;
      }
    }
    if (ev.type !== "state") return null;
    const ch = ev.changes;
    const id = ev.node;
    if (roleOf(id) === "learner" && ch.status === "up" && ch.asking) {
      return `${id} is back up and may have missed decisions: it asks the acceptors, the other learners and the proposers (learn?)`;
    }
    if ("status" in ch) return null; // crash / restart: the page says it
    const b = before.nodes[id];
    const multi = isMulti();
    const role = roleOf(id);
    if (role === "proposer") return narrateProposer(id, ch, ev.splice || {}, b, multi);
    if (role === "acceptor") {
      const sp = ev.splice && ev.splice.accepted;
      if (!sp || multi) return null; // Multi-Paxos: the log in the panel tells it without flooding the feed
      const entry = sp[1][sp[1].length - 1];
      if (!entry) return null;
      return `${id} accepted ${q(entry[1])} at ballot ${fmtBallot(entry[0])}`;
    }
    const sp = ev.splice && ev.splice.learned;
    if (!sp) {
      if (ch.asking === true) {
        return multi ? `${id} knows of slots it has not learned: it asks the acceptors, the other learners and the proposers (learn?)`
          : `${id} has not learned a value yet: it asks the acceptors, the other learners and the proposers (learn?)`;
      }
      return null;
    }
    const i = sp[0] + sp[1].length - 1;
    const value = sp[1][sp[1].length - 1];
    const fsp = ev.splice.learned_from;
    const how = fsp ? fsp[1].slice(sp[0] - fsp[0]) : [];
    const asked = how.map((f, k) => (caughtUp(f) && sp[1][k] !== null ? k : -1)).filter((k) => k >= 0);
    if (asked.length) {
      const last = how[asked[asked.length - 1]];
      const why = last === "acceptors" ? "a majority of acceptors reported accepting it at one ballot"
        : `${last} knew it was chosen and told it`;
      if (!multi) return `${id} missed the decision (it was down or cut off): it asked, and learned ${q(value)}: ${why}`;
      const slots = asked.map((k) => sp[0] + k + 1);
      const range = slots.length === 1 ? `slot ${slots[0]}`
        : slots[slots.length - 1] - slots[0] === slots.length - 1 ? `slots ${slots[0]}–${slots[slots.length - 1]}`
        : `slots ${slots.join(", ")}`;
      const whyAll = slots.length === 1 ? why : last === "acceptors"
        ? "for each, a majority of acceptors reported accepting it at one ballot" : `${last} knew they were chosen and told it`;
      return `${id} caught up on ${range} it had missed: it asked, and ${whyAll}`;
    }
    if (!multi) return `${id} learned the chosen value: ${q(value)}`;
    const first = before.order.find((x) => x[0] === "l");
    return id === first ? `Slot ${i + 1} is decided: ${q(value)} (${id} learned it)` : null;
  },

  mount(el, pageCtx) {
    panel = el;
    ctx = pageCtx;
    body = h("div", { class: "px" });
    panel.replaceChildren(body);
  },

  reset(snap) {
    const sc = ctx.scenario;
    multiMode = !!(sc && sc.params && sc.params.multi);
    chartFor(snap).reset(snap); // the chart keeps the branch's past up to this moment
  },

  unmount() {
    if (chart) chart.destroy();
    chart = null;
    panel.replaceChildren();
  },

  update(snap) {
    chartFor(snap).update(snap);
    const multi = isMulti();
    const ids = { p: [], a: [], l: [] };
    for (const id of snap.order) ids[id[0]].push(id);
    const parts = multi ? multiPanel(panel, snap, ids, ctx) : singlePanel(snap, ids, ctx);
    body.replaceChildren(...h("div", {}, parts).childNodes);
  },

  nodeMenu(id, view) {
    if (view.role !== "proposer" || view.status !== "up") return [];
    const busy = !multiMode && ["prepare", "accept", "backoff"].includes(view.phase);
    return [{
      label: busy ? `Propose a value (busy with ballot ${fmtBallot(view.ballot)})` : `Propose a value from ${id}`,
      disabled: busy,
      intervention: { action: "propose", node: id },
    }];
  },

  toolbar(snap) {
    const proposers = snap.order.filter((id) => id[0] === "p");
    if (isMulti()) {
      const leader = proposers.find((id) => snap.nodes[id].status === "up" && snap.nodes[id].phase === "leading");
      return [{
        label: "+ Client value → leader",
        intervention: { action: "propose", node: "leader" },
        title: leader ? `A client sends a new value to leader ${leader}` : "No leader right now: wait for phase 1",
        disabled: !leader,
      }];
    }
    return proposers.slice(0, 4).map((id) => {
      const v = snap.nodes[id];
      const busy = ["prepare", "accept", "backoff"].includes(v.phase);
      return {
        label: `▶ ${id} proposes`,
        intervention: { action: "propose", node: id },
        title: v.status !== "up" ? `${id} is ${v.status}`
          : busy ? `${id} is busy with ballot ${fmtBallot(v.ballot)}` : `A client asks ${id} to propose its value`,
        disabled: v.status !== "up" || busy,
      };
    });
  },

  /** The page's radius, smaller on a short stage where the columns spread over its width (shortStage). */
  nodeRadius(W, H, n) {
    const known = columns && columns.p.length + columns.a.length + columns.l.length === n;
    const geo = known ? shortStage(W, H, columns) : null;
    return geo ? geo.r : nodeRadius(W, H, n);
  },

  layout(order) {
    const cols = { p: [], a: [], l: [] };
    for (const id of order) (cols[id[0]] || cols.a).push(id);
    columns = cols;
    const wide = shortStageLayout(cols);
    if (wide) return wide;
    const out = {};
    // on a phone the legend covers the bottom of the stage: keep the nodes above it
    const height = typeof window !== "undefined" && window.innerWidth < 600 ? 0.8 : 1;
    const place = (list, x) => list.forEach((id, i) => {
      out[id] = [x, (height * (i + 0.5)) / list.length];
    });
    place(cols.p, 0.04);
    place(cols.l, 0.96);
    // acceptors: a zigzag down the middle, so that five or more do not touch
    const n = cols.a.length;
    const zig = n >= 4 ? 0.09 : 0;
    cols.a.forEach((id, i) => {
      out[id] = [0.5 + (i % 2 ? zig : -zig), n === 1 ? 0.5 * height : (0.92 * height * i) / (n - 1)];
    });
    return out;
  },
};

// --- a short stage (a phone held sideways, 844x390; a projector at 150 % zoom, 853x480) -------------------------
// The page maps layout units onto a square as tall as the stage: below SHORT_STAGE px its three columns were
// squeezed into a square a third of the stage's width, and every badge sat on a neighbour. There the columns
// spread over the stage's width instead, left of the crash zone and of the buttons over the stage, spaced so a
// badge (above a node, to its right) clears the next column and the node above it; the nodes get the radius that
// allows (the module's nodeRadius, which the page uses too). Positions are computed in the stage's pixels with the
// page's own geometry (util.js: crashZone, nodeRadius, stageFrame), as gossip's grid is.
const SHORT_STAGE = 300; // px of the stage's drawing (topology.js draws at least 200)
const BADGE_W = 48; // a badge of four characters (topology.js: 9 px a character + 12): "3.12", "★3.2", "abc…"

let columns = null; // the columns of the last layout: { p, a, l } (ids); nodeRadius, called apart, needs their sizes

/** The short stage's geometry for the columns `cols` on the page's W x H drawing, or null (not short, or too many
 * nodes for it: then the square it is). */
function shortStage(W, H, cols) {
  const svg = typeof document !== "undefined" ? document.querySelector("#topology") : null;
  if (!svg || !svg.getScreenCTM || H >= SHORT_STAGE || W < 1.4 * H) return null;
  const crash = crashZone(W, H);
  // what sits over the stage (the space-time diagram's toggle, the hint line), in the drawing's units: on the
  // right it narrows the columns, on the left it lowers them
  let right = crash.x;
  let top = 0;
  const ctm = svg.getScreenCTM();
  const inv = ctm && ctm.inverse();
  for (const el of svg.parentElement ? svg.parentElement.querySelectorAll("button, .stage-hint") : []) {
    const b = el.getBoundingClientRect();
    if (!inv || !b.width || !b.height) continue;
    const corner = new DOMPoint(b.left, b.bottom).matrixTransform(inv);
    if (corner.x > W / 2) right = Math.min(right, corner.x);
    else top = Math.max(top, corner.y);
  }
  // the largest radius that keeps every badge clear: across, four columns' worth of badges and gaps (proposers |
  // acceptors, two zigzag columns | learners); down, a badge (12 px above its circle) clear of the node above it
  const room = H - 6 - top - 16; // from the top node's centre to the bottom one's, plus 2 r
  const nA = cols.a.length;
  const limits = [nodeRadius(W, H, cols.p.length + nA + cols.l.length), (right - 24 - 4 * BADGE_W) / 6.2];
  if (nA > 1) limits.push((room - 6 * (nA - 1)) / (nA + 1));
  for (const k of [cols.p.length, cols.l.length]) if (k) limits.push((room - 12 * k) / (2 * k + 2));
  const r = Math.min(...limits);
  return r >= 9 ? { r, right, top, room, crash } : null;
}

function shortStageLayout(cols) {
  const svg = typeof document !== "undefined" ? document.querySelector("#topology") : null;
  if (!svg) return null;
  const rect = svg.getBoundingClientRect();
  const W = Math.max(200, rect.width);
  const H = Math.max(200, rect.height); // the page's viewBox (topology.js resize)
  const geo = rect.height ? shortStage(W, H, cols) : null;
  if (!geo) return null;
  const { r, right, top, crash } = geo;
  const { side, cx, cy } = stageFrame(W, H, r, crash);
  const y0 = top + r + 16; // a badge's top is 12 px above the node's circle
  const y1 = H - r - 6;
  // the proposers at the left edge, the learners as far right as their badge allows, the acceptors' two zigzag
  // columns evenly between (a badge clears the next column: step >= 1.55 r + BADGE_W + 2, by the radius above)
  const xP = 10 + r;
  const xL = right - 8 - 0.55 * r - BADGE_W;
  const step = (xL - xP) / 3;
  const px = {};
  const column = (list, x) => list.forEach((id, i) => {
    px[id] = [x, y0 + ((y1 - y0) * (i + 0.5)) / list.length];
  });
  column(cols.p, xP);
  column(cols.l, xL);
  const n = cols.a.length;
  cols.a.forEach((id, i) => {
    px[id] = [xP + step * (i % 2 ? 2 : 1), n === 1 ? (y0 + y1) / 2 : y0 + ((y1 - y0) * i) / (n - 1)];
  });
  const out = {};
  for (const [id, [x, y]] of Object.entries(px)) out[id] = [(x - cx) / side + 0.5, (y - cy) / side + 0.5];
  return out;
}

function narrateProposer(id, ch, splice, b, multi) {
  const ballot = fmtBallot(ch.ballot || b.ballot);
  switch (ch.phase) {
    case "prepare":
      if (multi && b.phase === "follower") {
        return `${id} hears no leader: it runs phase 1 with ballot ${ballot} to become leader`;
      }
      if (b.phase === "backoff") return `${id} retries with ballot ${ballot}`;
      if (b.phase === "prepare" || b.phase === "accept") {
        return `${id}'s ballot ${fmtBallot(b.ballot)} was pre-empted; it retries at once with ballot ${ballot}`;
      }
      return `${id} starts ballot ${ballot}: phase 1, it asks the acceptors to promise to ignore lower ballots`;
    case "accept": {
      const promises = ch.promises || b.promises || [];
      const own = b.value;
      const value = ch.proposal;
      const base = `${id} has promises from ${listNodes(promises)}, a majority: phase 2, it asks them to accept ${q(value)} at ballot ${ballot}`;
      return value !== own && own !== null && own !== undefined
        ? `${base} — the value a promise reported as already accepted, not its own ${q(own)}`
        : base;
    }
    case "backoff": {
      const wait = timerLength(ch, "backoff");
      return `${id}'s ballot ${fmtBallot(b.ballot)} failed (a higher ballot, or no majority in time); it waits ${wait ?? "a random"} ms before retrying`;
    }
    case "done": {
      if (b.phase === "accept") {
        const value = b.proposal;
        const known = (b.chosen || [])[0];
        const base = `A majority accepted ballot ${fmtBallot(b.ballot)}: ${q(value)} is chosen`;
        return known !== undefined && known !== null && known !== value
          ? `${base}, but ${id} knew ${q(known)} had been chosen before!`
          : `${base}, and ${id} tells the learners`;
      }
      const sp = splice.chosen;
      const value = sp ? sp[1][sp[1].length - 1] : ((b.chosen || [])[0] ?? b.proposal);
      return `${id} heard that ${q(value)} was chosen; it stops trying`;
    }
    case "leading":
      return `${id} is the leader with ballot ${ballot}: phase 1 is done for every slot, so each new value needs only phase 2`;
    case "follower":
      if (b.phase === "leading") return `${id} met a higher ballot and stepped down as leader`;
      if (ch.leader) return `${id} hears leader ${ch.leader} and follows it`;
      return `${id} met a higher ballot: it stops and waits to hear from that leader`;
    default:
      break;
  }
  if (ch.leader && b.phase === "follower" && ch.leader !== b.leader) return `${id} now follows leader ${ch.leader}`;
  return null;
}

function chosenOf(snap, ids) {
  // what learners and proposers know is chosen, slot by slot
  const out = [];
  for (const id of [...ids.l, ...ids.p]) {
    const list = snap.nodes[id].learned || snap.nodes[id].chosen || [];
    list.forEach((v, i) => {
      if (v !== null && v !== undefined && out[i] === undefined) out[i] = v;
    });
  }
  return out;
}

function row(id, snap, ctx, cells) {
  const v = snap.nodes[id];
  return h("tr", {
    class: `${v.status !== "up" ? "down" : ""}${ctx.selected === id ? " selected" : ""}`,
    dataset: { node: id },
    onclick: () => ctx.select(id),
  }, h("td", { class: "px-who" }, id), cells);
}

function ballotPill(b) {
  return b ? h("span", { class: "px-ballot", style: { background: ballotColor(b) } }, fmtBallot(b))
    : h("span", { class: "px-muted" }, "—");
}

function learnersLine(snap, ids, slot = 0) {
  const knows = ids.l.filter((id) => {
    const v = snap.nodes[id].learned[slot];
    return v !== null && v !== undefined;
  });
  if (!knows.length) return "no learner knows yet";
  const caught = knows.filter((id) => caughtUp((snap.nodes[id].learned_from || [])[slot]));
  const tail = caught.length ? ` (${listNodes(caught)} caught up by asking)` : "";
  return (knows.length === ids.l.length ? `every learner knows it` : `learned by ${listNodes(knows)}`) + tail;
}

/** The value a majority of acceptors hold at one ballot in `slot` (0-based) right now, if any. */
function majorityValue(snap, acceptors, slot, majority) {
  const count = {};
  for (const id of acceptors) {
    const e = snap.nodes[id].accepted[slot];
    if (!e) continue;
    const key = JSON.stringify(e);
    count[key] = (count[key] || 0) + 1;
    if (count[key] >= majority) return e[1];
  }
  return undefined;
}

function singlePanel(snap, ids, ctx) {
  const chosen = chosenOf(snap, ids)[0];
  const rounds = Math.max(0, ...ids.p.map((id) => (snap.nodes[id].ballot ? snap.nodes[id].ballot[0] : 0)));
  const majority = Math.floor(ids.a.length / 2) + 1;
  const now = majorityValue(snap, ids.a, 0, majority);
  const banner = chosen !== undefined && now !== undefined && now !== chosen
    ? h("div", { class: "px-banner broken", dataset: { chosen } }, "Chosen: ", h("span", { class: "px-value" }, q(chosen)),
      " … and ", h("span", { class: "px-value" }, q(now)), "!",
      h("small", {}, `a majority now holds ${q(now)} at one ballot: two values chosen, Paxos is broken`))
    : chosen !== undefined
    ? h("div", { class: "px-banner chosen", dataset: { chosen } }, "Chosen: ", h("span", { class: "px-value" }, q(chosen)),
      h("small", {}, `${learnersLine(snap, ids)} · it can never change`))
    : h("div", { class: "px-banner" }, "Nothing chosen yet",
      h("small", {}, `${rounds ? `ballot round ${rounds} · ` : ""}needs ${majority} of ${ids.a.length} acceptors to accept one ballot`));
  const acceptors = h("table", { class: "px-table px-acceptors" },
    h("tr", {}, h("th", {}, "acceptor"), h("th", {}, "promised"), h("th", {}, "accepted")),
    ids.a.map((id) => {
      const v = snap.nodes[id];
      const e = v.accepted[0];
      return row(id, snap, ctx, [
        h("td", {}, ballotPill(v.promised)),
        h("td", {}, e ? [ballotPill(e[0]), " ", q(e[1])] : h("span", { class: "px-muted" }, "nothing")),
      ]);
    }));
  const proposers = h("table", { class: "px-table px-proposers" },
    h("tr", {}, h("th", {}, "proposer"), h("th", {}, "phase"), h("th", {}, "ballot"), h("th", {}, "value")),
    ids.p.map((id) => {
      const v = snap.nodes[id];
      const proposing = v.proposal !== null && v.proposal !== undefined && v.proposal !== v.value;
      const count = v.phase === "prepare" ? ` ${v.promises.length}/${majority}`
        : v.phase === "accept" ? ` ${v.accepts.length}/${majority}` : "";
      return row(id, snap, ctx, [
        h("td", {}, h("span", { class: "px-pill", style: { background: PHASE_COLORS[v.phase] || "#64748b" },
                                title: count ? "answers so far / majority needed" : null },
          (PHASE_NAMES[v.phase] || v.phase) + count)),
        h("td", {}, ballotPill(v.ballot)),
        h("td", {}, v.value === null || v.value === undefined ? h("span", { class: "px-muted" }, "—") : q(v.value),
          proposing ? h("span", { title: "the value it proposes in phase 2, found in a promise" }, ` → ${q(v.proposal)}`) : null),
      ]);
    }));
  const learners = h("table", { class: "px-table px-learners" },
    h("tr", {}, h("th", {}, "learner"), h("th", {}, "learned"), h("th", {}, "how")),
    ids.l.map((id) => {
      const v = snap.nodes[id];
      const val = v.learned[0];
      const how = (v.learned_from || [])[0];
      const known = val !== null && val !== undefined;
      return row(id, snap, ctx, [
        h("td", {}, known ? q(val) : h("span", { class: "px-muted" }, v.status !== "up" ? `nothing (${v.status})` : "nothing")),
        h("td", { class: caughtUp(how) ? "px-caught" : "" },
          known ? howLearned(how) : v.asking ? "asking (learn?)" : h("span", { class: "px-muted" }, "—")),
      ]);
    }));
  return [banner, h("div", { class: "px-section" }, "Acceptors ", h("small", {}, "on stable storage · colour = whose ballot")),
    acceptors, h("div", { class: "px-section" }, "Proposers"), proposers, h("div", { class: "px-section" }, "Learners"), learners];
}

function multiPanel(el, snap, ids, ctx) {
  const chosen = chosenOf(snap, ids);
  const nChosen = chosen.filter((v) => v !== undefined).length;
  const leader = ids.p.find((id) => snap.nodes[id].status === "up" && snap.nodes[id].phase === "leading");
  const others = ids.p.filter((id) => id !== leader).map((id) => {
    const v = snap.nodes[id];
    if (v.status !== "up") return `${id} ${v.status}`;
    if (v.phase === "follower") return v.leader ? `${id} follows ${v.leader}` : `${id} waits for a leader`;
    return `${id}: ${PHASE_NAMES[v.phase] || v.phase}`;
  });
  const banner = h("div", { class: `px-banner${leader ? " chosen" : ""}`, dataset: { leader: leader || "" } },
    leader ? `Leader ${leader} · ballot ${fmtBallot(snap.nodes[leader].ballot)}` : "No leader right now",
    h("small", {}, [`${nChosen} slot${nChosen === 1 ? "" : "s"} chosen`, ...others].join(" · ")));
  const maxLen = Math.max(chosen.length, ...ids.a.map((id) => snap.nodes[id].accepted.length),
    ...ids.l.map((id) => snap.nodes[id].learned.length), 1);
  const width = el.clientWidth || 320;
  const fit = Math.max(3, Math.floor((width - 64) / 33));
  const start = Math.max(0, maxLen - fit);
  const shown = Math.min(fit, maxLen);
  const head = [h("span", { class: "px-who px-muted" }, start ? `…${start}` : "slot")];
  for (let i = 0; i < shown; i++) head.push(h("span", { class: "px-cell head" }, String(start + i + 1)));
  const rows = [h("div", { class: "px-row" }, head)];
  const line = (id, cellOf) => {
    const v = snap.nodes[id];
    const cells = [h("span", { class: "px-who" }, id)];
    for (let i = 0; i < shown; i++) cells.push(cellOf(v, start + i) || h("span", { class: "px-cell empty" }));
    return h("div", { class: `px-row${v.status !== "up" ? " down" : ""}${ctx.selected === id ? " selected" : ""}`,
                      dataset: { node: id }, onclick: () => ctx.select(id) }, cells);
  };
  for (const id of ids.a) {
    rows.push(line(id, (v, i) => {
      const e = v.accepted[i];
      return e && h("span", { class: "px-cell", style: { background: ballotColor(e[0]) },
                              title: `${id} · slot ${i + 1}: accepted ${q(e[1])} at ballot ${fmtBallot(e[0])}` }, short(e[1]));
    }));
  }
  for (const id of ids.l) {
    rows.push(line(id, (v, i) => {
      const val = v.learned[i];
      const how = (v.learned_from || [])[i];
      return val !== null && val !== undefined
        && h("span", { class: `px-cell learned${caughtUp(how) ? " caught" : ""}`,
                       title: `${id} learned slot ${i + 1}: ${q(val)} (from ${howLearned(how)})` }, short(val));
    }));
  }
  return [banner, h("div", { class: "px-section" }, "Log ", h("small", {}, "acceptors: accepted (colour = whose ballot) · learners: decided (amber edge: caught up by asking)")),
    h("div", { class: "px-grid" }, rows)];
}
