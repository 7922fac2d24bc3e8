// Kafka consumer-group rebalancing: the view module (interface: docs/frontend.md).
//
// Each consumer has its own colour, on the topology and on the partition-ownership board in the side panel
// (one row per partition, time to the right, a bar for whoever consumes it: gaps are partitions nobody
// consumes, red hatching is two consumers at once, red ticks are records processed a second time). The badge
// says where a consumer is in the protocol; the feed tells the rebalance in plain words.
//
// With params.brokers >= 2 the brokers b1..bN sit in a row in the middle; the group coordinator (the leader of the
// group's __consumer_offsets partition) wears the COORD badge, followers say whether their replica is in sync.
// Everything that reads the group (panel, board, badges) reads the current coordinator's view: coord(snap).

import { h, s, GREY, listNodes } from "../util.js";
import { coordinatorId as coordId, isBroker, isZombie } from "./kafka-ownership.js";
import { createChart } from "../charts.js";

const BROKER = "broker";
// Consumer colours: the palette without its red (red means trouble here: overlaps, duplicates, errors).
const COLORS = ["#2563eb", "#16a34a", "#f59e0b", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#0f766e",
                "#9333ea", "#b45309", "#1e40af", "#a21caf", "#854d0e", "#0369a1", "#4d7c0f", "#6d28d9"];
const C = {
  broker: "#334155",
  follower: "#94a3b8",
  find: "#0284c7",
  idle: "#e2e8f0",
  join: "#f59e0b",
  sync: "#8b5cf6",
  heartbeat: "#f472b6",
  commit: "#0d9488",
  fetch: "#64748b",
  leave: "#7f1d1d",
  error: "#dc2626",
  assign: "#2563eb",
  rebalance: "#fde68a",
  unowned: "#f1f5f9",
};

/** The colour of consumer slot `id` (c1, c2, ...): the same on the topology and on the board. */
function consumerColor(id) {
  const n = Number.parseInt(String(id).slice(1), 10);
  if (!Number.isFinite(n) || n < 1) return GREY;
  return COLORS[(n - 1) % COLORS.length];
}

// --- what the module remembers across events: forgotten by reset (the lifecycle, docs/frontend.md) ----------
let mem = fresh();
let panel = null; // from mount
let ctx = null;
let chartBox = null; // the chart's place at the bottom of the panel (from mount)
let chart = null; // lag, partitions nobody consumes, rebalances, over time (static/js/charts.js)
function fresh() {
  return {
    dupSaid: {}, // "c1 t0p2" -> true once narrated for the current ownership
    lastOwner: {}, // tp -> consumer that owned it last
    told: {}, // "c1 4": c1 heard of the rebalance of generation 4 (said once)
    snap: null,
    zoom: "recent", // recent | rebalance | all
  };
}

/** [start, end|null] for each time the coordinator was rebalancing, from its history (so a late viewer sees
 * them too). Classic: PreparingRebalance and CompletingRebalance; KIP-848: Assigning and Reconciling. */
function bands(b) {
  const out = [];
  for (const [t, state] of b.history || []) {
    const busy = state !== "Stable" && state !== "Empty";
    const open = out.length && out[out.length - 1][1] === null;
    if (busy && !open) out.push([t, null]);
    if (!busy && open) out[out.length - 1][1] = t;
  }
  return out;
}

// --- small helpers ------------------------------------------------------------------------------------
const consumers = (snap) => snap.order.filter((id) => !isBroker(snap.nodes[id]));
const multi = (view) => view && "role" in view; // params.brokers >= 2

/** The group coordinator's view: the group state, partitions and committed offsets live there. */
function coord(snap) {
  return snap.nodes[coordId(snap)];
}
const secs = (ms) => `${(ms / 1000).toFixed(ms < 10000 && ms % 1000 ? 1 : 0)} s`;
const plural = (n, one, many) => `${n} ${n === 1 ? one : many || `${one}s`}`;

function topicsOf(broker) {
  const out = {};
  for (const [tp] of broker.partitions) out[tp.slice(0, tp.lastIndexOf("p"))] = true;
  return Object.keys(out);
}

/** "p3" when the group reads one topic, "t1p3" otherwise. */
function short(tp, broker) {
  return broker && topicsOf(broker).length === 1 ? tp.slice(tp.lastIndexOf("p")) : tp;
}

function shortList(tps, broker) {
  if (!tps || !tps.length) return "nothing";
  return tps.map((tp) => short(tp, broker)).join(", ");
}

function leo(broker, tp, t) {
  const row = broker.partitions.find((p) => p[0] === tp);
  return row ? Math.max(0, Math.floor(((t - row[1]) * broker.rate) / 1000)) : 0;
}

/** How many offset commits the coordinator rejected, as consumer `v` heard it: its log's "reject" entries for
 * OffsetCommit (the snapshot holds them, so the count is right at any moment, after a seek too). */
function rejectedCommits(v) {
  let n = 0;
  for (const e of v.log || []) if (e[1] === "reject" && String(e[3]).startsWith("OffsetCommit rejected")) n += 1;
  return n;
}

function stateClass(b) {
  if (b.state === "Stable") return "stable";
  if (b.state === "Empty") return "empty";
  return "rebalancing";
}

function modeText(b) {
  if (b.mode === "consumer") return `KIP-848 consumer protocol (${b.assignor}, on the broker)`;
  return `${b.mode} (${b.assignor})`;
}

// --- the chart (static/js/charts.js) ----------------------------------------------------------------------
/** Partitions no live consumer owns right now. */
function unownedCount(snap, b) {
  const cs = consumers(snap);
  return b.partitions.filter(([tp]) => !cs.some((c) => snap.nodes[c].status !== "crashed"
    && (snap.nodes[c].owned || []).includes(tp))).length;
}

/** Records produced but not committed by the group, summed over the partitions. */
function totalLag(snap, b) {
  return b.partitions.reduce((n, [tp]) => n + leo(b, tp, snap.t) - (b.committed[tp] ?? 0), 0);
}

function measure(snap) {
  const b = coord(snap);
  if (!b) return [0, 0, 0];
  return [totalLag(snap, b), unownedCount(snap, b), b.state !== "Stable" && b.state !== "Empty" ? 1 : 0];
}

function chartFor(snap) {
  const key = snap.order.join(",");
  if (chart && chart.key === key) return chart;
  if (chart) chart.destroy();
  chart = createChart(chartBox, {
    name: "kafka",
    title: "Over time",
    series: [
      { label: "lag (records)", color: COLORS[0] },
      { label: "partitions nobody consumes (right axis)", color: C.error, scale: "y2", dash: [6, 4] },
      { label: "rebalancing", color: "#f59e0b", band: true },
    ],
    y2: {},
    measure,
    now: () => ctx.now,
    seek: ctx.seek,
  });
  chart.key = key;
  return chart;
}

// --- the board: ownership spans from each consumer's log ------------------------------------------------------
function collect(snap) {
  const spans = []; // {c, tp, a, b}
  const dups = []; // {c, tp, t, n}
  const stalls = {}; // consumer -> [[from, to], ...]
  const now = snap.t;
  for (const c of consumers(snap)) {
    const v = snap.nodes[c];
    const open = {};
    for (const [t, kind, tp, n] of v.log || []) {
      if (kind === "own") open[tp] = t;
      else if (kind === "drop" || kind === "lost") {
        spans.push({ c, tp, a: tp in open ? open[tp] : -Infinity, b: t, end: kind });
        delete open[tp];
      } else if (kind === "dup") dups.push({ c, tp, t, n });
      else if (kind === "stall") (stalls[c] = stalls[c] || []).push([t, t + n]);
      else if (kind === "unstall" && stalls[c]) stalls[c][stalls[c].length - 1][1] = t;
    }
    for (const tp in open) spans.push({ c, tp, a: open[tp], b: now, end: null });
  }
  return { spans, dups, stalls };
}

function niceStep(range) {
  for (const step of [1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000]) {
    if (range / step <= 6) return step;
  }
  return 1200000;
}

function board(snap, width) {
  const b = coord(snap);
  const parts = b.partitions.map((p) => p[0]);
  const created = Object.fromEntries(b.partitions);
  let now = snap.t;
  let t0 = Math.max(0, now - 10000);
  if (mem.zoom === "all") t0 = 0;
  const bs = bands(b);
  if (mem.zoom === "rebalance" && bs.length) {
    // the last rebalance, with the rounds right before it (cooperative: two rounds, a short Stable between)
    let i = bs.length - 1;
    while (i > 0 && bs[i][0] - bs[i - 1][1] < 400) i -= 1;
    const e = bs[bs.length - 1][1];
    t0 = Math.max(0, bs[i][0] - 1000);
    now = Math.min(snap.t, (e === null ? snap.t : e) + 1000);
  }
  if (now - t0 < 1000) t0 = Math.max(0, now - 1000);
  const labelW = topicsOf(b).length === 1 ? 30 : 42;
  const rightW = 70;
  const W = Math.max(240, width);
  const plotW = W - labelW - rightW;
  const rowH = Math.max(9, Math.min(18, Math.floor(200 / Math.max(parts.length, 1))));
  const top = 13;
  const axisH = 16;
  const H = top + rowH * parts.length + axisH;
  const x = (t) => labelW + ((Math.max(t0, Math.min(now, t)) - t0) / (now - t0 || 1)) * plotW;
  const row = {};
  parts.forEach((tp, i) => { row[tp] = top + i * rowH; });
  const { spans, dups, stalls } = collect(snap);
  const defs = s("defs", {},
    s("pattern", { id: "kf-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      s("rect", { width: 6, height: 6, fill: "#fee2e2" }), s("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#dc2626", "stroke-width": 3 })),
    s("pattern", { id: "kf-stall", width: 5, height: 5, patternUnits: "userSpaceOnUse", patternTransform: "rotate(-45)" },
      s("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "rgba(255,255,255,0.8)", "stroke-width": 2.5 })));
  const g = [defs];
  for (const tp of parts) {
    const y = row[tp];
    const born = created[tp] || 0;
    g.push(s("rect", { x: x(born), y: y + 1, width: Math.max(0, x(now) - x(born)), height: rowH - 2, fill: C.unowned,
                       stroke: "#e2e8f0" }));
    g.push(s("text", { x: labelW - 4, y: y + rowH / 2 + 4, "text-anchor": "end", "font-size": Math.min(12, rowH - 1),
                       fill: "#334155", "font-weight": 600 }, short(tp, b)));
  }
  // rebalances (as seen live), under the bars: the gaps show through
  for (const [a, e] of bs) {
    const bEnd = e === null ? snap.t : e;
    if (bEnd < t0 || a > now) continue;
    g.push(s("rect", { x: x(a), y: top - 2, width: Math.max(2, x(bEnd) - x(a)), height: rowH * parts.length + 4,
                       fill: C.rebalance, opacity: 0.8, class: "kf-band" }));
  }
  const byRow = {};
  for (const sp of spans) {
    if (!(sp.tp in row) || sp.b < t0 || sp.a > now) continue;
    (byRow[sp.tp] = byRow[sp.tp] || []).push(sp);
    const y = row[sp.tp];
    const v = snap.nodes[sp.c];
    const x0 = x(sp.a);
    const w = Math.max(1.5, x(sp.b) - x0);
    const bar = s("rect", { x: x0, y: y + 2, width: w, height: rowH - 4, rx: 2, fill: consumerColor(sp.c),
                            class: "kf-span", "data-tp": sp.tp, "data-consumer": sp.c, "data-open": sp.end ? "0" : "1" });
    bar.append(s("title", {}, `${sp.tp}: ${sp.c}${sp.end === "lost" ? " (lost it)" : sp.end ? " (revoked)" : " (now)"}`));
    g.push(bar);
    for (const [sa, sb] of stalls[sp.c] || []) { // stalled: it owns the partition but consumes nothing
      const a = Math.max(sa, sp.a);
      const e = Math.min(sb, sp.b, snap.t);
      if (e > a) {
        g.push(s("rect", { x: x(a), y: y + 2, width: Math.max(1.5, x(e) - x(a)), height: rowH - 4, fill: "url(#kf-stall)",
                           class: "kf-stalled" }));
      }
    }
    if (rowH >= 14 && w > 22) {
      g.push(s("text", { x: x0 + 4, y: y + rowH / 2 + 4, "font-size": Math.min(11, rowH - 5), fill: "#fff",
                         "font-weight": 700 }, sp.c));
    }
  }
  // two consumers on one partition at once: red hatching over the overlap
  for (const tp in byRow) {
    const list = byRow[tp];
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = Math.max(list[i].a, list[j].a);
        const e = Math.min(list[i].b, list[j].b);
        if (e > a && list[i].c !== list[j].c) {
          const o = s("rect", { x: x(a), y: row[tp] + 1, width: Math.max(2, x(e) - x(a)), height: rowH - 2,
                                fill: "url(#kf-hatch)", stroke: "#dc2626", class: "kf-overlap" });
          o.append(s("title", {}, `${tp}: ${list[i].c} and ${list[j].c} both consuming`));
          g.push(o);
        }
      }
    }
  }
  for (const d of dups) {
    if (!(d.tp in row) || d.t < t0 || d.t > now) continue;
    const cx = x(d.t);
    const y = row[d.tp];
    const tick = s("path", { d: `M${cx - 4},${y} L${cx + 4},${y} L${cx},${y + Math.min(8, rowH - 2)} Z`,
                             fill: "#dc2626", class: "kf-dup" });
    tick.append(s("title", {}, `${d.c} processed ${d.n} record${d.n === 1 ? "" : "s"} of ${d.tp} a second time`));
    g.push(tick);
  }
  // right column: owner now and lag (log end offset minus committed offset)
  for (const tp of parts) {
    const y = row[tp];
    const owners = consumers(snap).filter((c) => (snap.nodes[c].owned || []).includes(tp) && snap.nodes[c].status !== "crashed");
    const lag = leo(b, tp, snap.t) - (b.committed[tp] ?? 0);
    const fs = Math.min(11, rowH - 1);
    g.push(s("text", { x: W - rightW + 4, y: y + rowH / 2 + 4, "font-size": fs, "font-weight": 700,
                       fill: owners.length > 1 ? "#dc2626" : owners.length ? consumerColor(owners[0]) : "#94a3b8" },
             owners.length ? owners.join("+") : "—"));
    const lagEl = s("text", { x: W - 4, y: y + rowH / 2 + 4, "font-size": fs, "text-anchor": "end", class: "kf-lag",
                              "data-tp": tp, fill: lag > 5 * Math.max(1, b.rate) ? "#b91c1c" : "#334155" }, String(lag));
    lagEl.append(s("title", {}, `${tp}: log end ${leo(b, tp, snap.t)}, committed ${b.committed[tp] ?? "none"}: lag ${lag}`));
    g.push(lagEl);
  }
  // now line and time axis
  if (now === snap.t) {
    g.push(s("line", { x1: x(now), y1: top, x2: x(now), y2: top + rowH * parts.length, stroke: "#0f172a", "stroke-width": 1.5 }));
  }
  const step = niceStep(now - t0);
  const axisY = top + rowH * parts.length + 12;
  for (let t = Math.ceil(t0 / step) * step; t <= now - (now - t0) * 0.04; t += step) {
    g.push(s("line", { x1: x(t), y1: top + rowH * parts.length, x2: x(t), y2: axisY - 8, stroke: "#94a3b8" }));
    g.push(s("text", { x: x(t), y: axisY + 2, "font-size": 10, "text-anchor": "middle", fill: "#64748b" }, `${t / 1000}s`));
  }
  g.push(s("text", { x: 2, y: 9, "font-size": 10, fill: "#64748b" }, "who consumes each partition, over time →"));
  g.push(s("text", { x: W - rightW + 4, y: 9, "font-size": 10, fill: "#64748b" }, "owner"));
  g.push(s("text", { x: W - 4, y: 9, "font-size": 10, fill: "#64748b", "text-anchor": "end" }, "lag"));
  return s("svg", { class: "kf-board", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-t0": t0, "data-t1": now }, g);
}

// --- narration ----------------------------------------------------------------------------------------
function assignmentSummary(assignment, broker) {
  const by = {};
  for (const [tp, c] of Object.entries(assignment || {})) (by[c] = by[c] || []).push(tp);
  const parts = Object.keys(by).sort((a, z) => Number(a.slice(1)) - Number(z.slice(1)))
    .map((c) => `${c} {${shortList(by[c], broker)}}`);
  return parts.length ? parts.join(" · ") : "nobody owns anything";
}

function narrateBroker(ev, b) {
  const ch = ev.changes;
  const now = { ...b, ...ch };
  if ("status" in ch) return null;
  if (now.mode === "consumer") {
    const said = [];
    if ("members" in ch) {
      const was = Object.fromEntries((b.members || []).map((m) => [m[1], m[3]]));
      for (const m of ch.members) {
        const node = m[1];
        if (m[3] === was[node]) continue;
        const owns = Object.keys(now.assignment).filter((tp) => now.assignment[tp] === node);
        const wants = Object.keys(now.target).filter((tp) => now.target[tp] === node);
        if (m[3] === "unrevoked") {
          const give = owns.filter((tp) => !wants.includes(tp));
          if (give.length) said.push(`${node} must revoke ${shortList(give, now)} first`);
        } else if (m[3] === "unreleased") {
          const wait = wants.filter((tp) => !owns.includes(tp));
          const holders = [...new Set(wait.map((tp) => now.assignment[tp]).filter(Boolean))];
          if (wait.length) {
            said.push(`${node} waits for ${shortList(wait, now)}` + (holders.length ? `, still held by ${listNodes(holders)}` : ""));
          }
        }
      }
    }
    if ("generation" in ch && ch.generation > b.generation) {
      const why = now.reason ? `${now.reason}. ` : "";
      return `Group epoch ${ch.generation}: ${why}The coordinator computed a new target assignment: ` +
        `${assignmentSummary(now.target, now)}. Each member reconciles on its own: no barrier` +
        (said.length ? `. ${said.join("; ")}` : "");
    }
    if (said.length) return said.join("; ");
    if (ch.state === "Stable" && b.state !== "Stable") {
      return `Every member has reconciled with epoch ${now.generation}: ${assignmentSummary(now.assignment, now)}`;
    }
    if (ch.state === "Empty") return "The group is empty";
    return null;
  }
  if (ch.state === "PreparingRebalance") {
    const why = now.reason ? `${now.reason}` : "a rebalance";
    if (b.state === "Empty") {
      return `${why}: the group forms. The coordinator waits group.initial.rebalance.delay.ms ` +
        `(${secs(now.config.initial_delay_ms)}) for more members before the first rebalance`;
    }
    const how = now.mode === "eager" ? "every member must revoke all its partitions and rejoin (eager: nothing is consumed meanwhile)"
      : "members rejoin but keep consuming what they own (cooperative)";
    return `Rebalance of generation ${now.generation}: ${why}. The coordinator waits for every member to rejoin ` +
      `(at most max.poll.interval.ms, ${secs(now.config.max_poll_ms)}); ${how}`;
  }
  if (ch.state === "CompletingRebalance") {
    return `Everyone who counts has rejoined: generation ${now.generation}, leader ${now.leader}. The leader computes ` +
      `the assignment (${now.assignor}) and sends it with SyncGroup`;
  }
  if (ch.state === "Stable") {
    return `Generation ${now.generation} is stable: ${assignmentSummary(now.assignment, now)}`;
  }
  if (ch.state === "Empty") return `The group is empty (generation ${now.generation})`;
  return null;
}

function narrateConsumer(ev, before) {
  const id = ev.node;
  const b = before.nodes[id];
  const ch = ev.changes;
  const broker = coord(before);
  if ("status" in ch || ("active" in ch && "member_id" in ch && "log" in ch)) return null; // crash, restart, launch
  const out = [];
  if (ch.coordinator && ch.coordinator !== b.coordinator && b.error && /FindCoordinator/.test(b.error)
      && !mem.told[`found ${ch.coordinator}`]) {
    mem.told[`found ${ch.coordinator}`] = true; // said once: the other consumers do the same
    out.push(`${id} found the new coordinator with FindCoordinator: ${ch.coordinator}. Its heartbeats, commits and ` +
      "joins go there now; the others follow");
  }
  let quiet = false; // another consumer already said it lost this coordinator
  if (ch.coordinator) delete mem.told[`lost ${ch.coordinator}`];
  if (ch.coordinator === null && b.coordinator) {
    const key = `lost ${b.coordinator}`;
    quiet = !!mem.told[key];
    mem.told[key] = true;
    delete mem.told[`found ${b.coordinator}`];
  }
  const owned = ch.owned;
  if (owned) {
    const lost = (b.owned || []).filter((tp) => !owned.includes(tp));
    const got = owned.filter((tp) => !(b.owned || []).includes(tp));
    const log = (ev.splice && ev.splice.log ? ev.splice.log[1] : []) || [];
    const lostHard = log.some((e) => e[1] === "lost");
    if (lost.length) {
      for (const tp of lost) delete mem.dupSaid[`${id} ${tp}`];
      if (lostHard) out.push(`${id} lost ${shortList(lost, broker)}: it is no longer a member of this generation`);
      else if (!owned.length && broker.mode === "eager" && (ch.phase === "joining" || ch.phase === "committing")) {
        out.push(`${id} revoked all its partitions (${shortList(lost, broker)}) and rejoins: eager stop-the-world`);
      } else if (broker.mode === "cooperative") {
        out.push(`${id} revoked ${shortList(lost, broker)} (moving to another member) and rejoins for a second round`);
      } else if (broker.mode === "consumer") {
        out.push(`${id} committed and revoked ${shortList(lost, broker)}, and acknowledged it in its next heartbeat`);
      } else out.push(`${id} gave up ${shortList(lost, broker)}`);
    }
    if (got.length) {
      const from = got.map((tp) => mem.lastOwner[tp]).filter((c) => c && c !== id);
      const fromText = from.length ? ` (from ${listNodes([...new Set(from)])})` : "";
      out.push(`${id} now consumes ${shortList(got, broker)}${fromText}`);
    }
    for (const tp of got) mem.lastOwner[tp] = id;
  }
  if (ch.error && ch.error !== b.error && !quiet) out.push(`${id}: ${ch.error}`);
  if (ch.phase === "fenced") out.push(`${id} was fenced: another process now uses its group.instance.id; it shut down`);
  if ("stalled_until" in ch && ch.stalled_until === null && b.stalled_until !== null) {
    out.push(`${id} finished its slow batch and polls again`);
  }
  const log = ev.splice && ev.splice.log ? ev.splice.log[1] : [];
  const again = [];
  for (const e of log || []) {
    const key = `${id} ${e[2]}`;
    if (e[1] !== "dup" || mem.dupSaid[key]) continue;
    mem.dupSaid[key] = true;
    again.push(e[2]);
  }
  if (again.length) {
    out.push(isZombie(before, id)
      ? `${id} is a zombie: it processes ${shortList(again, broker)} although the group gave ${again.length === 1 ? "it" : "them"} ` +
        "to another member (duplicates)"
      : `${id} processes records of ${shortList(again, broker)} a second time: they were consumed before but never committed`);
  }
  return out.length ? out.join(". ") : null;
}

function narrateSend(ev, before) {
  const m = ev.msg;
  if (m.error === "NOT_COORDINATOR") {
    const key = `nc ${ev.from} ${ev.to}`;
    if (mem.told[key]) return null;
    mem.told[key] = true;
    return `${ev.from} answers ${ev.to} with NOT_COORDINATOR: it no longer leads __consumer_offsets. ` +
      `${ev.to} looks for the coordinator again (FindCoordinator)`;
  }
  if (m.kind === "OffsetCommitResponse" && m.error !== "NONE") {
    const b = coord(before);
    const why = {
      ILLEGAL_GENERATION: `it is from generation ${m.generation}, the group is at ${m.group_generation}`,
      UNKNOWN_MEMBER_ID: "the coordinator no longer knows this member (a zombie)",
      STALE_MEMBER_EPOCH: `its member epoch ${m.generation} is stale`,
      FENCED_INSTANCE_ID: "another process took its group.instance.id",
      REBALANCE_IN_PROGRESS: "the group is between JoinGroup and SyncGroup",
    }[m.error] || "";
    return `The coordinator rejected ${ev.to}'s offset commit (${shortList(Object.keys(m.offsets), b)}): ` +
      `${m.error}${why ? `, ${why}` : ""}`;
  }
  if (m.kind === "HeartbeatResponse" && m.error === "REBALANCE_IN_PROGRESS") {
    const v = before.nodes[ev.to];
    const key = `${ev.to} ${m.generation}`;
    if (v && v.phase === "stable" && !mem.told[key]) {
      mem.told[key] = true;
      return v.stalled_until !== null && v.stalled_until !== undefined
        ? `${ev.to}'s heartbeat answer: REBALANCE_IN_PROGRESS. But its application is stuck, so it cannot rejoin: ` +
          "the whole group waits for it"
        : `${ev.to}'s heartbeat answer: REBALANCE_IN_PROGRESS. It will rejoin at its next poll`;
    }
  }
  if (m.kind === "JoinGroupResponse" && m.error === "NONE" && m.members && m.members.length && !m.skip_assignment) {
    return `${ev.to} is the leader of generation ${m.generation}: it computes everyone's assignment for ` +
      `${plural(m.members.length, "member")}`;
  }
  if (m.kind === "JoinGroupResponse" && m.skip_assignment) {
    return `${ev.to} is back with its group.instance.id: same partitions, no rebalance`;
  }
  return null;
}

/** brokers >= 2: a broker became the coordinator, or caught up as a follower. */
function narrateRole(ev, b) {
  const ch = ev.changes;
  const now = { ...b, ...ch };
  if (ch.role === "coordinator" && b.role !== "coordinator") {
    const gen = `${now.mode === "consumer" ? "epoch" : "generation"} ${now.generation}`;
    const who = now.members.map((m) => m[1]);
    return `The controller fenced the old coordinator: ${ev.node} becomes the group coordinator (leader epoch ` +
      `${now.leader_epoch}) and loads the group from __consumer_offsets: ${now.state}, ${gen}` +
      (who.length ? `, members ${listNodes(who)}` : "") + ". No rebalance is needed for that";
  }
  if (ch.role === "follower" && b.role === "coordinator") return null; // told with the new coordinator
  if (ch.in_sync === true && b.in_sync === false && now.status === "up") {
    return `${ev.node} caught up with the coordinator's __consumer_offsets: an in-sync replica again`;
  }
  return null;
}

function title(id, view) {
  if (isBroker(view) && multi(view)) {
    const head = view.role === "coordinator"
      ? `${id}: the group coordinator, leader of __consumer_offsets (leader epoch ${view.leader_epoch})`
      : `${id}: a follower replica of __consumer_offsets (${view.in_sync ? "in sync" : "out of sync"})`;
    return view.role === "coordinator" ? [head, `group state: ${view.state}, ` +
      `${view.mode === "consumer" ? "epoch" : "generation"} ${view.generation}`,
      `members: ${view.members.map((m) => m[1]).join(", ") || "none"}`].join("\n") : head;
  }
  if (isBroker(view)) {
    return [`broker: the group coordinator (${modeText(view)})`, `group state: ${view.state}, ` +
      `${view.mode === "consumer" ? "epoch" : "generation"} ${view.generation}`,
      `members: ${view.members.map((m) => m[1]).join(", ") || "none"}`].join("\n");
  }
  if (!view.active) return `${id}: idle slot${view.phase === "fenced" ? " (its consumer was fenced)" : ""}`;
  const lines = [`${id}: ${view.phase}${view.leader ? ", group leader" : ""}${view.instance_id ? `, static (${view.instance_id})` : ""}`];
  lines.push(`member ${view.member_id || "—"}, ${mem.snap && coord(mem.snap).mode === "consumer" ? "epoch" : "generation"} ${view.generation}`);
  if ("coordinator" in view) lines.push(`coordinator: ${view.coordinator || "looking (FindCoordinator)"}`);
  lines.push(`owns: ${(view.owned || []).join(", ") || "nothing"}`);
  lines.push(`processed ${view.processed} records, ${view.dups} of them twice`);
  if (view.error) lines.push(`last error: ${view.error}`);
  return lines.join("\n");
}

function setStat(el, value, bad) {
  const text = String(value);
  if (el.textContent !== text) el.textContent = text;
  el.classList.toggle("bad", bad);
}

function skeleton(el) {
  if (el.__kafka && el.contains(el.__kafka.root)) return el.__kafka;
  const ui = { chipKey: null, stats: {} };
  ui.state = h("span", { class: "kf-state" });
  ui.sub = h("span", { class: "kf-sub" });
  ui.chips = h("div", { class: "kf-chips" });
  const stat = (name, label) => {
    ui.stats[name] = h("b", { "data-stat": name }, "0");
    return h("span", {}, `${label} `, ui.stats[name]);
  };
  ui.zoom = [["recent", "10 s"], ["rebalance", "last rebalance"], ["all", "all"]].map(([z, label]) =>
    h("button", { type: "button", dataset: { zoom: z }, onclick: () => {
      mem.zoom = z;
      if (mem.snap) mod.update(mem.snap);
    } }, label));
  ui.board = h("div", { class: "kf-boardwrap" });
  ui.root = h("div", { class: "kf-panel" },
    h("div", { class: "kf-head" }, "Group", ui.state, ui.sub),
    ui.chips,
    h("div", { class: "kf-stats" }, stat("unowned", "unowned now"), stat("dups", "processed twice"),
      stat("rejected", "commits rejected"), stat("lag", "lag"), h("span", { class: "kf-zoom" }, ui.zoom)),
    ui.board,
    h("div", { class: "kf-legend" },
      h("span", {}, h("i", { class: "consumed" }), "consumed (colour = consumer)"),
      h("span", {}, h("i", { class: "nobody" }), "nobody"),
      h("span", {}, h("i", { class: "overlap" }), "two at once"),
      h("span", {}, h("i", { class: "reprocessed" }), "reprocessed"),
      h("span", {}, h("i", { class: "stalled" }), "owner stalled"),
      h("span", {}, h("i", { class: "rebalancing" }), "rebalancing")),
    chartBox);
  el.replaceChildren(ui.root);
  el.__kafka = ui;
  return ui;
}

// --- the module ----------------------------------------------------------------------------------------
const mod = {
  name: "kafka",

  roleLegend: [
    { label: "coordinator", color: C.broker },
    { label: "consumers: one colour each (as on the board)", color: COLORS[0] },
    { label: "idle slot", color: "#cbd5e1" },
  ],

  layout(order) {
    const out = { [BROKER]: [0.5, 0.5] };
    const bs = order.filter((id) => /^b\d+$/.test(id));
    const cs = order.filter((id) => id !== BROKER && !/^b\d+$/.test(id));
    if (!bs.length) {
      const n = cs.length;
      cs.forEach((id, i) => {
        const a = (2 * Math.PI * i) / n;
        out[id] = [0.5 + 0.42 * Math.sin(a), 0.5 - 0.42 * Math.cos(a)];
      });
      return out;
    }
    // brokers >= 2: the brokers in a row across the middle, the consumers on arcs above and below it
    const span = Math.min(0.8, 0.28 * (bs.length - 1));
    bs.forEach((id, i) => { out[id] = [0.5 + (i / (bs.length - 1) - 0.5) * span, 0.5]; });
    const up = Math.ceil(cs.length / 2);
    const arc = (ids, sign) => {
      const m = ids.length;
      const spread = Math.min(Math.PI / 3, (m - 1) * 0.45);
      ids.forEach((id, k) => {
        const a = m === 1 ? 0 : (-1 + (2 * k) / (m - 1)) * spread;
        out[id] = [0.5 + sign * 0.44 * Math.sin(a), 0.5 - sign * 0.44 * Math.cos(a)];
      });
    };
    arc(cs.slice(0, up), 1); // c1.. left to right along the top
    arc(cs.slice(up), -1); // the rest right to left along the bottom
    return out;
  },

  nodeLabel(id) {
    return id === BROKER ? "B" : id;
  },

  nodeColor(view) {
    if (isBroker(view)) return multi(view) && view.role !== "coordinator" ? C.follower : C.broker;
    if (!view.active) return view.phase === "fenced" ? "#fca5a5" : C.idle;
    return consumerColor(view.slot);
  },

  nodeBadge(view) {
    if (isBroker(view) && multi(view)) {
      if (view.role === "coordinator") return "COORD";
      return view.in_sync ? "in sync" : "behind";
    }
    if (isBroker(view)) {
      if (view.mode === "consumer") return view.state === "Stable" ? `E${view.generation}` : view.state === "Empty" ? "EMPTY" : "REC";
      return { Stable: `G${view.generation}`, PreparingRebalance: "JOIN", CompletingRebalance: "SYNC", Empty: "EMPTY" }[view.state] || null;
    }
    if (!view.active) return view.phase === "fenced" ? "FENC" : "idle";
    if (view.stalled_until !== null && view.stalled_until !== undefined) return "STALL";
    const snap = mem.snap;
    if (snap && snap.nodes[view.slot] && isZombie(snap, view.slot)) return "ZOMB";
    switch (view.phase) {
      case "joining":
      case "unjoined":
        return "JOIN";
      case "syncing":
        return "SYNC";
      case "committing":
        return "CMT";
      case "reconciling":
        return "REC";
      case "leaving":
        return "BYE";
      case "stable": {
        const g = snap && coord(snap) && coord(snap).mode === "consumer" ? "E" : "G";
        return `${view.leader ? "★" : ""}${g}${view.generation}`;
      }
      default:
        return null;
    }
  },

  nodeTitle(id, view) {
    return title(id, view);
  },

  timerColor(name) {
    return name === "stall" ? "#dc2626" : name === "failover" ? C.find : "#b45309";
  },
  messageColor(msg) {
    if (msg.kind === "FindCoordinator" || msg.kind === "FindCoordinatorResponse") {
      return msg.error && msg.error !== "NONE" ? C.follower : C.find;
    }
    if (msg.error && msg.error !== "NONE" && msg.error !== "MEMBER_ID_REQUIRED") {
      return msg.error === "REBALANCE_IN_PROGRESS" ? C.join : C.error;
    }
    switch (msg.kind) {
      case "JoinGroup":
      case "JoinGroupResponse":
        return C.join;
      case "SyncGroup":
      case "SyncGroupResponse":
        return C.sync;
      case "Heartbeat":
      case "HeartbeatResponse":
        return C.heartbeat;
      case "ConsumerGroupHeartbeat":
        return msg.epoch === 0 ? C.join : msg.epoch < 0 ? C.leave : C.heartbeat;
      case "ConsumerGroupHeartbeatResponse":
        return "assignment" in msg ? C.assign : C.heartbeat;
      case "LeaveGroup":
      case "LeaveGroupResponse":
        return C.leave;
      case "OffsetCommit":
      case "OffsetCommitResponse":
        return C.commit;
      default:
        return C.fetch;
    }
  },

  messageLabel(msg) {
    const err = msg.error && msg.error !== "NONE" ? msg.error : null;
    if (err === "NOT_COORDINATOR") return "NOT_COORD";
    switch (msg.kind) {
      case "FindCoordinator":
        return "Find?";
      case "FindCoordinatorResponse":
        return err ? "n/a" : `→${msg.coordinator}`;
      case "JoinGroup":
        return "Join";
      case "JoinGroupResponse":
        return err === "MEMBER_ID_REQUIRED" ? "id" : err ? "✗" : msg.members && msg.members.length ? "Join★" : "Join✓";
      case "SyncGroup":
        return msg.assignments ? "Sync+plan" : "Sync";
      case "SyncGroupResponse":
        return err ? "✗" : `{${(msg.assignment || []).map((tp) => tp.slice(tp.lastIndexOf("p"))).join(",")}}`;
      case "HeartbeatResponse":
        return err === "REBALANCE_IN_PROGRESS" ? "⟲" : err ? "✗" : null;
      case "ConsumerGroupHeartbeat":
        return msg.epoch === 0 ? "Join" : msg.epoch < 0 ? "Leave" : null;
      case "ConsumerGroupHeartbeatResponse":
        return err ? "✗" : "assignment" in msg ? `{${msg.assignment.map((tp) => tp.slice(tp.lastIndexOf("p"))).join(",")}}` : null;
      case "LeaveGroup":
        return "Leave";
      case "OffsetCommit":
        return "C";
      case "OffsetCommitResponse":
        return err ? `✗${err.split("_")[0]}` : null;
      case "OffsetFetch":
        return "F?";
      default:
        return null;
    }
  },

  narrate(ev, before) {
    if (chart) chart.sample(before);
    if (ev.type === "intervention") {
      const b = coord(before);
      const target = before.nodes[ev.node];
      if (multi(target) && (ev.action === "crash" || ev.action === "pause")) {
        if (target.role !== "coordinator") {
          return `${ev.node} ${ev.action === "crash" ? "crashed" : "is paused"}: a follower replica drops out of the ` +
            "in-sync replicas; the group does not notice";
        }
        return `${ev.node} ${ev.action === "crash" ? "crashed" : "is paused"}: it was the group coordinator. ` +
          (ev.action === "crash" ? "The consumers' connections break at once and they ask another broker (FindCoordinator)"
            : "The consumers notice only when their requests time out") +
          `. The controller fences ${ev.node} after broker.session.timeout.ms (${secs(target.config.failover_ms)}) ` +
          "and moves the coordinator to the next in-sync broker. Meanwhile the consumers keep consuming";
      }
      if (multi(target) && (ev.action === "restart" || ev.action === "resume")) {
        return target.role === "coordinator"
          ? `${ev.node} is back before the controller fenced it: still the group coordinator`
          : `${ev.node} is back as a follower of __consumer_offsets (the coordinator is ${coordId(before)})`;
      }
      switch (ev.action) {
        case "add_consumer":
          return `▶ ${ev.node} starts${ev.instance_id ? ` (group.instance.id ${ev.instance_id})` : ""} and joins the group`;
        case "remove_consumer":
          return `${ev.node} shuts down cleanly: it commits, revokes and ` +
            (before.nodes[ev.node].instance_id ? "sends no LeaveGroup (a static member: the coordinator waits for its session timeout)"
              : "sends LeaveGroup, which starts a rebalance at once");
        case "stall":
          return `${ev.node}'s application is stuck on a slow batch for ${secs(ev.duration)}: no polls, ` +
            `but its heartbeat thread keeps it in the group (max.poll.interval.ms is ${secs(b.config.max_poll_ms)})`;
        case "add_partitions":
          return `${ev.count} partition${ev.count === 1 ? "" : "s"} added to ${ev.topic} (now ${ev.partitions}). ` +
            (b.mode === "consumer" ? "The coordinator notices at once"
              : "The group notices when its leader next refreshes metadata (metadata.max.age.ms)");
        default:
          return null;
      }
    }
    if (ev.type === "send") return narrateSend(ev, before);
    if (ev.type !== "state") return null;
    if (ev.node === BROKER) return narrateBroker(ev, before.nodes[BROKER]);
    const view = before.nodes[ev.node];
    if (isBroker(view)) {
      if ("role" in ev.changes || "in_sync" in ev.changes) return narrateRole(ev, view);
      return view.role === "coordinator" ? narrateBroker(ev, view) : null;
    }
    return narrateConsumer(ev, before);
  },

  mount(el, pageCtx) {
    panel = el;
    ctx = pageCtx;
    chartBox = h("div", { class: "kf-chartbox" });
  },

  reset(snap) {
    mem = { ...fresh(), zoom: mem.zoom, snap }; // the zoom is the user's choice: it stays
    chartFor(snap).reset(snap); // the chart keeps the branch's past up to this moment
  },

  unmount() {
    if (chart) chart.destroy();
    chart = null;
    panel.replaceChildren();
    panel.__kafka = null;
  },

  update(snap) {
    const el = panel;
    mem.snap = snap;
    const b = coord(snap);
    if (!b) return;
    chartFor(snap).update(snap);
    // The skeleton is built once and then updated in place: clickable things (chips, zoom buttons) must not
    // be replaced 30 times a second, or a click that lands between two frames is lost.
    const ui = skeleton(el);
    const cs = consumers(snap);
    ui.state.textContent = b.state;
    ui.state.className = `kf-state ${stateClass(b)}`;
    ui.state.dataset.state = b.state;
    ui.sub.textContent = `${b.mode === "consumer" ? "epoch" : "generation"} ${b.generation} · ${modeText(b)}` +
      `${b.leader ? ` · leader ${b.leader}` : ""}` +
      (multi(b) ? ` · coordinator ${coordId(snap)}${b.status === "crashed" ? " (down)" : ""}` : "");
    const chipKey = JSON.stringify(cs.map((c) => {
      const v = snap.nodes[c];
      return [c, v.active, (v.owned || []).length, v.leader, v.stalled_until, v.status, isZombie(snap, c),
              ctx.selected === c, v.phase];
    }));
    if (chipKey !== ui.chipKey) {
      ui.chipKey = chipKey;
      ui.chips.replaceChildren(...cs.map((c) => {
        const v = snap.nodes[c];
        const flags = [];
        if (v.leader) flags.push("★");
        if (v.stalled_until !== null && v.stalled_until !== undefined) flags.push("stalled");
        if (isZombie(snap, c)) flags.push("zombie");
        if (v.status === "crashed") flags.push("crashed");
        return h("span", {
          class: `kf-chip${v.active ? "" : " idle"}${ctx.selected === c ? " selected" : ""}`,
          dataset: { node: c }, title: title(c, v), onclick: () => ctx.select(c),
        }, h("span", { class: "dot", style: { background: v.active ? consumerColor(c) : "#e2e8f0" } }),
        h("b", {}, c), v.active ? ` ${(v.owned || []).length}p` : " idle",
        flags.length ? h("span", { class: "kf-flag" }, ` ${flags.join(" ")}`) : null);
      }));
    }
    for (const chip of ui.chips.children) { // the tooltips count records: kept current without a rebuild
      const text = title(chip.dataset.node, snap.nodes[chip.dataset.node]);
      if (chip.title !== text) chip.title = text;
    }
    const unowned = unownedCount(snap, b);
    const dups = cs.reduce((n, c) => n + (snap.nodes[c].dups || 0), 0);
    const lag = totalLag(snap, b);
    setStat(ui.stats.unowned, unowned, unowned > 0);
    setStat(ui.stats.dups, dups, dups > 0);
    const rejected = cs.reduce((n, c) => n + rejectedCommits(snap.nodes[c]), 0);
    setStat(ui.stats.rejected, rejected, rejected > 0);
    setStat(ui.stats.lag, lag, false);
    for (const btn of ui.zoom) {
      btn.classList.toggle("on", mem.zoom === btn.dataset.zoom);
      btn.disabled = btn.dataset.zoom === "rebalance" && !bands(b).length;
    }
    const width = Math.max(240, (el.clientWidth || 340) - 26);
    ui.board.replaceChildren(board(snap, width));
  },

  nodeMenu(id, view, snap) {
    const b = coord(snap);
    if (isBroker(view)) {
      return topicsOf(b).map((t) => ({ label: `+ Add a partition to ${t}`, intervention: { action: "add_partitions", topic: t, count: 1 } }));
    }
    if (view.status !== "up") return [];
    if (!view.active) {
      const items = [{ label: "▶ Start a consumer here", intervention: { action: "add_consumer", node: id } }];
      if (b.config.static) {
        for (const c of consumers(snap)) {
          const v = snap.nodes[c];
          if (c !== id && v.active && v.instance_id) {
            items.push({ label: `Start a duplicate of ${v.instance_id} (same group.instance.id)`,
                         intervention: { action: "add_consumer", node: id, instance_id: v.instance_id } });
          }
        }
      }
      return items;
    }
    if (view.stalled_until !== null && view.stalled_until !== undefined) return [];
    const maxPoll = b.config.max_poll_ms;
    return [
      { label: "Stall 2 s (a slow batch)", intervention: { action: "stall", node: id, duration: 2000 } },
      { label: `Stall ${secs(maxPoll + 3000)} (beyond max.poll.interval.ms)`,
        intervention: { action: "stall", node: id, duration: maxPoll + 3000 } },
      { label: "■ Shut down cleanly", intervention: { action: "remove_consumer", node: id } },
    ];
  },

  toolbar(snap) {
    const b = coord(snap);
    const cs = consumers(snap);
    const idle = cs.find((c) => !snap.nodes[c].active && snap.nodes[c].status === "up");
    const running = cs.filter((c) => snap.nodes[c].active && snap.nodes[c].status === "up");
    const last = running[running.length - 1];
    const stallable = running.filter((c) => snap.nodes[c].stalled_until === null);
    const stallWho = stallable[stallable.length - 1];
    const topic = topicsOf(b)[0];
    return [
      { label: "+ Consumer", intervention: { action: "add_consumer", node: idle || "next" },
        title: idle ? `start a consumer in slot ${idle}: it joins and the group rebalances` : "every slot is in use (more slots: settings, nodes)",
        disabled: !idle },
      { label: "− Consumer", intervention: { action: "remove_consumer", node: last || "last" },
        title: last ? `a clean shutdown of ${last}` : "no consumer is running", disabled: !last || snap.nodes[last].stalled_until !== null },
      { label: "Stall", title: stallWho ? `${stallWho}'s application stops polling for longer than max.poll.interval.ms (${secs(b.config.max_poll_ms)})` : "no consumer to stall",
        intervention: { action: "stall", node: stallWho || "last", duration: b.config.max_poll_ms + 3000 }, disabled: !stallWho },
      { label: "+ Partition", intervention: { action: "add_partitions", topic, count: 1 },
        title: `add a partition to ${topic}: who notices, and when?` },
    ];
  },
};

export default mod;
