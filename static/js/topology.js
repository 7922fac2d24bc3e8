// The topology view: nodes, links, messages in flight, timer arcs; and direct manipulation with Pointer
// Events (mouse, pen and touch alike): drag nodes, drop one on the crash zone to crash it (drag it out or
// click it to restart), click a link to cut or heal it, drag nodes between islands to partition, open a
// node's menu (right click, long press, or click).

import { s, GREY, crashZone, nodeRadius, stageFrame } from "./util.js";
import { severedTest } from "./replay.js";

const LONG_PRESS_MS = 550;
const DRAG_THRESHOLD = 6; // px before a press becomes a drag
export const MAX_LINKS_NODES = 12; // draw every link up to this many nodes; beyond, only cut links
const MAX_LABELLED_MESSAGES = 40;
const FALL_MS = 800;
const MAX_FALLING = 30;
const ISLANDS = ["A", "B", "C"];
const MAX_FIT_NODES = 60; // up to this many nodes the radius is fitted to the closest pair (n² distances)
// Above this many nodes, messages in flight are drawn on a <canvas> under the SVG instead of one SVG element each:
// at 1,000 gossip nodes hundreds of dots move every frame, and moving SVG elements costs a style recalc, a
// layout and a repaint of the SVG under them; the canvas is its own layer and is simply redrawn.
const CANVAS_MESSAGES_NODES = 150;

export class Topology {
  /**
   * @param {SVGSVGElement} svg
   * @param {object} opts  module (protocol view), intervene(iv), openMenu(id, x, y), onIslands(groups)
   */
  constructor(svg, opts) {
    this.svg = svg;
    this.opts = opts;
    // prefers-reduced-motion: messages wait half-way instead of gliding, nothing falls or pulses
    const motion = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
    this.reducedMotion = !!(motion && motion.matches);
    if (motion && motion.addEventListener) motion.addEventListener("change", (e) => { this.reducedMotion = e.matches; });
    this.module = opts.module;
    this.snap = null;
    this.home = {}; // id -> [u, v] in 0..1 (where the node sits when up, outside islands mode)
    this.placed = new Set(); // ids whose home a hand (or a shared link) chose
    this.islandOf = {}; // id -> "A" | "B" | "C" in islands mode
    this.islandsMode = false;
    this.selected = null;
    this.drag = null;
    this.falling = [];
    this.flashes = [];
    this.W = 800;
    this.H = 600;
    this.nodeEls = new Map();
    this.linkEls = new Map();
    this.msgEls = new Map();

    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Topology: nodes and the messages between them");
    this.gZones = s("g", { class: "zones" });
    this.gLinks = s("g", { class: "links" });
    this.gMsgs = s("g", { class: "messages" });
    this.gNodes = s("g", { class: "nodes" });
    this.gFx = s("g", { class: "fx" });
    svg.append(this.gZones, this.gLinks, this.gMsgs, this.gNodes, this.gFx);
    this.canvas = document.createElement("canvas");
    this.canvas.className = "msg-canvas";
    this.canvas.setAttribute("aria-hidden", "true");
    this.canvasUsed = false;
    svg.insertAdjacentElement("beforebegin", this.canvas);

    this.crashZone = s("g", { class: "crash-zone", "data-zone": "crash" });
    this.crashRect = s("rect", { rx: 14 });
    this.crashText = s("text", { class: "zone-label" }, "☠ crash zone");
    this.crashHint = s("text", { class: "zone-hint" }, "drop a node here");
    this.crashZone.append(this.crashRect, this.crashText, this.crashHint);
    this.islandEls = ISLANDS.map((name) => {
      const g = s("g", { class: "island", "data-island": name });
      const rect = s("rect", { rx: 22 });
      const label = s("text", { class: "island-label" }, `island ${name}`);
      g.append(rect, label);
      return { name, g, rect, label };
    });
    for (const isl of this.islandEls) this.gZones.append(isl.g);
    this.gZones.append(this.crashZone);
    this.gGroups = s("g", { class: "partition-groups" }); // a partition in force, outside partition mode
    this.gZones.prepend(this.gGroups);

    new ResizeObserver(() => this.resize()).observe(svg);
    this.resize();
    svg.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  // --- geometry ---------------------------------------------------------------------------------
  resize() {
    const r = this.svg.getBoundingClientRect();
    this.W = Math.max(200, r.width);
    this.H = Math.max(200, r.height);
    this.svg.setAttribute("viewBox", `0 0 ${this.W} ${this.H}`);
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.W * this.dpr);
    this.canvas.height = Math.round(this.H * this.dpr);
    this.canvasUsed = true; // resizing cleared it; the next render redraws it
    this.crash = crashZone(this.W, this.H);
    const { w: cw, h: ch } = this.crash;
    Object.entries({ x: this.crash.x, y: this.crash.y, width: cw, height: ch })
      .forEach(([k, v]) => this.crashRect.setAttribute(k, v));
    this.crashText.setAttribute("x", this.crash.x + cw / 2);
    this.crashText.setAttribute("y", this.crash.y + 24);
    this.crashHint.setAttribute("x", this.crash.x + cw / 2);
    this.crashHint.setAttribute("y", this.crash.y + ch - 10);
    // islands: side by side on wide screens, stacked on narrow ones; above the crash zone
    const wide = this.W >= this.H * 0.9;
    const top = 46; // below the stage hint (two lines on a projector)
    const bottom = this.crash.y - 10;
    this.islands = {};
    ISLANDS.forEach((name, i) => {
      const box = wide
        ? { x: 8 + (i * (this.W - 16)) / 3 + 4, y: top, w: (this.W - 16) / 3 - 8, h: bottom - top }
        : { x: 8, y: top + (i * (bottom - top)) / 3 + 4, w: this.W - 16, h: (bottom - top) / 3 - 8 };
      this.islands[name] = box;
      const el = this.islandEls[i];
      Object.entries({ x: box.x, y: box.y, width: box.w, height: box.h }).forEach(([k, v]) => el.rect.setAttribute(k, v));
      el.label.setAttribute("x", box.x + 14);
      el.label.setAttribute("y", box.y + 26);
    });
    this.nodeRadius = this.computeRadius();
    if (this.snap && this.module.layout) this.layOut();
  }

  computeRadius() {
    const n = this.snap ? this.snap.order.length : 5;
    const r = (this.module.nodeRadius || nodeRadius)(this.W, this.H, n); // a view module may fit its own layout
    // never so big that two nodes at home overlap (Paxos's columns on a 480 px high projector did)
    if (!this.snap || n > MAX_FIT_NODES || !this.crash) return r;
    const { side } = stageFrame(this.W, this.H, r, this.crash);
    const ids = this.snap.order.filter((id) => this.home[id] && !this.placed.has(id)); // a hand may stack nodes
    let closest = Infinity;
    for (let i = 0; i < ids.length; i++) {
      const [u, v] = this.home[ids[i]];
      for (let j = i + 1; j < ids.length; j++) {
        const [p, q] = this.home[ids[j]];
        closest = Math.min(closest, Math.hypot(u - p, v - q) * side);
      }
    }
    return closest < Infinity ? Math.max(9, Math.min(r, (closest - 4) / 2)) : r;
  }

  defaultLayout(order) {
    if (this.module.layout) {
      const lay = this.module.layout(order, this.snap);
      if (lay) return lay;
    }
    const out = {};
    const n = order.length;
    order.forEach((id, i) => {
      const a = (2 * Math.PI * i) / n;
      out[id] = [0.5 + 0.5 * Math.sin(a), 0.5 - 0.5 * Math.cos(a)]; // unit circle in a 0..1 square
    });
    return out;
  }

  /** The square the circle layout lives in: as big as fits, clear of the crash zone (bottom right). */
  frame() {
    return stageFrame(this.W, this.H, this.nodeRadius || 30, this.crash);
  }

  /** Map a layout position (0..1 in the circle's square) to pixels. */
  toPx([u, v]) {
    const { side, cx, cy } = this.frame();
    return [cx + (u - 0.5) * side, cy + (v - 0.5) * side];
  }

  toLayout([x, y]) {
    const { side, cx, cy } = this.frame();
    return [(x - cx) / side + 0.5, (y - cy) / side + 0.5];
  }

  /** Current positions of every node in pixels: crashed in the crash zone, islands, or home. */
  positions() {
    const pos = {};
    const snap = this.snap;
    const crashed = snap.order.filter((id) => snap.nodes[id].status === "crashed");
    const r = this.nodeRadius;
    const cr = Math.min(r, 18);
    const perRow = Math.max(1, Math.floor((this.crash.w - 16) / (cr * 2 + 8)));
    crashed.forEach((id, i) => {
      const row = Math.floor(i / perRow);
      const col = i % perRow;
      const inRow = Math.min(perRow, crashed.length - row * perRow);
      const x0 = this.crash.x + this.crash.w / 2 - ((inRow - 1) * (cr * 2 + 8)) / 2;
      pos[id] = [x0 + col * (cr * 2 + 8), this.crash.y + this.crash.h / 2 + 4 + row * (cr * 2 + 4)];
    });
    if (this.islandsMode) {
      for (const name of ISLANDS) {
        const members = snap.order.filter((id) => this.islandOf[id] === name && snap.nodes[id].status !== "crashed");
        const box = this.islands[name];
        const cell = 2 * r + 26;
        const cols = Math.max(1, Math.min(members.length, Math.floor((box.w - 12) / cell)));
        const rows = Math.ceil(members.length / cols);
        const top = box.y + 40 + Math.max(0, (box.h - 40 - rows * cell) / 2);
        members.forEach((id, i) => {
          const row = Math.floor(i / cols);
          const inRow = Math.min(cols, members.length - row * cols);
          const x0 = box.x + box.w / 2 - ((inRow - 1) * cell) / 2;
          pos[id] = [x0 + (i % cols) * cell, top + row * cell + cell / 2];
        });
      }
    }
    const { side, cx, cy } = this.frame(); // once, not per node (toPx would recompute it)
    const home = [];
    for (const id of snap.order) {
      if (pos[id]) continue;
      const [u, v] = this.home[id] || [0.5, 0.5];
      pos[id] = [cx + (u - 0.5) * side, cy + (v - 0.5) * side];
      home.push(id);
    }
    if (!this.islandsMode) spreadPartition(snap.net.partition, home, pos, side, cx, cy);
    if (this.drag && this.drag.moved) pos[this.drag.id] = [this.drag.x, this.drag.y];
    return pos;
  }

  // --- state ------------------------------------------------------------------------------------
  setSnapshot(snap, { reset = false } = {}) {
    const first = !this.snap || reset;
    this.snap = snap;
    if (first) {
      this.home = {};
      this.placed = new Set(Object.keys(snap.layout || {})); // put by a hand (or a shared link), not by us
      this.layOut();
      if (snap.layout) this.setLayout(snap.layout);
      this.islandOf = {};
      this.islandsMode = false;
      this.clear();
      this.nodeRadius = this.computeRadius();
    }
  }

  setLayout(layout) {
    for (const [id, pos] of Object.entries(layout || {})) {
      if (this.snap.nodes[id]) {
        this.home[id] = pos;
        this.placed.add(id);
      }
    }
  }

  /** Home positions of every node no hand has placed. A view module's own layout (gossip's grid) is fitted to
   * the stage's current size, so it is laid out again whenever the stage changes size. */
  layOut() {
    const lay = this.defaultLayout(this.snap.order);
    for (const id of this.snap.order) if (!this.placed.has(id)) this.home[id] = lay[id] || [0.5, 0.5];
  }

  layout() {
    const out = {};
    for (const id of this.snap.order) out[id] = this.home[id].map((x) => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000);
    return out;
  }

  clear() {
    for (const g of [this.gLinks, this.gMsgs, this.gNodes, this.gFx]) g.replaceChildren();
    this.nodeEls.clear();
    this.linkEls.clear();
    this.msgEls.clear();
    this.canvasUsed = true; // repaint (clear) the message canvas on the next render
    this.falling = [];
  }

  /** Called for each event before the snapshot applies it (a dropped message is gone afterwards). */
  noteEvent(ev, t) {
    if (ev.type === "drop") {
      const m = this.snap.messages.find((x) => x.id === ev.id);
      const pos = this.positions();
      let x, y;
      if (m) [x, y] = this.messageXY(m, t, pos);
      else if (pos[ev.from] && pos[ev.to]) [x, y] = this.messageXY({ from: ev.from, to: ev.to, sent_at: 0, deliver_at: 1 }, 0, pos);
      if (x !== undefined && this.falling.length < MAX_FALLING && !this.reducedMotion) {
        this.falling.push({ x, y, color: m ? this.module.messageColor(m.msg) : GREY, start: performance.now(),
                            reason: ev.reason });
      }
    } else if (ev.type === "violation" && ev.node) {
      this.flashes.push({ id: ev.node, start: performance.now() });
    }
  }

  setIslandsMode(on) {
    this.islandsMode = on;
    this.islandOf = {};
    if (on) {
      // the partition in force, if any, starts on its islands (more groups than islands share the last one)
      const groups = (this.snap.net && this.snap.net.partition) || [];
      for (const id of this.snap.order) this.islandOf[id] = "A";
      groups.forEach((g, i) => {
        for (const id of g) if (this.snap.nodes[id]) this.islandOf[id] = ISLANDS[Math.min(i, ISLANDS.length - 1)];
      });
    }
    this.svg.classList.toggle("islands-mode", on);
  }

  islandGroups() {
    const groups = ISLANDS.map((name) => this.snap.order.filter((id) => this.islandOf[id] === name)).filter((g) => g.length);
    return groups;
  }

  // --- drawing ------------------------------------------------------------------------------------
  messageXY(m, t, pos) {
    const a = pos[m.from];
    const b = pos[m.to];
    if (!a || !b) return [0, 0];
    const span = Math.max(1, m.deliver_at - m.sent_at);
    let p = m.held ? 0.86 : this.reducedMotion ? 0.5 : (t - m.sent_at) / span;
    p = Math.max(0, Math.min(m.held ? 0.86 : 1, p));
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const r = this.nodeRadius;
    // start and end at the nodes' rims; offset sideways so the two directions do not overlap
    const start = Math.min(0.45, r / len);
    const q = start + (1 - 2 * start) * p;
    const off = (m.from < m.to ? 1 : -1) * Math.max(3, r * 0.18);
    return [a[0] + dx * q + (-dy / len) * off, a[1] + dy * q + (dx / len) * off];
  }

  render(t) {
    if (!this.snap) return;
    const snap = this.snap;
    const pos = this.positions();
    const r = this.nodeRadius;
    this.svg.style.setProperty("--r", `${r}px`);
    for (const isl of this.islandEls) {
      isl.g.style.display = this.islandsMode ? "" : "none";
      isl.g.classList.toggle("target", !!(this.drag && this.drag.moved && this.drag.island === isl.name));
    }
    this.crashZone.classList.toggle("target", !!(this.drag && this.drag.moved && this.drag.overCrash));
    this.renderGroups(pos);
    this.renderLinks(pos);
    if (snap.order.length > CANVAS_MESSAGES_NODES) {
      if (this.msgEls.size) {
        this.gMsgs.replaceChildren();
        this.msgEls.clear();
      }
      this.paintMessages(t, pos);
    } else {
      if (this.canvasUsed) {
        this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
        this.canvasUsed = false;
      }
      this.renderMessages(t, pos);
    }
    this.renderNodes(t, pos);
    this.renderFx(pos);
  }

  /** A partition in force (outside partition mode): a dashed ring around each group's nodes that are up. */
  renderGroups(pos) {
    const groups = !this.islandsMode && this.snap.net.partition && this.snap.net.partition.length >= 2
      ? this.snap.net.partition : [];
    const r = this.nodeRadius;
    const rings = [];
    groups.forEach((g) => {
      const up = g.filter((id) => pos[id] && this.snap.nodes[id] && this.snap.nodes[id].status !== "crashed");
      if (!up.length) return;
      const cx = up.reduce((a, id) => a + pos[id][0], 0) / up.length;
      const cy = up.reduce((a, id) => a + pos[id][1], 0) / up.length;
      const reach = Math.max(...up.map((id) => Math.hypot(pos[id][0] - cx, pos[id][1] - cy))) + r + 6;
      rings.push(s("circle", { class: "partition-group", cx: cx.toFixed(1), cy: cy.toFixed(1), r: reach.toFixed(1) }));
    });
    const key = rings.map((c) => `${c.getAttribute("cx")},${c.getAttribute("cy")},${c.getAttribute("r")}`).join(";");
    if (key !== this.groupsKey) {
      this.groupsKey = key;
      this.gGroups.replaceChildren(...rings);
    }
  }

  renderLinks(pos) {
    const snap = this.snap;
    const severed = severedTest(snap.net);
    const order = snap.order;
    // every pair up to MAX_LINKS_NODES nodes; beyond, only links cut by hand (never walk N^2 pairs at 1,000
    // nodes: a partition there shows as islands, not as a quarter of a million dashed lines)
    let want;
    if (order.length <= MAX_LINKS_NODES) {
      want = new Set();
      for (let i = 0; i < order.length; i++) {
        for (let j = i + 1; j < order.length; j++) {
          want.add(order[i] < order[j] ? `${order[i]}|${order[j]}` : `${order[j]}|${order[i]}`);
        }
      }
    } else {
      want = new Set(snap.net.cuts.map(([a, b]) => (a < b ? `${a}|${b}` : `${b}|${a}`)));
    }
    for (const [key, el] of this.linkEls) {
      if (!want.has(key)) {
        el.g.remove();
        this.linkEls.delete(key);
      }
    }
    for (const key of want) {
      let el = this.linkEls.get(key);
      const [a, b] = key.split("|");
      if (!snap.nodes[a] || !snap.nodes[b]) continue;
      if (!el) {
        const g = s("g", { class: "link", "data-link": key, tabindex: 0 });
        const line = s("line", { class: "link-line" });
        const hit = s("line", { class: "link-hit" });
        const title = s("title", {}, `${a} – ${b}: click to cut`);
        g.append(hit, line, title);
        g.addEventListener("click", (e) => {
          e.stopPropagation();
          this.toggleLink(a, b);
        });
        g.addEventListener("keydown", (e) => {
          if (e.key === "Enter") this.toggleLink(a, b);
        });
        this.gLinks.append(g);
        el = { g, line, hit, title, cut: null, xy: "", down: null };
        this.linkEls.set(key, el);
      }
      const p = pos[a];
      const q = pos[b];
      const xy = `${p[0]},${p[1]},${q[0]},${q[1]}`;
      if (xy !== el.xy) {
        el.xy = xy;
        for (const ln of [el.line, el.hit]) {
          ln.setAttribute("x1", p[0]);
          ln.setAttribute("y1", p[1]);
          ln.setAttribute("x2", q[0]);
          ln.setAttribute("y2", q[1]);
        }
      }
      const isCut = severed(a, b);
      if (isCut !== el.cut) {
        el.cut = isCut;
        el.g.classList.toggle("cut", isCut);
        el.g.dataset.cut = isCut ? "1" : "0";
        el.title.textContent = `${a} – ${b}: ${isCut ? "cut; click to heal" : "click to cut"}`;
      }
      const down = snap.nodes[a].status === "crashed" || snap.nodes[b].status === "crashed";
      const hidden = down && !isCut;
      if (down !== el.down || hidden !== el.hidden) {
        el.down = down;
        el.hidden = hidden;
        el.g.classList.toggle("down", down);
        el.g.style.display = hidden ? "none" : "";
      }
    }
  }

  toggleLink(a, b) {
    this.opts.intervene({ action: severedTest(this.snap.net)(a, b) ? "heal" : "cut", a, b });
  }

  /** A lesson points at messages of these kinds (`msg.kind`): drawn with a halo while in flight (SVG dots only). */
  highlightMessages(kinds) {
    this.highlightKinds = kinds && kinds.length ? new Set(kinds) : null;
    for (const el of this.msgEls.values()) {
      el.g.classList.toggle("lesson-highlight", !!this.highlightKinds && this.highlightKinds.has(el.kind));
    }
  }

  renderMessages(t, pos) {
    const msgs = this.snap.messages;
    const labelled = msgs.length <= MAX_LABELLED_MESSAGES;
    const seen = new Set();
    const r = Math.max(4, this.nodeRadius * 0.2);
    for (const m of msgs) {
      seen.add(m.id);
      let el = this.msgEls.get(m.id);
      if (!el) {
        const g = s("g", { class: "msg", "data-msg": m.id });
        const dot = s("circle", { r, fill: this.module.messageColor(m.msg) });
        g.append(dot);
        const label = this.module.messageLabel ? this.module.messageLabel(m.msg) : null;
        let text = null;
        if (label) {
          text = s("text", { class: "msg-label", dy: -r - 3 }, label);
          g.append(text);
        }
        this.gMsgs.append(g);
        el = { g, dot, text, c: { r }, kind: m.msg && m.msg.kind };
        if (this.highlightKinds && this.highlightKinds.has(el.kind)) g.classList.add("lesson-highlight");
        this.msgEls.set(m.id, el);
      }
      const [x, y] = this.messageXY(m, t, pos);
      const c = el.c;
      put(el.g, c, "transform", `translate(${x.toFixed(1)},${y.toFixed(1)})`);
      put(el.dot, c, "r", r);
      if (el.text && c.labelled !== labelled) {
        c.labelled = labelled;
        el.text.style.display = labelled ? "" : "none";
      }
      const held = !!m.held;
      if (c.held !== held) {
        c.held = held;
        el.g.classList.toggle("held", held);
      }
    }
    for (const [id, el] of this.msgEls) {
      if (!seen.has(id)) {
        el.g.remove();
        this.msgEls.delete(id);
      }
    }
  }

  /** Messages on the canvas (large clusters): the same dots, white rims and labels as the SVG ones. */
  paintMessages(t, pos) {
    const msgs = this.snap.messages;
    if (!msgs.length && !this.canvasUsed) return;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, this.W, this.H);
    this.canvasUsed = msgs.length > 0;
    if (!msgs.length) return;
    const r = Math.max(4, this.nodeRadius * 0.2);
    const colors = this.msgColors || (this.msgColors = new WeakMap()); // msg payload -> colour, computed once
    const byColor = new Map();
    const held = [];
    const xy = new Array(msgs.length);
    msgs.forEach((m, i) => {
      const p = (xy[i] = this.messageXY(m, t, pos));
      let color = colors.get(m.msg);
      if (color === undefined) {
        color = this.module.messageColor(m.msg);
        colors.set(m.msg, color);
      }
      let list = byColor.get(color);
      if (!list) byColor.set(color, (list = []));
      list.push(p);
      if (m.held) held.push(p);
    });
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#fff";
    for (const [color, list] of byColor) {
      ctx.beginPath();
      for (const [x, y] of list) {
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
      }
      ctx.fillStyle = color;
      ctx.fill();
      ctx.stroke();
    }
    if (held.length) {
      ctx.beginPath();
      for (const [x, y] of held) {
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 2 * Math.PI);
      }
      ctx.strokeStyle = "#0f172a";
      ctx.setLineDash([2, 2]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (msgs.length <= MAX_LABELLED_MESSAGES && this.module.messageLabel) {
      ctx.font = "700 12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "alphabetic";
      ctx.lineJoin = "round";
      ctx.lineWidth = 3;
      msgs.forEach((m, i) => {
        const label = this.module.messageLabel(m.msg);
        if (!label) return;
        const [x, y] = xy[i];
        ctx.strokeStyle = "#fff";
        ctx.strokeText(label, x, y - r - 3);
        ctx.fillStyle = "#0f172a";
        ctx.fillText(label, x, y - r - 3);
      });
    }
  }

  // Every attribute is written only when its value changed since the last frame (el.c caches what was
  // written): at 1,000 nodes rewriting them all each frame costs more than drawing.
  renderNodes(t, pos) {
    const snap = this.snap;
    const r = this.nodeRadius;
    const mod = this.module;
    const dragging = this.drag && this.drag.moved ? this.drag.id : null;
    for (const id of snap.order) {
      const view = snap.nodes[id];
      let el = this.nodeEls.get(id);
      if (!el) el = this.makeNode(id);
      const c = el.c;
      const [x, y] = pos[id];
      const crashed = view.status === "crashed";
      const rr = crashed ? Math.min(r, 18) : r;
      put(el.g, c, "transform", `translate(${x.toFixed(1)},${y.toFixed(1)})`);
      if (c.status !== view.status) {
        c.status = view.status;
        el.g.dataset.status = view.status;
        el.pauseMark.style.display = view.status === "paused" ? "" : "none";
        el.crossMark.style.display = crashed ? "" : "none";
      }
      const selected = this.selected === id;
      if (c.selected !== selected) {
        c.selected = selected;
        el.g.classList.toggle("selected", selected);
      }
      const isDragged = dragging === id;
      if (c.dragging !== isDragged) {
        c.dragging = isDragged;
        el.g.classList.toggle("dragging", isDragged);
      }
      put(el.circle, c, "r", rr);
      put(el.circle, c, "fill", crashed ? "#cbd5e1" : mod.nodeColor(view));
      const label = mod.nodeLabel ? mod.nodeLabel(id, view) : id;
      if (c.label !== label) {
        c.label = label;
        el.label.textContent = label;
      }
      put(el.label, c, "font-size", Math.max(10, rr * 0.62));
      // badge
      const badge = crashed ? null : mod.nodeBadge(view);
      if (badge) {
        const bw = Math.max(22, badge.length * 9 + 12);
        if (c.badge !== badge || c.badgeR !== rr) {
          if (!c.badge) el.badge.style.display = "";
          c.badge = badge;
          c.badgeR = rr;
          el.badgeText.textContent = badge;
          el.badgeRect.setAttribute("width", bw);
          el.badgeRect.setAttribute("x", rr * 0.55);
          el.badgeRect.setAttribute("y", -rr - 12);
          el.badgeText.setAttribute("x", rr * 0.55 + bw / 2);
          el.badgeText.setAttribute("y", -rr + 3);
        }
      } else if (c.badge !== null) {
        c.badge = null;
        el.badge.style.display = "none";
      }
      // timer arcs: one ring per timer, the remaining share of its delay
      const timers = crashed || !view.timers ? NO_TIMERS : Object.entries(view.timers);
      while (el.arcs.length < timers.length) {
        const track = s("circle", { class: "timer-track", fill: "none" });
        const arc = s("path", { class: "timer-arc", fill: "none" });
        el.arcGroup.append(track, arc);
        el.arcs.push({ track, arc, c: { shown: true } });
      }
      for (let i = 0; i < el.arcs.length; i++) {
        const a = el.arcs[i];
        const timer = timers[i];
        if (!timer) {
          if (a.c.shown) {
            a.c.shown = false;
            a.track.style.display = "none";
            a.arc.style.display = "none";
          }
          continue;
        }
        const [name, [setAt, firesAt]] = timer;
        const ringR = rr + 7 + i * 7;
        const frac = Math.max(0, Math.min(1, (firesAt - t) / Math.max(1, firesAt - setAt)));
        if (!a.c.shown) {
          a.c.shown = true;
          a.track.style.display = "";
          a.arc.style.display = "";
        }
        put(a.track, a.c, "r", ringR);
        put(a.arc, a.c, "d", arcPath(ringR, frac));
        put(a.arc, a.c, "stroke", mod.timerColor ? mod.timerColor(name) : "#475569");
        if (a.c.timer !== name) {
          a.c.timer = name;
          a.arc.dataset.timer = name;
        }
      }
      const title = mod.nodeTitle ? mod.nodeTitle(id, view) : defaultTitle(id, view);
      if (c.title !== title) {
        c.title = title;
        el.title.textContent = title;
      }
    }
  }

  makeNode(id) {
    const g = s("g", { class: "node", "data-node": id, tabindex: 0 });
    const arcGroup = s("g", { class: "timers" });
    const ring = s("circle", { class: "select-ring", r: 0 });
    const circle = s("circle", { class: "node-body" });
    const label = s("text", { class: "node-label", dy: "0.35em" }, id);
    const badge = s("g", { class: "badge" });
    const badgeRect = s("rect", { rx: 9, height: 20 });
    const badgeText = s("text", { class: "badge-text" });
    badge.append(badgeRect, badgeText);
    const pauseMark = s("text", { class: "pause-mark", dy: "0.35em", y: 0 }, "❚❚");
    const crossMark = s("text", { class: "cross-mark", dy: "0.35em" }, "✕");
    const title = s("title");
    g.append(arcGroup, ring, circle, label, pauseMark, crossMark, badge, title);
    this.gNodes.append(g);
    const el = { g, circle, label, badge, badgeRect, badgeText, arcGroup, arcs: [], pauseMark, crossMark, title,
                 c: { badge: undefined } };
    this.nodeEls.set(id, el);
    this.bindNode(id, g);
    return el;
  }

  renderFx(pos) {
    const now = performance.now();
    this.falling = this.falling.filter((f) => now - f.start < FALL_MS);
    this.flashes = this.flashes.filter((f) => now - f.start < 2500);
    const els = [];
    const r = Math.max(4, this.nodeRadius * 0.2);
    for (const f of this.falling) {
      const k = (now - f.start) / FALL_MS;
      const y = f.y + 90 * k * k;
      els.push(s("g", { class: "falling", transform: `translate(${f.x.toFixed(1)},${y.toFixed(1)})`, opacity: (1 - k).toFixed(2) },
        s("circle", { r, fill: f.color }),
        s("text", { class: "drop-x", dy: "0.35em" }, "✕")));
    }
    for (const f of this.flashes) {
      const p = pos[f.id];
      if (!p) continue;
      const k = this.reducedMotion ? 0.3 : ((now - f.start) % 800) / 800; // a still ring, not a pulse
      els.push(s("circle", { class: "violation-flash", cx: p[0], cy: p[1], r: this.nodeRadius + 8 + 14 * k, opacity: (1 - k).toFixed(2) }));
    }
    this.gFx.replaceChildren(...els);
  }

  // --- interaction --------------------------------------------------------------------------------
  svgPoint(e) {
    const rect = this.svg.getBoundingClientRect();
    return [((e.clientX - rect.left) * this.W) / rect.width, ((e.clientY - rect.top) * this.H) / rect.height];
  }

  inCrashZone([x, y]) {
    const c = this.crash;
    return x >= c.x && x <= c.x + c.w && y >= c.y && y <= c.y + c.h;
  }

  islandAt([x, y]) {
    for (const name of ISLANDS) {
      const b = this.islands[name];
      if (x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h) return name;
    }
    return null;
  }

  bindNode(id, g) {
    g.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 && e.pointerType === "mouse") return;
      e.preventDefault();
      g.setPointerCapture(e.pointerId);
      const [x, y] = this.svgPoint(e);
      const start = this.positions()[id];
      this.drag = { id, pointer: e.pointerId, x0: x, y0: y, dx: start[0] - x, dy: start[1] - y, x: start[0], y: start[1],
                    moved: false, overCrash: false, island: null };
      this.drag.timer = setTimeout(() => {
        if (this.drag && this.drag.id === id && !this.drag.moved) {
          this.drag.menu = true;
          this.opts.openMenu(id, e.clientX, e.clientY);
        }
      }, LONG_PRESS_MS);
    });
    g.addEventListener("pointermove", (e) => {
      const d = this.drag;
      if (!d || d.id !== id || d.pointer !== e.pointerId) return;
      const [x, y] = this.svgPoint(e);
      if (!d.moved && Math.hypot(x - d.x0, y - d.y0) < DRAG_THRESHOLD) return;
      if (!d.moved) clearTimeout(d.timer);
      d.moved = true;
      d.x = Math.max(0, Math.min(this.W, x + d.dx));
      d.y = Math.max(0, Math.min(this.H, y + d.dy));
      d.overCrash = this.inCrashZone([x, y]);
      d.island = this.islandsMode ? this.islandAt([x, y]) : null;
    });
    const end = (e, cancelled) => {
      const d = this.drag;
      if (!d || d.id !== id || d.pointer !== e.pointerId) return;
      clearTimeout(d.timer);
      this.drag = null;
      if (cancelled || d.menu) return;
      const view = this.snap.nodes[id];
      if (!d.moved) {
        if (view.status === "crashed") this.opts.intervene({ action: "restart", node: id });
        else this.opts.openMenu(id, e.clientX, e.clientY);
        return;
      }
      const [x, y] = this.svgPoint(e);
      if (this.inCrashZone([x, y])) {
        if (view.status !== "crashed") this.opts.intervene({ action: "crash", node: id });
        return;
      }
      if (view.status === "crashed") {
        this.home[id] = this.toLayout([d.x, d.y]);
        this.placed.add(id);
        this.opts.intervene({ action: "restart", node: id });
        return;
      }
      if (this.islandsMode) {
        const island = this.islandAt([x, y]);
        if (island && island !== this.islandOf[id]) {
          this.islandOf[id] = island;
          this.opts.onIslands(this.islandGroups());
        }
        return;
      }
      this.home[id] = this.toLayout([d.x, d.y]);
      this.placed.add(id);
      this.opts.onMoved && this.opts.onMoved(id);
    };
    g.addEventListener("pointerup", (e) => end(e, false));
    g.addEventListener("pointercancel", (e) => end(e, true));
    g.addEventListener("contextmenu", (e) => {
      e.preventDefault();
      if (this.drag) {
        clearTimeout(this.drag.timer);
        this.drag = null;
      }
      this.opts.openMenu(id, e.clientX, e.clientY);
    });
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === "ContextMenu") {
        const rect = g.getBoundingClientRect();
        this.opts.openMenu(id, rect.right, rect.top);
        e.preventDefault();
      }
    });
  }
}

/** A partition in force, drawn outside partition mode: each group is pulled away from the others (the drawing
 * shrinks towards the centre and every group moves out along the direction of its own centre), so the islands
 * read as islands at a glance; the nodes keep their places within their group. `ids`: the nodes at home. */
export function spreadPartition(groups, ids, pos, side, cx, cy) {
  if (!groups || groups.length < 2) return;
  const SHRINK = 0.56;
  const PUSH = 0.22 * side;
  const at = new Set(ids);
  groups.forEach((g, i) => {
    const members = g.filter((id) => at.has(id));
    if (!members.length) return;
    let gx = 0, gy = 0;
    for (const id of members) {
      gx += pos[id][0] / members.length;
      gy += pos[id][1] / members.length;
    }
    let dx = gx - cx, dy = gy - cy;
    let len = Math.hypot(dx, dy);
    if (len < side * 0.02) { // a group centred on the middle: spread the groups around a circle instead
      const a = (2 * Math.PI * i) / groups.length;
      [dx, dy, len] = [Math.sin(a), -Math.cos(a), 1];
    }
    const ox = (dx / len) * PUSH, oy = (dy / len) * PUSH;
    for (const id of members) {
      pos[id] = [cx + (pos[id][0] - cx) * SHRINK + ox, cy + (pos[id][1] - cy) * SHRINK + oy];
    }
  });
}

const NO_TIMERS = [];

/** Set `node`'s attribute `name` to `value` unless `cache` says it already has it. */
function put(node, cache, name, value) {
  if (cache[name] !== value) {
    cache[name] = value;
    node.setAttribute(name, value);
  }
}

function arcPath(r, frac) {
  if (frac <= 0) return "";
  if (frac >= 0.9999) return `M 0 ${-r} A ${r} ${r} 0 1 1 0 ${r} A ${r} ${r} 0 1 1 0 ${-r}`;
  const a = 2 * Math.PI * frac;
  const x = r * Math.sin(a);
  const y = -r * Math.cos(a);
  return `M 0 ${-r} A ${r} ${r} 0 ${frac > 0.5 ? 1 : 0} 1 ${x.toFixed(2)} ${y.toFixed(2)}`;
}

function defaultTitle(id, view) {
  const lines = [id];
  for (const [k, v] of Object.entries(view)) {
    if (k === "timers") continue;
    const text = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
    lines.push(`${k}: ${text.length > 60 ? text.slice(0, 57) + "…" : text}`);
  }
  return lines.join("\n");
}
