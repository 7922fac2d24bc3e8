// Narration: every trace event goes to the view module's narrate(event, before) first; what it leaves unsaid
// and the page knows how to say (interventions of the shared vocabulary, scripted actions that could not apply,
// violations) is said here, in the feed.

import { Feed } from "../feed.js";
import { applyEvent } from "../replay.js";
import { h } from "../util.js";

const SUMMARY_MS = 4000; // the live region speaks at most one sentence this often
const LONG_WAIT_S = 1.5; // a wait this long in wall time (at the current speed) gets a countdown
const RANK = { violation: 0, intervention: 1, error: 1, info: 2 };

const COMMON_TEXT = {
  crash: (ev) => `☠ ${ev.node} crashed: it loses its volatile state and timers`,
  restart: (ev) => `↻ ${ev.node} restarted from its persistent state`,
  pause: (ev) => `❚❚ ${ev.node} paused: its messages and timers wait`,
  resume: (ev) => `▶ ${ev.node} resumed`,
  cut: (ev) => `✂ Link ${ev.a}${ev.oneway ? " → " : " – "}${ev.b} cut`,
  heal: (ev) => `⚭ Link ${ev.a}${ev.oneway ? " → " : " – "}${ev.b} healed`,
  partition: (ev) => `✂ Partition: ${ev.groups.map(groupText).join(" | ")}${ev.groups.length === 1 ? " | the rest" : ""}`,
  heal_partition: () => "⚭ Partition healed: the islands are one network again",
  heal_all: () => "⚭ Every link healed",
  set_link: (ev) => `Link ${ev.a} – ${ev.b}: ${ev.latency ? `latency ${ev.latency[0]}–${ev.latency[1]} ms` : ""}${ev.loss !== undefined ? ` loss ${Math.round(ev.loss * 100)}%` : ""}`,
  set_drift: (ev) => `${ev.node}'s clock now runs at ×${ev.factor}`,
};

/** "{n1 n2 n3}", or "{n1 … n500: 500 nodes}" for a big island (a 1,000-node partition is one line, not a page). */
function groupText(group) {
  return group.length <= 8 ? `{${group.join(" ")}}` : `{${group[0]} … ${group[group.length - 1]}: ${group.length} nodes}`;
}

/** "leader_completeness" -> "leader completeness" (invariant and mutation names on the page). */
export const label = (name) => name.replace(/_/g, " ");

/** The wait worth a countdown, or null: nothing in flight, and the earliest timer of a node that is up runs for
 * at least LONG_WAIT_S of wall time at `speed` (simulated ms per wall second), counted down to its end.
 * {node, name, at}. */
export function nextLongWait(snap, t, speed) {
  if (!snap || snap.messages.some((m) => !m.held)) return null; // something is on its way: not a wait
  let best = null;
  for (const id of snap.order) {
    const node = snap.nodes[id];
    if (!node || node.status === "crashed" || !node.timers) continue;
    for (const [name, [setAt, at]] of Object.entries(node.timers)) {
      if (at > t && (!best || at < best.at)) best = { node: id, name, at, setAt };
    }
  }
  return best && best.at - best.setAt >= LONG_WAIT_S * speed ? best : null;
}

/** Kafka's long wait after a consumer crashes: its coordinator (a node showing `config.session_ms` and its
 * `members`) drops it only once its session times out, 4.5 s without a heartbeat, and its timers are not in the
 * snapshot. `crashedAt`: node -> when it crashed. {who, what, at} (at: the latest it can end), or null. */
export function sessionWait(snap, t, crashedAt) {
  let best = null;
  for (const id of snap.order) {
    const c = snap.nodes[id];
    if (!c || c.status === "crashed" || !c.config || !c.config.session_ms || !Array.isArray(c.members)) continue;
    for (const m of c.members) {
      const slot = m[1];
      const at = crashedAt[slot] === undefined ? null : crashedAt[slot] + c.config.session_ms;
      if (at !== null && at > t && (!best || at < best.at)) {
        best = { who: "the coordinator", what: `${slot}'s session timeout (no heartbeat for ${c.config.session_ms / 1000} s)`, at, upTo: true };
      }
    }
  }
  return best;
}

/** The feed, with the page's part of the story; returns the Feed (page.feed). */
export function setupNarration(page, el) {
  const { state } = page;
  const feed = new Feed(el);

  // Screen readers: the feed itself is not a live region (a busy run would read out every event); a polite
  // summary is, at most one sentence every SUMMARY_MS: the most telling line since the last one (a violation,
  // then an intervention or refusal, else the newest line) and how many more there were.
  el.removeAttribute("aria-live");
  const summary = h("p", { id: "feed-summary", class: "sr-only", role: "status", "aria-live": "polite" });
  // a long wait, counted down ("n3 waits for its election timeout: 1.2 s"), above the feed
  const wait = h("p", { id: "feed-wait", class: "feed-wait", hidden: true });
  el.before(summary, wait);
  let unsaid = [];
  setInterval(() => {
    if (!unsaid.length) return;
    let best = unsaid[0];
    for (const x of unsaid) if (RANK[x.kind] <= RANK[best.kind]) best = x; // the newest of the highest rank
    const more = unsaid.length - 1;
    summary.textContent = more ? `${best.text} (and ${more} more event${more === 1 ? "" : "s"})` : best.text;
    unsaid = [];
  }, SUMMARY_MS);
  let crashedAt = {}; // node -> when it crashed, on the branch shown (for sessionWait)
  function noteCrash(ev) {
    if (ev.type !== "intervention" || !ev.node) return;
    if (ev.action === "crash") crashedAt[ev.node] = ev.t;
    else if (ev.action === "restart") delete crashedAt[ev.node];
  }
  setInterval(() => {
    const snap = state.snap;
    const t = snap ? Math.max(state.shownT || 0, snap.t) : 0;
    let w = snap ? sessionWait(snap, t, crashedAt) : null;
    if (!w && snap) {
      const timer = nextLongWait(snap, t, state.speed);
      if (timer) {
        const mod = page.view.module;
        w = { who: timer.node, at: timer.at,
              what: mod && mod.timerLabel ? mod.timerLabel(timer.name) : `its ${timer.name.replace(/[_:]/g, " ")} timer` };
      }
    }
    wait.hidden = !w;
    if (!w) return;
    wait.textContent = `◔ ${w.who} waits for ${w.what}: ${w.upTo ? "at most " : ""}${((w.at - t) / 1000).toFixed(1)} s`
      + " · ▶▶| (N) skips ahead";
  }, 200);

  function add(t, text, kind, ev) {
    unsaid.push({ kind, text });
    return feed.add(t, text, kind, ev);
  }

  function narrate(ev, before) {
    noteCrash(ev);
    const said = line(ev, before);
    if (ev.type === "violation") {
      const id = add(ev.t, said, "violation", ev);
      if (!state.violations[ev.invariant]) state.violations[ev.invariant] = { id, t: ev.t, node: ev.node, details: ev.details };
      page.emit("violation", ev);
      return;
    }
    if (said) add(ev.t, said, ev.type === "intervention" ? "intervention" : ev.type === "rejected" ? "error" : "info", ev);
  }

  /** The feed's line for an event (the view's, else the page's), or null. */
  function line(ev, before) {
    const text = page.view.narrate(ev, before);
    if (ev.type === "violation") return `⚠ ${label(ev.invariant)} violated: ${ev.details}`;
    let said = text;
    if (!said && ev.type === "intervention") {
      const f = COMMON_TEXT[ev.action];
      said = f ? f(ev) : `${ev.action} ${ev.node || ""}`;
    }
    if (!said && ev.type === "rejected") {
      said = `A scripted ${ev.intervention.action} could not apply: ${ev.error.message}`;
    }
    return said || null;
  }

  /** Tell the story again from `base` (a snapshot) through `events`: after a seek, a step back or a fork, the
   * feed holds exactly the current branch up to the current moment (static/js/page/feed-history.js). */
  feed.retell = (base, events, header) => {
    feed.el.replaceChildren();
    if (header) feed.separator(header);
    const snap = JSON.parse(JSON.stringify(base));
    crashedAt = {};
    for (const ev of events) {
      noteCrash(ev);
      const said = line(ev, snap);
      if (said) feed.add(ev.t, said, ev.type === "violation" ? "violation" : ev.type === "intervention" ? "intervention"
        : ev.type === "rejected" ? "error" : "info", ev);
      applyEvent(snap, ev);
    }
  };

  page.on("event", narrate);
  page.on("started", (msg) => {
    crashedAt = {};
    const sc = msg.scenario;
    const muts = sc.mutations && sc.mutations.length ? ` · mutations: ${sc.mutations.join(", ")}` : "";
    feed.header = `${state.viewer ? "Watching" : "Started"} ${sc.title || page.describe.title} · ${msg.snapshot.order.length} nodes · seed ${sc.seed}${muts}`;
    feed.separator(feed.header);
    if (state.preset && !state.viewer) feed.add(null, state.preset.narrative, "info");
  });
  return feed;
}
