// Two-phase commit / 3PC view module (interface: docs/frontend.md). The coordinator sits on top, the
// participants in an arc below. A participant's colour is the state of the transaction it cares about most
// (the oldest one it still holds a lock for, else its latest): working, uncertain (voted YES), blocked,
// pre-committed, committed, aborted. The side panel is a participants × transactions grid plus every node's
// write-ahead log (dashed records are still in memory: a crash loses them).

import { h, fmtTime, listNodes } from "../util.js";
import { createChart } from "../charts.js";

const C = {
  idle: "#64748b",
  working: "#2563eb",
  prepared: "#d97706", // voted YES, uncertain
  blocked: "#c2410c", // uncertain and already timed out: holds its lock, cannot decide
  precommitted: "#7c3aed",
  committed: "#15803d",
  aborted: "#9f1239",
  coordinator: "#1e293b",
};

const STATE_TEXT = {
  working: "working",
  prepared: "uncertain",
  precommitted: "pre-committed",
  committed: "committed",
  aborted: "aborted",
  // coordinator
  preparing: "collecting votes",
  precommitting: "pre-committing",
  committing: "committing",
  recovering: "recovering",
};

const POINT_TEXT = {
  after_votes: "after the votes, before logging its decision",
  after_decision_logged: "after logging its decision, before sending it",
  after_first_decision_sent: "after sending its decision to p1 only",
  after_vote: "right after voting YES",
};

const FAULT_TEXT = {
  after_votes: "after collecting the votes, before logging a decision: no decision is on its disk",
  after_decision_logged: "after force-writing its decision, before sending it: the decision is safe on its disk, but nobody knows it",
  after_first_decision_sent: "after sending its decision to p1 only",
  after_vote: "right after voting YES",
};

// what a crashed node's (rebuilt-from-disk) state means, for its grey cells
const ON_DISK = {
  committing: "down: C", committed: "down: C", aborted: "down: A", recovering: "down: PC",
  prepared: "down: P", precommitted: "down: PC",
};

const RECORD_TEXT = { prepared: "P", precommit: "PC", commit: "C", abort: "A", end: "E" }; // + tx number: "C1"
const RECORD_NAME = { prepared: "prepared", precommit: "pre-commit", commit: "COMMIT", abort: "ABORT", end: "END" };

// --- per-run memory (forgotten by reset: the lifecycle, docs/frontend.md): what the feed already said -------
let said = new Set();
// Transactions told step by step: the first, those a user began, and those a crash hit. The others (automatic
// load) get one line for the decision and lines only for what is unusual.
let verbose = new Set(["tx1"]);
let panel = null;
let ctx = null;
let shown = null; // the snapshot on the panel: drawn again when the panel's width changes
let resizes = null;
let body = null; // the panel's part redrawn at each update; the chart below it stays
let chart = null; // transactions committed, aborted, participants blocked, over time (static/js/charts.js)

/** How many transactions some node knows committed and aborted (logs on disk and in memory, and the recent
 * transactions' states), and how many participants are blocked right now. */
function outcomes(snap) {
  const decided = new Map(); // tx -> "commit" | "abort"
  let blocked = 0;
  for (const id of snap.order) {
    const v = snap.nodes[id];
    for (const r of (v.log || []).concat(v.buffer || [])) {
      if (r[1] === "commit" || r[1] === "abort") decided.set(r[0], r[1]);
    }
    for (const e of v.txs || []) {
      if (e.state === "committed") decided.set(e.tx, "commit");
      else if (e.state === "aborted" && decided.get(e.tx) !== "commit") decided.set(e.tx, "abort");
    }
    if (!isCoord(v) && v.status !== "crashed"
        && (v.txs || []).some((e) => e.state === "prepared" && e.blocked_since !== null && e.blocked_since !== undefined)) {
      blocked += 1;
    }
  }
  let committed = 0;
  for (const d of decided.values()) if (d === "commit") committed += 1;
  return [committed, decided.size - committed, blocked, blocked > 0 ? 1 : 0];
}

function chartFor(snap) {
  const key = snap.order.join(",");
  if (chart && chart.key === key) return chart;
  if (chart) chart.destroy();
  chart = createChart(panel, {
    name: "twophase",
    title: "Over time",
    series: [
      { label: "committed", color: C.committed },
      { label: "aborted", color: C.aborted },
      { label: "participants blocked (right axis)", color: C.blocked, scale: "y2", dash: [6, 4] },
      { label: "someone blocked", color: "#fdba74", band: true },
    ],
    y2: {},
    measure: outcomes,
    now: () => ctx.now,
    seek: ctx.seek,
  });
  chart.key = key;
  return chart;
}

function remember(key) {
  if (said.has(key)) return false;
  said.add(key);
  return true;
}

function txNum(tx) {
  return Number(tx.slice(2));
}

const isCoord = (view) => view.role === "coordinator";

/** The transaction a participant cares most about: the oldest it holds a lock for, else its latest. */
function focusTx(view) {
  const txs = view.txs || [];
  if (!txs.length) return null;
  if (isCoord(view)) {
    const open = txs.find((t) => t.state !== "committed" && t.state !== "aborted");
    return open || txs[txs.length - 1];
  }
  const open = txs.find((t) => t.state === "working" || t.state === "prepared" || t.state === "precommitted");
  return open || txs[txs.length - 1];
}

/** The simulated time shown right now (the page's animation clock: "blocked for" ticks between frames). */
function nowT() {
  return ctx ? ctx.now : 0;
}

function blockedFor(entry) {
  return entry && entry.blocked_since !== null && entry.blocked_since !== undefined
    ? Math.max(0, Math.floor(nowT()) - entry.blocked_since) : null;
}

function secs(ms) {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

function stateColor(entry) {
  if (!entry) return C.idle;
  if (entry.state === "prepared" && blockedFor(entry) !== null) return C.blocked;
  if (entry.state === "preparing" || entry.state === "working") return C.working;
  if (entry.state === "committing" || entry.state === "committed") return C.committed;
  if (entry.state === "precommitting") return C.precommitted;
  if (entry.state === "recovering") return C.prepared;
  return C[entry.state] || C.idle;
}

function cellText(entry, coord) {
  if (!entry) return "";
  if (coord) {
    switch (entry.state) {
      case "working": return "work";
      case "preparing": return `votes ${Object.keys(entry.votes).length}`;
      case "precommitting": return `pre ${entry.acks.length}`;
      case "committing": return `acks ${entry.acks.length}`;
      case "committed": return "END ✓";
      case "aborted": return entry.presumed ? "abort*" : "abort";
      case "recovering": return "ask…";
      default: return entry.state;
    }
  }
  const b = blockedFor(entry);
  switch (entry.state) {
    case "working": return "work";
    case "prepared": return b !== null ? `⚠ ${secs(b)}` : "YES ?";
    case "precommitted": return "PRE";
    case "committed": return "✓";
    case "aborted": return entry.vote === "no" ? "NO ✗" : "✗";
    default: return entry.state;
  }
}

function entryTitle(id, entry, coord) {
  if (!entry) return `${id} has not heard of this transaction`;
  const lines = [`${id} · ${entry.tx}: ${STATE_TEXT[entry.state] || entry.state} since ${fmtTime(entry.since)}`];
  if (coord) {
    const votes = Object.entries(entry.votes || {}).map(([p, v]) => `${p} ${v.toUpperCase()}`);
    if (votes.length) lines.push(`votes: ${votes.join(", ")}`);
    if (entry.acks && entry.acks.length) lines.push(`acknowledged by ${listNodes(entry.acks)}`);
  } else {
    if (entry.vote) lines.push(`voted ${entry.vote.toUpperCase()}`);
    const b = blockedFor(entry);
    if (b !== null) lines.push(`blocked for ${secs(b)}, holding its lock`);
  }
  if (entry.why) lines.push(entry.why);
  return lines.join("\n");
}

// --- narration helpers --------------------------------------------------------------------------------
function byTx(list) {
  const out = {};
  for (const e of list || []) out[e.tx] = e;
  return out;
}

function openTxs(snap) {
  const out = [];
  for (const id of snap.order) {
    for (const e of snap.nodes[id].txs || []) {
      if (e.state !== "committed" && e.state !== "aborted") out.push(e.tx);
    }
  }
  return out;
}

function narrateParticipant(id, now, was) {
  const tx = now.tx;
  const loud = verbose.has(tx);
  if (!was || was.state !== now.state) {
    switch (now.state) {
      case "working":
        return null; // routine: the work arrived
      case "prepared":
        return loud && was && was.state === "working"
          ? `${id} force-wrote “prepared” for ${tx} and voted YES: now uncertain, holding its lock`
          : null;
      case "precommitted":
        return loud ? `${id} pre-committed ${tx} (everyone voted YES)` : null;
      case "committed":
        if (now.why && now.why.startsWith("learned")) return `${id} committed ${tx} and released its lock (${now.why})`;
        return loud ? `${id} committed ${tx} and released its lock` : null;
      case "aborted":
        if (now.vote === "no" && (!was || was.vote !== "no")) {
          return `${id} voted NO on ${tx} and aborted it at once (a NO voter needs nobody's permission)`;
        }
        return `${id} aborted ${tx}${now.why ? `: ${now.why}` : ""}`;
      default:
        return null;
    }
  }
  if (now.blocked_since !== null && (was.blocked_since === null || was.blocked_since === undefined)) {
    return `${id} is BLOCKED on ${tx}: it voted YES, hears nothing, and may neither commit nor abort alone — its lock stays held`;
  }
  if (now.terminating && now.terminating !== was.terminating) {
    return now.terminating === "collect"
      ? `${id} heard nothing: it runs the 3PC termination protocol for ${tx} and asks its peers`
      : `${id} found a pre-committed peer: it pre-commits the others before committing ${tx}`;
  }
  return null;
}

function narrateCoordinator(id, now, was) {
  const tx = now.tx;
  const loud = verbose.has(tx);
  if (was && was.state === now.state) return null;
  switch (now.state) {
    case "working":
      return loud && !was && remember(`begin ${tx}`) ? `A client began ${tx} (automatic load)` : null;
    case "preparing":
      return loud ? `${id} asks every participant to PREPARE ${tx}` : null;
    case "precommitting":
      return `${id} force-wrote PRECOMMIT for ${tx} and sent PRE-COMMIT (every vote was YES)`;
    case "committing":
      if (was && was.state === "precommitting") return loud ? `${id} force-wrote COMMIT for ${tx} and sent it` : null;
      if (!was || was.state === "recovering") return `${id}'s log says COMMIT for ${tx} (no END): it re-sends COMMIT`;
      return `${id} force-wrote COMMIT for ${tx} and sent it: ${now.why || "every vote was YES"}`;
    case "committed":
      return loud ? `${id} got every acknowledgement for ${tx} and wrote END` : null;
    case "aborted":
      if (now.presumed) return `${id} has no decision for ${tx} in its log: presumed abort, it answers ABORT`;
      return `${id} aborted ${tx}${now.why ? `: ${now.why}` : ""}`;
    case "recovering":
      return `${id}'s log says PRECOMMIT for ${tx} but no outcome: it asks the participants`;
    default:
      return null;
  }
}

function coordinatorRestart(id, before) {
  const mine = byTx(before.nodes[id].txs);
  const parts = [];
  const resend = Object.values(mine).filter((e) => e.state === "committing").map((e) => e.tx);
  const ask = Object.values(mine).filter((e) => e.state === "recovering").map((e) => e.tx);
  const unknown = new Set();
  for (const pid of before.order) {
    const v = before.nodes[pid];
    if (isCoord(v)) continue;
    for (const e of v.txs || []) if ((e.state === "prepared" || e.state === "precommitted") && !mine[e.tx]) unknown.add(e.tx);
  }
  if (resend.length) parts.push(`its log says COMMIT for ${listNodes(resend)}, so it re-sends COMMIT`);
  if (ask.length) parts.push(`its log says PRECOMMIT for ${listNodes(ask)}, so it asks the participants`);
  if (unknown.size) parts.push(`its log has no decision for ${listNodes([...unknown])}, so it will answer ABORT (presumed abort)`);
  return `↻ ${id} restarted` + (parts.length ? `: ${parts.join("; ")}` : " and read its log");
}

function narrateSend(ev) {
  const m = ev.msg;
  if (m.kind === "Inquire" && ev.to === "coord") {
    return remember(`inq ${ev.from} ${m.tx}`) ? `${ev.from} asks the coordinator what became of ${m.tx}` : null;
  }
  if (m.kind === "Status" && m.state === "uncertain" && ev.to !== "coord") {
    return remember(`unsure ${ev.from} ${ev.to} ${m.tx}`)
      ? `${ev.from} cannot help ${ev.to}: it voted YES on ${m.tx} too and does not know the outcome` : null;
  }
  if (m.kind === "Status" && (m.state === "committed" || m.state === "aborted") && ev.to !== "coord") {
    return `${ev.from} tells ${ev.to} that ${m.tx} ${m.state === "committed" ? "COMMITTED" : "ABORTED"}`;
  }
  return null;
}

// --- layout -----------------------------------------------------------------------------------------
function arcLayout(order) {
  const out = {};
  const parts = order.filter((id) => id !== "coord");
  out.coord = [0.5, 0.02];
  const n = parts.length;
  const span = Math.min(170, 60 + 22 * n); // degrees, centred on the bottom
  parts.forEach((id, i) => {
    const a = ((180 + span / 2 - (n === 1 ? span / 2 : (i * span) / (n - 1))) * Math.PI) / 180;
    out[id] = [0.5 + 0.5 * Math.sin(a), 0.3 - 0.5 * Math.cos(a)];
  });
  return out;
}

export default {
  name: "twophase",

  roleLegend: [
    { label: "working", color: C.working },
    { label: "uncertain", color: C.prepared },
    { label: "blocked ⚠", color: C.blocked },
    { label: "pre-committed", color: C.precommitted },
    { label: "committed", color: C.committed },
    { label: "aborted", color: C.aborted },
  ],

  layout(order) {
    return arcLayout(order);
  },

  nodeLabel(id, view) {
    return isCoord(view) ? "C" : id; // "coord" does not fit in the circle
  },

  nodeColor(view) {
    if (isCoord(view)) {
      const f = focusTx(view);
      return f && (f.state === "committing" || f.state === "committed") ? C.committed
        : f && f.state === "aborted" ? C.aborted : C.coordinator;
    }
    return stateColor(focusTx(view));
  },

  nodeBadge(view) {
    const f = focusTx(view);
    if (view.armed && view.armed !== "off") return "⚡";
    if (!f) return null;
    if (isCoord(view)) return f.tx;
    const b = blockedFor(f);
    if (f.state === "prepared" && b !== null) return `⚠${secs(b)}`;
    if (f.state === "prepared") return "YES?";
    if (f.state === "working") return f.tx;
    if (f.state === "precommitted") return "PRE";
    return f.state === "committed" ? "✓" : "✗";
  },

  nodeTitle(id, view) {
    const lines = [`${id}: ${isCoord(view) ? "coordinator" : "participant"} (${view.status})`];
    if (view.armed && view.armed !== "off") lines.push(`⚡ armed to crash ${POINT_TEXT[view.armed] || view.armed}`);
    for (const e of (view.txs || []).slice(-4)) lines.push(entryTitle(id, e, isCoord(view)).split("\n").join(" · "));
    if (view.locks && view.locks.length) lines.push(`locks held for: ${view.locks.join(", ")}`);
    lines.push(`log: ${(view.log || []).length} records on disk, ${(view.buffer || []).length} in memory`);
    return lines.join("\n");
  },

  timerColor(name) {
    const kind = name.split(":")[0];
    return { decide: C.prepared, prepare: C.working, votes: "#334155", work: "#94a3b8", term: C.precommitted }[kind]
      || "#475569";
  },

  messageColor(msg) {
    switch (msg.kind) {
      case "Work": return "#94a3b8";
      case "Prepare": return C.working;
      case "Vote": return msg.vote === "yes" ? C.committed : C.aborted;
      case "PreCommit":
      case "PreAck": return C.precommitted;
      case "Decision": return msg.decision === "commit" ? C.committed : C.aborted;
      case "Ack": return "#0d9488";
      case "Inquire": return C.prepared;
      case "Status":
        return msg.state === "committed" ? C.committed : msg.state === "aborted" ? C.aborted : "#64748b";
      default: return "#64748b";
    }
  },

  messageLabel(msg) {
    switch (msg.kind) {
      case "Work": return null;
      case "Prepare": return "PREPARE";
      case "Vote": return msg.vote === "yes" ? "YES" : "NO";
      case "PreCommit": return "PRE-COMMIT";
      case "PreAck": return "ack";
      case "Decision": return msg.decision === "commit" ? "COMMIT" : "ABORT";
      case "Ack": return "ack";
      case "Inquire": return "?";
      case "Status": return msg.state === "uncertain" ? "don't know" : msg.state.toUpperCase();
      default: return null;
    }
  },

  narrate(ev, before) {
    if (chart) chart.sample(before);
    if (ev.type === "intervention") {
      if (ev.action === "begin") {
        verbose.add(ev.tx);
        remember(`begin ${ev.tx}`);
        const no = Object.entries(ev.votes || {}).filter(([, v]) => v === "no").map(([p]) => p);
        return `A client began ${ev.tx} at every participant` + (no.length ? ` (${listNodes(no)} will vote NO)` : "");
      }
      if (ev.action === "arm_crash") {
        return ev.point === "off" ? `${ev.node}'s crash point is disarmed`
          : `⚡ ${ev.node} will crash ${POINT_TEXT[ev.point] || ev.point}`;
      }
      if (ev.action === "abort") {
        return ev.node === "coord"
          ? `The client aborted ${listNodes(ev.aborted || [])}`
          : `${ev.node} aborted ${listNodes(ev.aborted || [])} before voting (a participant may, until it votes YES)`;
      }
      if (ev.action === "crash" || ev.action === "partition" || ev.action === "cut" || ev.action === "pause") {
        for (const tx of openTxs(before)) verbose.add(tx);
      }
      if (ev.action === "restart" && before.nodes[ev.node] && isCoord(before.nodes[ev.node])) {
        return coordinatorRestart(ev.node, before);
      }
      return null;
    }
    if (ev.type === "fault") {
      for (const tx of openTxs(before)) verbose.add(tx);
      return `☠ ${ev.node} crashed ${FAULT_TEXT[ev.point] || ev.point}`;
    }
    if (ev.type === "send") return narrateSend(ev);
    if (ev.type !== "state" || !ev.changes.txs) return null;
    const b = before.nodes[ev.node];
    if (!b || "status" in ev.changes) return null; // crash / restart: the page (or the fault event) says it
    const was = byTx(b.txs);
    const lines = [];
    for (const now of ev.changes.txs) {
      const text = isCoord(b) ? narrateCoordinator(ev.node, now, was[now.tx])
        : narrateParticipant(ev.node, now, was[now.tx]);
      if (text) lines.push(text);
    }
    return lines.length ? lines.join("; ") : null;
  },

  mount(el, pageCtx) {
    panel = el;
    ctx = pageCtx;
    body = h("div", { class: "tp-panel" });
    panel.replaceChildren(body);
    // the table's columns follow the panel's width, which settles after the first draw (and changes with the
    // window): a paused page must not keep the layout of the width it had while loading
    let lastWidth = el.clientWidth;
    resizes = new ResizeObserver(() => {
      if (!shown || el.clientWidth === lastWidth) return;
      lastWidth = el.clientWidth;
      this.update(shown);
    });
    resizes.observe(el);
  },

  reset(snap) {
    said = new Set();
    verbose = new Set(["tx1"]);
    chartFor(snap).reset(snap); // the chart keeps the branch's past up to this moment
  },

  unmount() {
    if (resizes) resizes.disconnect();
    resizes = null;
    shown = null;
    if (chart) chart.destroy();
    chart = null;
    panel.replaceChildren();
  },

  update(snap) {
    shown = snap;
    chartFor(snap).update(snap);
    const el = body;
    const order = snap.order;
    const coord = snap.nodes.coord;
    const all = new Map();
    for (const id of order) for (const e of snap.nodes[id].txs || []) all.set(e.tx, true);
    const width = panel.clientWidth || 340;
    const logW = width >= 420 ? 150 : 104; // the write-ahead log column
    const cols = Math.max(1, Math.min(6, Math.floor((width - 60 - logW) / 58)));
    const txs = [...all.keys()].sort((a, b) => txNum(a) - txNum(b)).slice(-cols);
    const perLog = logW >= 150 ? 3 : 2;

    const head = h("tr", {}, h("th", { class: "tp-who" }, ""), txs.map((tx) => h("th", {}, tx)),
      h("th", { class: "tp-logh", style: { width: `${logW}px` }, title: "write-ahead log: the last records (dashed: still in memory, lost in a crash)" }, "log (newest →)"));
    const rows = order.map((id) => {
      const v = snap.nodes[id];
      const mine = byTx(v.txs);
      const cls = [v.status === "crashed" ? "crashed" : "", ctx && ctx.selected === id ? "selected" : ""].join(" ");
      const recs = (v.log || []).map((r) => ({ r, mem: false })).concat((v.buffer || []).map((r) => ({ r, mem: true })));
      const armed = v.armed && v.armed !== "off";
      return h("tr", { class: cls.trim(), dataset: { node: id } },
        h("th", { class: "tp-who", title: armed ? `armed: crashes ${POINT_TEXT[v.armed]}` : null },
          id, armed ? h("span", { class: "tp-armed" }, "⚡") : null),
        txs.map((tx) => {
          const e = mine[tx];
          if (!e) return h("td", { class: "tp-cell empty", title: `${id} has not heard of ${tx}` }, "·");
          if (v.status === "crashed") {
            return h("td", {
              class: "tp-cell down", title: `${id} is down; its log says: ${STATE_TEXT[e.state] || e.state}`,
              dataset: { tx, state: "down" },
            }, ON_DISK[e.state] || "down");
          }
          const blocked = !isCoord(v) && blockedFor(e) !== null && e.state === "prepared";
          return h("td", {
            class: `tp-cell ${blocked ? "blocked" : e.state}`,
            style: { background: isCoord(v) && e.state === "preparing" ? C.working : stateColor(e) },
            title: entryTitle(id, e, isCoord(v)),
            dataset: { tx, state: blocked ? "blocked" : e.state },
          }, cellText(e, isCoord(v)));
        }),
        h("td", { class: "tp-logcell", dataset: { log: id } },
          recs.length ? recs.slice(-perLog).map(({ r, mem }) => h("span", {
            class: `tp-rec ${r[1]}${mem ? " mem" : ""}`,
            title: `${RECORD_NAME[r[1]] || r[1]} ${r[0]} · written at ${fmtTime(r[2])}${mem ? " · still in memory: lost if it crashes now" : " · on disk"}`,
          }, `${RECORD_TEXT[r[1]] || r[1]}${txNum(r[0])}`)) : h("span", { class: "tp-empty" }, "empty")));
    });

    const blocked = [];
    const locks = [];
    for (const id of order) {
      const v = snap.nodes[id];
      if (isCoord(v)) continue;
      for (const e of v.txs || []) {
        const b = blockedFor(e);
        if (b !== null && e.state === "prepared") blocked.push(`${id} on ${e.tx} for ${secs(b)}`);
      }
      if (v.locks && v.locks.length) locks.push(`${id}: ${v.locks.join(", ")}`);
    }

    const notes = [];
    if (blocked.length) notes.push(h("div", { class: "tp-note warn" }, `⚠ Blocked, holding locks: ${blocked.join(" · ")}`));
    else if (locks.length) notes.push(h("div", { class: "tp-note" }, `Locks held — ${locks.join(" · ")}`));
    if (coord && coord.status === "crashed" && blocked.length) {
      notes.push(h("div", { class: "tp-note" }, "The coordinator is down. Restart it (toolbar, or click it in the crash zone): its log decides."));
    }
    const sel = ctx && ctx.selected && snap.nodes[ctx.selected];
    if (sel) {
      const f = focusTx(sel);
      if (f && f.why) notes.push(h("div", { class: "tp-note" }, `${ctx.selected} · ${f.tx}: ${f.why}`));
    }

    el.replaceChildren(
      h("div", { class: "panel-title" }, "Transactions",
        h("span", { class: "tp-legend" }, "log: P prepared · PC pre-commit · C commit · A abort · E end · dashed = in memory")),
      txs.length || order.some((id) => (snap.nodes[id].log || []).length)
        ? h("table", { class: "tp-grid" }, h("thead", {}, head), h("tbody", {}, rows))
        : h("div", { class: "tp-note" }, "No transaction yet: press “Begin transaction”."),
      ...notes,
    );
  },

  nodeMenu(id, view) {
    if (view.status === "crashed") return [];
    const items = [];
    if (isCoord(view)) {
      items.push({ label: "Begin a transaction", intervention: { action: "begin" } });
      if ((view.txs || []).some((t) => t.state === "working" || t.state === "preparing")) {
        items.push({ label: "Client abort (undecided transactions)", intervention: { action: "abort", node: id } });
      }
      for (const point of ["after_votes", "after_decision_logged", "after_first_decision_sent"]) {
        items.push({ label: `⚡ Crash ${POINT_TEXT[point]}`, intervention: { action: "arm_crash", node: id, point } });
      }
    } else {
      if ((view.txs || []).some((t) => t.state === "working")) {
        items.push({ label: "Abort before voting", intervention: { action: "abort", node: id } });
      }
      items.push({ label: "Begin a transaction where this one votes NO", intervention: { action: "begin", votes: { [id]: "no" } } });
      items.push({ label: "⚡ Crash right after voting YES", intervention: { action: "arm_crash", node: id, point: "after_vote" } });
    }
    if (view.armed && view.armed !== "off") {
      items.push({ label: "Disarm the crash point", intervention: { action: "arm_crash", node: id, point: "off" } });
    }
    return items;
  },

  toolbar(snap) {
    const coord = snap.nodes.coord;
    const up = coord && coord.status === "up";
    const parts = snap.order.filter((id) => id !== "coord");
    const naysayer = parts.includes("p2") ? "p2" : parts[parts.length - 1];
    const items = [
      { label: "+ Begin transaction", intervention: { action: "begin" },
        title: up ? "A client starts a transaction at every participant" : "The coordinator is down", disabled: !up },
      { label: `+ Begin (${naysayer} votes NO)`, intervention: { action: "begin", votes: { [naysayer]: "no" } },
        title: `A transaction ${naysayer} will refuse`, disabled: !up },
    ];
    if (up) {
      const armed = coord.armed && coord.armed !== "off";
      items.push({
        label: armed ? "⚡ Coordinator armed" : "⚡ Crash coordinator after the votes",
        intervention: armed ? { action: "arm_crash", node: "coord", point: "off" }
          : { action: "arm_crash", node: "coord", point: "after_decision_logged" },
        title: armed ? `It will crash ${POINT_TEXT[coord.armed]}; click to disarm`
          : "Arms a crash: once every vote is in, the coordinator logs its decision and crashes before sending it",
      });
    } else if (coord) {
      items.push({ label: "↻ Restart coordinator", intervention: { action: "restart", node: "coord" },
        title: "It reads its log: a logged decision is re-sent; no decision means abort" });
    }
    return items;
  },
};
