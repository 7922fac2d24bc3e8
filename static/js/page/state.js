// State and routing: the page's state, the scenario to start (URL, preset, settings), the connection to
// /ws/play/, and the routing of server messages to the concerns that subscribed to them (page.on(type, fn)).
// Every other concern of the page (static/js/page/*.js) receives the `page` object made here.

import { Connection } from "../ws.js";
import { applyEvent } from "../replay.js";

/** The speed asked for in the URL, within the page's bounds (null when absent or not a number). */
function clampSpeed(config, x) {
  return Number.isFinite(x) && x > 0 ? Math.min(config.speed.max, Math.max(config.speed.min, x)) : null;
}

export function createPage(config) {
  const params = new URLSearchParams(location.search);
  const state = {
    snap: null,
    scenario: null,
    room: null,
    viewer: !!config.watch,
    playing: false,
    speed: clampSpeed(config, Number(params.get("speed"))) || config.speed.default,
    lagging: false,
    clock: { t: 0, wall: performance.now() },
    shownT: 0,
    dirty: true,
    selected: null,
    violations: {}, // invariant -> {id: feed item id, t, node, details}
    islands: false,
    seed: Number.parseInt(params.get("seed"), 10) || 1 + Math.floor(Math.random() * 9999),
    eventCount: 0, // events received since the page opened (tests read it)
    settings: null, // {nodes, params, network, mutations} chosen in the settings dialog
    // a saved scenario opened from its link (/s/<slug>) plays like a preset (config.saved: playground/pages.py)
    preset: config.saved || (config.presets || []).find((p) => p.slug === params.get("preset")) || null,
  };

  const listeners = {};
  const extras = []; // time travel, sharing: {observe(msg), handles, startOptions()}
  let conn = null;

  const page = {
    config,
    describe: config.protocol,
    state,

    /** Subscribe to a page event: "reset" (the snapshot was replaced: a new run, a seek, a step back), "started",
     * "event" (each trace event, with the snapshot just before it), "status", "fork" (a new branch starts at
     * the moment shown), "error", "connection", "refresh". */
    on(type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
    },
    emit(type, ...args) {
      for (const fn of listeners[type] || []) fn(...args);
    },

    addExtra(extra) {
      extras.push(extra);
    },

    send(msg) {
      conn.send(msg);
    },

    /** Open the connection (again, after a disconnection: a new run), then start or watch. */
    connect() {
      if (!conn) conn = new Connection({ onMessage: route, onState: (s) => page.emit("connection", s) });
      conn.open();
      if (state.viewer) conn.send({ type: "watch", room: config.watch });
      else page.startRun();
    },

    scenario() {
      if (state.preset) return JSON.parse(JSON.stringify(state.preset.scenario));
      const sc = { protocol: page.describe.name, seed: state.seed };
      if (state.settings) Object.assign(sc, state.settings);
      return sc;
    },

    startRun() {
      const options = Object.assign({}, ...extras.map((x) => x.startOptions())); // e.g. pause_at for a saved run
      conn.send({ type: "start", scenario: page.scenario(), speed: state.speed, ...options });
    },

    /** Apply an intervention of the shared vocabulary (or a protocol action) now; viewers cannot. */
    intervene(iv) {
      if (state.viewer) {
        page.toast("You are watching someone else's run: it is read-only", "warn");
        return;
      }
      conn.send({ type: "intervene", intervention: iv });
    },

    /** Replace the snapshot (a new run, a seek, a step back): every concern and the view module start over
     * from it (the "reset" event; docs/frontend.md). */
    replaceSnapshot(snapshot, { t, playing, speed }) {
      state.snap = snapshot;
      state.playing = playing;
      state.speed = speed;
      state.clock = { t, wall: performance.now() };
      state.shownT = t;
      state.violations = {};
      state.dirty = true;
      page.emit("reset", snapshot);
    },

    /** Redraw what depends on the state: invariant badges, controls, and (next frame) panel and toolbar. */
    refresh() {
      page.emit("refresh");
      state.dirty = true;
    },

    /** Select a node (or unselect it): highlighted on the stage, and in the view's panel if it cares. */
    select(id) {
      state.selected = state.selected === id ? null : id;
      page.topo.selected = state.selected;
      state.dirty = true;
    },

    toast() {}, // set by static/js/page/toasts.js
  };

  function onStarted(msg) {
    state.scenario = msg.scenario;
    state.room = msg.room;
    if (msg.scenario.layout) msg.snapshot.layout = msg.scenario.layout;
    page.replaceSnapshot(msg.snapshot, { t: msg.snapshot.t, playing: msg.playing, speed: msg.speed });
    page.emit("started", msg);
    page.refresh();
  }

  function onFrame(msg) {
    const snap = state.snap;
    if (!snap) return;
    state.eventCount += msg.events.length;
    for (const ev of msg.events) {
      page.emit("event", ev, snap); // `snap` is still the state just before `ev`
      applyEvent(snap, ev);
    }
    snap.t = msg.t;
    state.clock = { t: msg.t, wall: performance.now() };
    if (msg.events.length) state.dirty = true;
  }

  function route(msg) {
    // an extra that answers an error itself (share: in its dialog) returns true, and the page adds no toast
    const claimed = extras.map((x) => x.observe(msg)).some((answered) => answered === true);
    if (claimed && msg.type === "error") return;
    switch (msg.type) {
      case "started":
        onStarted(msg);
        break;
      case "frame":
        onFrame(msg);
        break;
      case "status":
        state.playing = msg.playing;
        state.speed = msg.speed;
        state.lagging = !!msg.lagging;
        state.clock = { t: Math.max(state.clock.t, msg.t), wall: performance.now() };
        page.emit("status", msg);
        break;
      case "timeline":
        // a fork (acting after travelling back) starts a new branch from the moment shown: views start over
        if (msg.forked && state.snap) page.emit("fork", state.snap);
        break;
      case "error":
        page.emit("error", msg);
        page.toast(msg.message, "error");
        break;
      case "closed":
        page.toast(msg.message || "The run ended", "warn");
        break;
      default:
        if (!extras.some((x) => x.handles.includes(msg.type))) console.warn("unknown message", msg);
    }
  }

  return page;
}
