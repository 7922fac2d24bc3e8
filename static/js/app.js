// The playground page: connects to /ws/play/, keeps the snapshot up to date from frames, draws it, and turns
// clicks, drags and keys into messages. Protocol specifics come from static/js/protocols/<name>.js.

import { Connection } from "./ws.js";
import { applyEvent, severedTest } from "./replay.js";
import { Topology, MAX_LINKS_NODES } from "./topology.js";
import { Feed } from "./feed.js";
import { h, fmtTime, listNodes } from "./util.js";
import generic from "./protocols/generic.js";
import { setupTimeline } from "./timeline.js";
import { setupShare } from "./share.js";

const config = JSON.parse(document.getElementById("playground-config").textContent);
const describe = config.protocol;
const $ = (sel) => document.querySelector(sel);

async function loadModule(name) {
  if (!config.view_module) {
    console.info(`no view module for ${name} yet (static/js/protocols/${name}.js): using the generic view`);
    return { ...generic, name };
  }
  try {
    const mod = (await import(`./protocols/${name}.js`)).default;
    return { ...generic, ...mod };
  } catch (err) {
    console.warn(`no view module for ${name} (static/js/protocols/${name}.js); using the generic one`, err);
    return { ...generic, name };
  }
}

const view = await loadModule(describe.name);

function clampSpeed(x) {
  return Number.isFinite(x) && x > 0 ? Math.min(config.speed.max, Math.max(config.speed.min, x)) : null;
}

// --- state ---------------------------------------------------------------------------------------
const params = new URLSearchParams(location.search);
const state = {
  snap: null,
  scenario: null,
  room: null,
  viewer: !!config.watch,
  playing: false,
  speed: clampSpeed(Number(params.get("speed"))) || config.speed.default,
  lagging: false,
  clock: { t: 0, wall: performance.now() },
  shownT: 0,
  dirty: true,
  selected: null,
  violations: {}, // invariant -> feed item id
  islands: false,
  seed: Number.parseInt(params.get("seed"), 10) || 1 + Math.floor(Math.random() * 9999),
  eventCount: 0, // events received since the page opened (tests read it)
  settings: null, // {nodes, params, network, mutations} chosen in the settings dialog
  // a saved scenario opened from its link (/s/<slug>) plays like a preset (config.saved: playground/pages.py)
  preset: config.saved || (config.presets || []).find((p) => p.slug === params.get("preset")) || null,
};

const feed = new Feed($("#feed"));
const topo = new Topology($("#topology"), {
  module: view,
  intervene,
  openMenu,
  onIslands: applyIslands,
});

// --- saving, sharing, time travel (static/js/share.js, static/js/timeline.js) ---------------------------
const ext = {
  config, describe, state, feed, topo,
  send: (msg) => conn.send(msg),
  toast: (text, kind) => toast(text, kind),
  refresh() {
    renderInvariants();
    updateControls();
    state.dirty = true;
  },
};
const timeline = setupTimeline(ext);
const extras = [timeline, setupShare(ext, timeline)];

// --- connection ----------------------------------------------------------------------------------
const conn = new Connection({ onMessage, onState: showConnection });
conn.open();
if (state.viewer) conn.send({ type: "watch", room: config.watch });
else startRun();

function scenario() {
  if (state.preset) return JSON.parse(JSON.stringify(state.preset.scenario));
  const sc = { protocol: describe.name, seed: state.seed };
  if (state.settings) Object.assign(sc, state.settings);
  return sc;
}

function startRun() {
  const options = Object.assign({}, ...extras.map((x) => x.startOptions())); // e.g. pause_at for a saved run
  conn.send({ type: "start", scenario: scenario(), speed: state.speed, ...options });
}

function onMessage(msg) {
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
      updateControls();
      break;
    case "error":
      onError(msg);
      break;
    case "closed":
      toast(msg.message || "The run ended", "warn");
      break;
    default:
      if (!extras.some((x) => x.handles.includes(msg.type))) console.warn("unknown message", msg);
  }
}

function onStarted(msg) {
  const firstRun = !state.snap || state.snap.order.length !== msg.snapshot.order.length;
  state.snap = msg.snapshot;
  state.scenario = msg.scenario;
  state.room = msg.room;
  state.playing = msg.playing;
  state.speed = msg.speed;
  state.clock = { t: msg.snapshot.t, wall: performance.now() };
  state.shownT = msg.snapshot.t;
  state.violations = {};
  state.islands = false;
  if (msg.scenario.layout) state.snap.layout = msg.scenario.layout;
  const keepLayout = !firstRun && !msg.scenario.layout ? topo.layout() : null;
  topo.setSnapshot(state.snap, { reset: true });
  topo.setIslandsMode(false);
  $(".stage-hint").textContent = hint();
  if (keepLayout) topo.setLayout(keepLayout);
  if (!state.viewer) {
    state.seed = msg.scenario.seed;
    $("#seed").value = msg.scenario.seed;
  }
  const muts = msg.scenario.mutations && msg.scenario.mutations.length ? ` · mutations: ${msg.scenario.mutations.join(", ")}` : "";
  feed.separator(`${state.viewer ? "Watching" : "Started"} ${msg.scenario.title || describe.title} · ${msg.snapshot.order.length} nodes · seed ${msg.scenario.seed}${muts}`);
  if (state.preset && !state.viewer) feed.add(null, state.preset.narrative, "info");
  renderInvariants();
  updateControls();
  state.dirty = true;
  if (pendingSettings && $("#settings").open) $("#settings").close(); // the new settings were accepted
  pendingSettings = false;
}

function onFrame(msg) {
  const snap = state.snap;
  if (!snap) return;
  state.eventCount += msg.events.length;
  for (const ev of msg.events) {
    narrate(ev, snap);
    topo.noteEvent(ev, state.shownT);
    applyEvent(snap, ev);
  }
  snap.t = msg.t;
  state.clock = { t: msg.t, wall: performance.now() };
  if (msg.events.length) state.dirty = true;
}

function onError(msg) {
  const field = msg.field || "";
  if (msg.code === "invalid_scenario" || field.startsWith("params.") || field === "nodes" || field === "seed") {
    showSettingsError(msg);
  }
  toast(msg.message, "error");
}

function intervene(iv) {
  if (state.viewer) {
    toast("You are watching someone else's run: it is read-only", "warn");
    return;
  }
  conn.send({ type: "intervene", intervention: iv });
}

// --- narration -----------------------------------------------------------------------------------
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

function narrate(ev, before) {
  let text = null;
  try {
    text = view.narrate(ev, before);
  } catch (err) {
    console.error("narrate failed", err);
  }
  if (ev.type === "violation") {
    const id = feed.add(ev.t, `⚠ ${label(ev.invariant)} violated: ${ev.details}`, "violation");
    if (!state.violations[ev.invariant]) state.violations[ev.invariant] = { id, t: ev.t, node: ev.node, details: ev.details };
    renderInvariants();
    return;
  }
  if (!text && ev.type === "intervention") {
    const f = COMMON_TEXT[ev.action];
    text = f ? f(ev) : `${ev.action} ${ev.node || ""}`;
  }
  if (!text && ev.type === "rejected") {
    text = `A scripted ${ev.intervention.action} could not apply: ${ev.error.message}`;
  }
  if (text) feed.add(ev.t, text, ev.type === "intervention" ? "intervention" : ev.type === "rejected" ? "error" : "info");
}

const label = (name) => name.replace(/_/g, " ");

// --- invariants ----------------------------------------------------------------------------------
function renderInvariants() {
  const el = $("#invariants");
  const entries = Object.entries(describe.invariants || {});
  el.replaceChildren(...entries.map(([name, doc]) => {
    const bad = state.violations[name];
    return h("button", {
      class: `invariant ${bad ? "bad" : "ok"}`,
      "data-invariant": name,
      title: bad ? `Violated at ${fmtTime(bad.t)}: ${bad.details}\n(click to see it in the feed)` : `Holds so far: ${doc}`,
      onclick: () => {
        if (!bad) {
          toast(`${label(name)}: ${doc}`, "info");
          return;
        }
        feed.show(bad.id);
        if (bad.node) select(bad.node);
      },
    }, bad ? "✗ " : "✓ ", label(name), bad ? h("span", { class: "at" }, ` @ ${fmtTime(bad.t)}`) : null);
  }));
}

// --- drawing loop --------------------------------------------------------------------------------
let lastToolbar = "";

function frameLoop() {
  const now = performance.now();
  if (state.snap) {
    let t = state.clock.t;
    if (state.playing) {
      // interpolate between frames (a quiet run sends a frame only every 250 ms), at most 300 ms ahead
      const ahead = Math.min((now - state.clock.wall) / 1000, 0.3) * state.speed;
      t = state.clock.t + Math.max(0, ahead);
    }
    state.shownT = Math.max(t, state.clock.t);
    topo.render(state.shownT);
    $("#clock").textContent = `t = ${fmtTime(Math.floor(state.shownT))}`;
    if (state.dirty) {
      state.dirty = false;
      renderPanel();
      renderToolbar();
    }
  }
  requestAnimationFrame(frameLoop);
}
requestAnimationFrame(frameLoop);

const ctx = {
  send: intervene,
  describe,
  get t() {
    return state.snap ? state.snap.t : 0;
  },
  get selected() {
    return state.selected;
  },
  select,
};

function renderPanel() {
  try {
    view.renderPanel($("#panel"), state.snap, ctx);
  } catch (err) {
    console.error("renderPanel failed", err);
  }
}

function renderToolbar() {
  let items = [];
  try {
    items = view.toolbar(state.snap) || [];
  } catch (err) {
    console.error("toolbar failed", err);
  }
  const key = JSON.stringify(items);
  if (key === lastToolbar) return;
  lastToolbar = key;
  $("#proto-toolbar").replaceChildren(...items.map((item) =>
    h("button", { class: "btn", title: item.title, disabled: !!item.disabled || state.viewer,
                  onclick: () => intervene(item.intervention) }, item.label)));
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  topo.selected = state.selected;
  state.dirty = true;
}

// --- node menu -------------------------------------------------------------------------------------
function openMenu(id, x, y) {
  if (!state.snap) return;
  const v = state.snap.nodes[id];
  const items = [];
  if (v.status === "up") items.push({ label: "☠ Crash", intervention: { action: "crash", node: id } });
  if (v.status === "crashed") items.push({ label: "↻ Restart", intervention: { action: "restart", node: id } });
  if (v.status === "up") items.push({ label: "❚❚ Pause", intervention: { action: "pause", node: id } });
  if (v.status === "paused") {
    items.push({ label: "▶ Resume", intervention: { action: "resume", node: id } });
    items.push({ label: "☠ Crash", intervention: { action: "crash", node: id } });
  }
  if (v.status !== "crashed") items.push({ label: "✂ Isolate (cut all its links)", intervention: isolate(id) });
  // beyond MAX_LINKS_NODES the stage draws no links to click: cut one from here
  const peers = state.snap.order.length > MAX_LINKS_NODES ? uncutPeers(id) : [];
  if (peers.length) items.push({ label: "✂ Cut a link…", open: () => openLinkMenu(id, peers, x, y) });
  let extra = [];
  try {
    extra = view.nodeMenu(id, v, state.snap) || [];
  } catch (err) {
    console.error("nodeMenu failed", err);
  }
  showMenu(id, x, y, h("div", { class: "menu-title" }, `${id} · ${v.status}`),
    ...items.map((it) => menuButton(it)),
    extra.length ? h("hr") : null,
    ...extra.map((it) => menuButton(it)));
}

/** Isolate a node: it becomes an island of its own, and the partition it was in (if any) stays as it was, so
 * isolating one node after another keeps the earlier ones isolated (a partition replaces the last one). */
function isolate(id) {
  const current = state.snap.net.partition || [];
  const groups = current.length
    ? current.map((g) => g.filter((n) => n !== id)).filter((g) => g.length)
    : [state.snap.order.filter((n) => n !== id)];
  return { action: "partition", groups: [...groups, [id]] };
}

function uncutPeers(id) {
  const severed = severedTest(state.snap.net);
  return state.snap.order.filter((n) => n !== id && state.snap.nodes[n].status !== "crashed" && !severed(id, n));
}

function openLinkMenu(id, peers, x, y) {
  showMenu(id, x, y, h("div", { class: "menu-title" }, `${id}: cut the link to…`),
    h("div", { class: "menu-peers" }, ...peers.map((n) => menuButton({ label: n, intervention: { action: "cut", a: id, b: n } }))));
}

function showMenu(id, x, y, ...children) {
  const menu = $("#node-menu");
  menu.replaceChildren(...children);
  menu.hidden = false;
  const rect = menu.getBoundingClientRect();
  menu.style.left = `${Math.max(4, Math.min(x, innerWidth - rect.width - 4))}px`;
  menu.style.top = `${Math.max(4, Math.min(y, innerHeight - rect.height - 4))}px`;
  menu.dataset.node = id;
  const first = menu.querySelector("button");
  if (first) first.focus();
  state.selected = topo.selected = id; // the node whose menu is open is the selected one (select() toggles)
  state.dirty = true;
}

function menuButton(item) {
  return h("button", {
    class: "menu-item",
    disabled: !!item.disabled,
    onclick: () => {
      if (item.open) return item.open(); // a submenu in its place
      closeMenu();
      intervene(item.intervention);
    },
  }, item.label);
}

function closeMenu() {
  $("#node-menu").hidden = true;
}

document.addEventListener("pointerdown", (e) => {
  const menu = $("#node-menu");
  if (!menu.hidden && !menu.contains(e.target)) closeMenu();
});

// --- islands (partition by dragging) ---------------------------------------------------------------
function applyIslands(groups) {
  // a new partition replaces the last one; everyone back on one island ends it (hand cuts stay either way)
  intervene(groups.length >= 2 ? { action: "partition", groups } : { action: "heal_partition" });
}

const HINT = document.querySelector(".stage-hint").textContent;
const HINT_MANY = "Drag a node onto the crash zone · right-click or long-press a node to cut one of its links, isolate it, and more";

/** The stage's one-line help: with many nodes no link is drawn to click, so it points at the node menu. */
function hint() {
  return state.snap && state.snap.order.length > MAX_LINKS_NODES ? HINT_MANY : HINT;
}

function toggleIslands() {
  if (state.viewer || !state.snap) return;
  state.islands = !state.islands;
  topo.setIslandsMode(state.islands);
  $(".stage-hint").textContent = state.islands
    ? "Drag nodes between islands: every link between two islands is cut · “Heal partition” ends it"
    : hint();
  if (!state.islands && state.snap.net.partition && state.snap.net.partition.length) intervene({ action: "heal_partition" });
  updateControls();
}

// --- controls --------------------------------------------------------------------------------------
const speedSlider = $("#speed");
speedSlider.min = Math.log10(config.speed.min);
speedSlider.max = Math.log10(config.speed.max);
speedSlider.step = 0.01;

function speedLabel(speed) {
  if (speed >= 999.5) return speed >= 1500 ? `${(speed / 1000).toFixed(1)}× real time` : "real time";
  return `1/${Math.round(1000 / speed)} of real time`;
}

function updateControls() {
  const play = $("#play");
  play.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
  play.setAttribute("aria-pressed", state.playing ? "true" : "false");
  speedSlider.value = Math.log10(state.speed);
  // short, so the toolbar stays one row on a projector; the tooltip says it in full
  const label = $("#speed-label");
  label.textContent = speedLabel(state.speed) + (state.lagging ? " ⚠ lagging" : "");
  label.title = state.lagging ? "The server runs this simulation as fast as it can, slower than the speed asked for" : "";
  $("#islands").textContent = state.islands ? "⚭ Heal partition" : "✂ Partition…";
  $("#islands").classList.toggle("active", state.islands);
  document.body.classList.toggle("viewer", state.viewer);
}

function togglePlay() {
  if (state.viewer || !state.snap) return;
  conn.send({ type: state.playing ? "pause" : "resume" });
  state.playing = !state.playing; // optimistic; the status message confirms
  updateControls();
}

function step() {
  if (state.viewer || !state.snap) return;
  conn.send({ type: "step" });
}

$("#play").addEventListener("click", togglePlay);
$("#step").addEventListener("click", step);
$("#restart").addEventListener("click", () => startRun());
$("#islands").addEventListener("click", toggleIslands);
$("#help-btn").addEventListener("click", () => $("#help").showModal());
$("#settings-btn").addEventListener("click", openSettings);
$("#invite").addEventListener("click", invite);
let speedTimer = null;
speedSlider.addEventListener("input", () => {
  state.speed = Math.round(10 ** Number(speedSlider.value) * 100) / 100;
  $("#speed-label").textContent = speedLabel(state.speed);
  clearTimeout(speedTimer);
  speedTimer = setTimeout(() => conn.send({ type: "speed", speed: state.speed }), 60);
});
$("#seed").addEventListener("change", () => {
  const seed = Number.parseInt($("#seed").value, 10);
  if (Number.isFinite(seed) && seed >= 0) {
    state.seed = seed;
    state.preset = null;
    startRun();
  }
});
$("#reconnect").addEventListener("click", () => {
  conn.open();
  if (state.viewer) conn.send({ type: "watch", room: config.watch });
  else startRun();
});

document.addEventListener("keydown", (e) => {
  const tag = (e.target && e.target.tagName) || "";
  if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
  if (document.querySelector("dialog[open]") && e.key !== "Escape") return;
  if (e.key === " " || e.code === "Space") {
    e.preventDefault();
    togglePlay();
  } else if (e.key === "ArrowRight") {
    e.preventDefault();
    step();
  } else if (e.key === "?" || (e.key === "/" && e.shiftKey)) {
    e.preventDefault();
    $("#help").showModal();
  } else if (e.key === "r" || e.key === "R") {
    startRun();
  } else if (e.key === "p" || e.key === "P") {
    toggleIslands();
  } else if (e.key === "Escape") {
    closeMenu();
  }
});

function showConnection(s) {
  $("#conn").dataset.state = s;
  $("#conn-text").textContent = { open: "live", connecting: "connecting…", closed: "disconnected" }[s] || s;
  $("#disconnected").hidden = s !== "closed";
}

async function invite() {
  if (!state.room) return;
  const url = `${location.origin}/play/${describe.name}/?watch=${encodeURIComponent(state.room)}`;
  try {
    await navigator.clipboard.writeText(url);
    toast(`Link copied — others can watch this run live: ${url}`, "info");
  } catch {
    toast(`Others can watch this run live at ${url}`, "info");
  }
}

// --- settings dialog ---------------------------------------------------------------------------------
function buildSettings() {
  const form = $("#settings-form");
  const fields = [];
  const nodes = describe.nodes;
  fields.push(numberField("nodes", "Nodes", nodes.default, nodes.min, nodes.max, 1, nodes.doc));
  for (const [name, p] of Object.entries(describe.params)) {
    const id = `params.${name}`;
    if (p.kind === "bool") {
      fields.push(h("label", { class: "field check", "data-field": id },
        h("input", { type: "checkbox", name: id, checked: !!p.default }), h("span", {}, label(name)),
        h("small", {}, p.doc)));
    } else if (p.kind === "choice") {
      fields.push(h("label", { class: "field", "data-field": id }, h("span", {}, label(name)),
        h("select", { name: id }, p.choices.map((c) => h("option", { value: c, selected: c === p.default }, c))),
        h("small", {}, p.doc)));
    } else if (p.kind === "int" || p.kind === "float") {
      fields.push(numberField(id, label(name), p.default, p.min, p.max, p.kind === "int" ? 1 : "any", p.doc));
    }
  }
  fields.push(numberField("network.latency.0", "latency min (ms)", 10, 0, 60000, 1, "shortest one-way delay"));
  fields.push(numberField("network.latency.1", "latency max (ms)", 30, 0, 60000, 1, "longest one-way delay"));
  fields.push(numberField("network.loss", "message loss", 0, 0, 1, "any", "probability that a message is lost"));
  $("#settings-fields").replaceChildren(...fields);
  const mutations = Object.entries(describe.mutations || {});
  $("#mutations").hidden = mutations.length === 0;
  $("#mutation-list").replaceChildren(...mutations.map(([name, doc]) =>
    h("label", { class: "field check", "data-field": `mutation.${name}` },
      h("input", { type: "checkbox", name: `mutation.${name}` }), h("span", {}, label(name)), h("small", {}, doc))));
  const presets = config.presets || [];
  $("#presets").hidden = presets.length === 0;
  $("#preset-list").replaceChildren(...presets.map((p) =>
    h("button", { type: "button", class: "preset", "data-preset": p.slug, onclick: () => {
      state.preset = p;
      pendingSettings = true;
      startRun();
    } }, h("b", {}, p.title), h("small", {}, p.narrative))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (e.submitter && e.submitter.value === "cancel") {
      $("#settings").close();
      return;
    }
    const data = new FormData(form);
    const sc = { nodes: Number(data.get("nodes")), params: {}, network: {} };
    for (const [name, p] of Object.entries(describe.params)) {
      const id = `params.${name}`;
      if (p.kind === "bool") sc.params[name] = data.get(id) === "on";
      else if (p.kind === "choice") sc.params[name] = data.get(id);
      else if (p.kind === "int") sc.params[name] = Number.parseInt(data.get(id), 10);
      else if (p.kind === "float") sc.params[name] = Number(data.get(id));
    }
    sc.network.latency = [Number(data.get("network.latency.0")), Number(data.get("network.latency.1"))];
    sc.network.loss = Number(data.get("network.loss"));
    sc.mutations = Object.keys(describe.mutations || {}).filter((m) => data.get(`mutation.${m}`) === "on");
    state.preset = null;
    const seed = Number.parseInt(data.get("seed"), 10);
    if (Number.isFinite(seed)) state.seed = seed;
    state.settings = sc;
    form.querySelectorAll(".field-error").forEach((x) => x.remove());
    pendingSettings = true;
    startRun();
  });
}

let pendingSettings = false;

function numberField(name, text, value, min, max, step, doc) {
  return h("label", { class: "field", "data-field": name }, h("span", {}, text),
    h("input", { type: "number", name, value, min, max, step, required: true, inputmode: "decimal" }),
    h("small", {}, doc ? `${doc} (${min}–${max})` : `${min}–${max}`));
}

function openSettings() {
  const form = $("#settings-form");
  form.querySelector("[name=seed]").value = state.seed;
  if (state.scenario) {
    const sc = state.scenario;
    form.querySelector("[name=nodes]").value = sc.nodes;
    for (const [name, value] of Object.entries(sc.params)) {
      const input = form.querySelector(`[name="params.${name}"]`);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = !!value;
      else input.value = value;
    }
    form.querySelector("[name='network.latency.0']").value = sc.network.latency[0];
    form.querySelector("[name='network.latency.1']").value = sc.network.latency[1];
    form.querySelector("[name='network.loss']").value = sc.network.loss;
    for (const m of Object.keys(describe.mutations || {})) {
      form.querySelector(`[name="mutation.${m}"]`).checked = (sc.mutations || []).includes(m);
    }
  }
  form.querySelectorAll(".field-error").forEach((x) => x.remove());
  $("#settings").showModal();
}

function showSettingsError(msg) {
  const dialog = $("#settings");
  const where = (msg.field || "").replace(/\[(\d+)\]/g, ".$1");
  const field = dialog.querySelector(`[data-field="${where}"]`) || dialog.querySelector("#settings-fields");
  dialog.querySelectorAll(".field-error").forEach((x) => x.remove());
  field.append(h("div", { class: "field-error" }, msg.message));
  if (!dialog.open) dialog.showModal();
}

buildSettings();

// --- legend, toasts ----------------------------------------------------------------------------------
$("#legend").replaceChildren(...(view.roleLegend || []).map((r) =>
  h("span", { class: "legend-item" }, h("span", { class: "dot", style: { background: r.color } }), r.label)),
h("span", { class: "legend-item" }, h("span", { class: "dot crashed" }), "crashed"),
h("span", { class: "legend-item" }, h("span", { class: "line-cut" }), "cut link"));

let toastTimer = null;
function toast(text, kind = "info") {
  const el = $("#toast");
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, kind === "error" ? 5000 : 3500);
}

// --- for tests and the curious ----------------------------------------------------------------------
window.playground = {
  timeline,
  get snapshot() {
    return state.snap;
  },
  get state() {
    return state;
  },
  get layout() {
    return state.snap ? topo.layout() : null;
  },
  leader() {
    if (!state.snap) return null;
    const up = state.snap.order.filter((id) => state.snap.nodes[id].status === "up" && state.snap.nodes[id].role === "leader");
    up.sort((a, b) => state.snap.nodes[b].term - state.snap.nodes[a].term);
    return up[0] || null;
  },
};
updateControls();
