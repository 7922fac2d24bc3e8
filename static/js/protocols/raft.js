// Raft's view module (interface: docs/frontend.md). Roles by colour, the term as a badge, logs coloured by
// term with committed entries set apart, and a plain-language story of elections and replication.

import { h, GREY, PALETTE, listNodes } from "../util.js";
import { createChart } from "../charts.js";

const ROLE_COLORS = {
  follower: "#2563eb",
  precandidate: "#8b5cf6",
  candidate: "#f59e0b",
  leader: "#16a34a",
};

const ROLE_NAMES = { follower: "follower", precandidate: "pre-candidate", candidate: "candidate", leader: "leader" };

/** A stable colour for a term: neighbours differ clearly (the log's cells are coloured by term). */
function termColor(n) {
  if (n === null || n === undefined || n <= 0) return GREY;
  const hue = (n * 137.508 + 200) % 360;
  return `hsl(${hue.toFixed(0)} 70% 42%)`;
}

/** The leader of the highest term among the nodes that are up, or null (tests and the page's hook use it). */
export function leaderOf(snap) {
  const up = snap.order.filter((id) => snap.nodes[id].status === "up" && snap.nodes[id].role === "leader");
  up.sort((a, b) => snap.nodes[b].term - snap.nodes[a].term);
  return up[0] || null;
}

// lifecycle (docs/frontend.md): the panel element and the page's context, from mount
let panel = null;
let ctx = null;
let logs = null; // the panel's part redrawn at each update; the chart below it stays
let chart = null; // commit index per node, the term, time without a leader (static/js/charts.js)

/** A chart for this run's nodes (made again only when the nodes change: a new run). */
function chartFor(snap) {
  const key = snap.order.join(",");
  if (chart && chart.key === key) return chart;
  if (chart) chart.destroy();
  chart = createChart(panel, {
    name: "raft",
    title: "Committed entries",
    series: [
      ...snap.order.map((id, i) => ({ label: id, color: PALETTE[i % PALETTE.length] })),
      { label: "longest log", color: GREY, dash: [2, 4], width: 3 }, // above the commit lines: not committed yet
      { label: "term (right axis)", color: "#334155", scale: "y2", dash: [6, 4], width: 2 },
      { label: "no leader", color: "#f59e0b", band: true },
    ],
    y2: {},
    measure: (s) => [
      ...s.order.map((id) => s.nodes[id].commit),
      Math.max(0, ...s.order.map((id) => s.nodes[id].log.length)),
      Math.max(0, ...s.order.map((id) => s.nodes[id].term)),
      leaderOf(s) ? 0 : 1,
    ],
    now: () => ctx.now,
    seek: ctx.seek,
  });
  chart.key = key;
  return chart;
}

function entryText(value) {
  return value === null || value === undefined ? "no-op" : `“${value}”`;
}

export default {
  name: "raft",

  roleLegend: [
    { label: "follower", color: ROLE_COLORS.follower },
    { label: "pre-candidate", color: ROLE_COLORS.precandidate },
    { label: "candidate", color: ROLE_COLORS.candidate },
    { label: "leader ★", color: ROLE_COLORS.leader },
  ],

  nodeColor(view) {
    return ROLE_COLORS[view.role] || "#64748b";
  },

  nodeBadge(view) {
    return view.role === "leader" ? `★T${view.term}` : `T${view.term}`;
  },

  nodeTitle(id, view) {
    const lines = [`${id}: ${ROLE_NAMES[view.role] || view.role}, term ${view.term} (${view.status})`];
    lines.push(`voted for: ${view.voted_for ?? "nobody"} · knows leader: ${view.leader ?? "none"}`);
    lines.push(`log: ${view.log.length} entries, ${view.commit} committed`);
    if (view.votes && view.votes.length) lines.push(`votes: ${view.votes.join(", ")}`);
    return lines.join("\n");
  },

  timerColor() {
    return "#334155";
  },

  messageColor(msg) {
    switch (msg.kind) {
      case "RequestVote":
        return msg.pre ? "#a78bfa" : "#f59e0b";
      case "RequestVoteReply":
        return msg.granted ? "#16a34a" : "#dc2626";
      case "AppendEntries":
        return msg.entries && msg.entries.length ? "#1d4ed8" : "#60a5fa";
      case "AppendEntriesReply":
        return msg.success ? "#0d9488" : "#dc2626";
      default:
        return "#64748b";
    }
  },

  messageLabel(msg) {
    switch (msg.kind) {
      case "RequestVote":
        return msg.pre ? "PV?" : "RV?";
      case "RequestVoteReply":
        return msg.granted ? "✓" : "✗";
      case "AppendEntries":
        return msg.entries && msg.entries.length ? `AE+${msg.entries.length}` : "AE";
      case "AppendEntriesReply":
        return msg.success ? "ok" : "no";
      default:
        return null;
    }
  },

  narrate(ev, before) {
    if (chart) chart.sample(before);
    if (ev.type === "intervention") {
      if (ev.action === "client_request") {
        if (ev.result === "appended") {
          return `A client sent ${entryText(ev.value)} to leader ${ev.node}; it is entry #${ev.index}, not committed yet`;
        }
        return ev.leader_hint
          ? `A client asked ${ev.node}, which is not the leader; it points the client to ${ev.leader_hint}`
          : `A client asked ${ev.node}, which is not the leader and knows of none`;
      }
      if (ev.action === "timeout") return `You forced ${ev.node}'s election timer to fire`;
      return null;
    }
    if (ev.type !== "state") return null;
    const ch = ev.changes;
    const b = before.nodes[ev.node];
    const id = ev.node;
    const term = ch.term ?? b.term;
    if ("status" in ch) return null; // crash / restart / pause: the page says it
    if (ch.role === "precandidate") {
      return `${id} timed out and asks for pre-votes before starting an election for term ${b.term + 1}`;
    }
    if (ch.role === "candidate") {
      return b.role === "precandidate"
        ? `${id} won the pre-vote and started an election for term ${term}`
        : `${id} timed out and started an election for term ${term}`;
    }
    if (ch.role === "leader") {
      const votes = ch.votes ?? b.votes ?? [];
      return `${id} won the election: leader of term ${term}` + (votes.length ? ` (votes from ${listNodes(votes)})` : "");
    }
    if (ch.role === "follower") {
      if (b.role === "leader") {
        return "term" in ch
          ? `${id} saw term ${term} and stepped down`
          : `${id} lost touch with a majority and stepped down (check-quorum)`;
      }
      if (b.role === "candidate" || b.role === "precandidate") {
        return "term" in ch
          ? `${id} saw term ${term} and gave up its candidacy`
          : `${id} heard from leader ${ch.leader ?? b.leader ?? "of its term"} and gave up its candidacy`;
      }
    }
    if (ch.voted_for && ch.voted_for !== id && ch.voted_for !== b.voted_for) {
      return `${id} voted for ${ch.voted_for} in term ${term}`;
    }
    const splice = ev.splice && ev.splice.log;
    if (splice && splice[0] < b.log.length && b.role !== "leader") {
      const dropped = b.log.length - splice[0];
      return `${id} deleted ${dropped} conflicting entr${dropped === 1 ? "y" : "ies"} from #${splice[0] + 1} to follow the leader`;
    }
    if ("commit" in ch && (ch.role ?? b.role) === "leader" && ch.commit > b.commit) {
      const log = b.log;
      const entry = log[ch.commit - 1];
      const what = entry ? ` (${entryText(entry[1])})` : "";
      return ch.commit - b.commit === 1
        ? `Leader ${id} committed entry #${ch.commit}${what}: a majority has it`
        : `Leader ${id} committed entries #${b.commit + 1}–#${ch.commit}${what}: a majority has them`;
    }
    return null;
  },

  leader: leaderOf,

  mount(el, pageCtx) {
    panel = el;
    ctx = pageCtx;
    logs = h("div", { class: "raft-panel" });
    panel.replaceChildren(logs);
  },

  // the logs are drawn from the snapshot alone; the chart keeps the branch's past up to this moment
  reset(snap) {
    chartFor(snap).reset(snap);
  },

  unmount() {
    if (chart) chart.destroy();
    chart = null;
    panel.replaceChildren();
  },

  update(snap) {
    chartFor(snap).update(snap);
    const el = logs;
    const order = snap.order;
    const maxLen = Math.max(0, ...order.map((id) => snap.nodes[id].log.length));
    const width = panel.clientWidth || 320;
    const cell = 30;
    const fit = Math.max(4, Math.floor((width - 86) / cell));
    const start = Math.max(0, maxLen - fit); // 0-based index of the first entry shown
    const shown = Math.min(fit, Math.max(maxLen, 1));
    const rows = [];
    const head = [h("span", { class: "log-who" }, start > 0 ? `… ${start}` : "index")];
    for (let i = 0; i < shown; i++) head.push(h("span", { class: "log-index" }, String(start + i + 1)));
    rows.push(h("div", { class: "log-row log-head" }, head));
    for (const id of order) {
      const v = snap.nodes[id];
      const cells = [h("span", { class: "log-who" },
        h("span", { class: "dot", style: { background: v.status === "crashed" ? "#cbd5e1" : ROLE_COLORS[v.role] } }),
        id)];
      for (let i = 0; i < shown; i++) {
        const idx = start + i;
        const entry = v.log[idx];
        if (!entry) {
          cells.push(h("span", { class: "log-entry empty" }));
          continue;
        }
        const committed = idx < v.commit;
        const color = termColor(entry[0]);
        cells.push(h("span", {
          class: `log-entry ${committed ? "committed" : "uncommitted"}`,
          style: committed ? { background: color, borderColor: color } : { borderColor: color, color },
          title: `#${idx + 1} · term ${entry[0]} · ${entryText(entry[1])}${committed ? " · committed" : " · not committed"}`,
          dataset: { index: idx + 1, term: entry[0] },
        }, String(entry[0])));
      }
      rows.push(h("div", {
        class: `log-row${v.status === "crashed" ? " crashed" : ""}${ctx.selected === id ? " selected" : ""}`,
        dataset: { node: id },
      }, cells));
    }
    el.replaceChildren(
      h("div", { class: "panel-title" }, "Logs",
        h("span", { class: "panel-legend" },
          h("span", { class: "log-entry committed sample" }, "3"), " committed ",
          h("span", { class: "log-entry uncommitted sample" }, "3"), " not yet · number = term")),
      h("div", { class: "raft-logs" }, rows));
  },

  nodeMenu(id, view) {
    if (view.status !== "up") return [];
    const items = [];
    if (view.role !== "leader") {
      items.push({ label: "Force election timeout", intervention: { action: "timeout", node: id } });
    }
    items.push({ label: "Client request to this node", intervention: { action: "client_request", node: id } });
    return items;
  },

  toolbar(snap) {
    const hasLeader = snap.order.some((id) => snap.nodes[id].role === "leader" && snap.nodes[id].status === "up");
    return [{
      label: "+ Client request",
      intervention: { action: "client_request", node: "leader" },
      title: hasLeader ? "A client writes a value through the leader" : "No leader right now: wait for an election",
      disabled: !hasLeader,
    }];
  },
};
