// The fallback view for a protocol that has no view module yet, and the defaults every module inherits.
// Colours nodes by a `role` (or `state`) field if the view has one; its panel is a table of every node's view.

import { h, hashColor, PALETTE } from "../util.js";

function roleOf(view) {
  return view.role ?? view.state ?? view.phase ?? null;
}

export default {
  name: "generic",
  roleLegend: [],
  nodeColor(view) {
    const role = roleOf(view);
    return role === null ? PALETTE[0] : hashColor(role);
  },
  nodeBadge(view) {
    for (const key of ["term", "ballot", "generation", "epoch", "round"]) {
      if (typeof view[key] === "number") return `${key[0].toUpperCase()}${view[key]}`;
    }
    return null;
  },
  messageColor(msg) {
    return hashColor(msg && msg.kind);
  },
  messageLabel(msg) {
    const kind = (msg && msg.kind) || "";
    const caps = kind.replace(/[^A-Z]/g, "");
    return caps.length >= 2 ? caps.slice(0, 3) : kind.slice(0, 3);
  },
  narrate() {
    return null;
  },
  // lifecycle (docs/frontend.md): the generic view keeps nothing between updates, so reset has nothing to forget
  mount(panel) {
    this.panel = panel;
  },
  reset() {},
  update(snapshot) {
    // a table of each node's view (without timers)
    const fields = new Set();
    for (const id of snapshot.order) for (const k of Object.keys(snapshot.nodes[id])) if (k !== "timers") fields.add(k);
    const cols = [...fields];
    const fmt = (v) => {
      if (v === undefined) return "";
      const text = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
      return text.length > 40 ? `${text.slice(0, 37)}…` : text;
    };
    this.panel.replaceChildren(h("table", { class: "view-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "node"), cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, snapshot.order.map((id) =>
        h("tr", {}, h("th", {}, id), cols.map((c) => h("td", {}, fmt(snapshot.nodes[id][c]))))))));
  },
  unmount() {
    if (this.panel) this.panel.replaceChildren();
  },
  nodeMenu() {
    return [];
  },
  toolbar() {
    return [];
  },
};
