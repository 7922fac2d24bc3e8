// The protocol view module's host: loads static/js/protocols/<name>.js (or the generic view) and drives its
// lifecycle (docs/frontend.md): mount once; reset(snapshot) whenever the page's snapshot is replaced (a run
// starts, a seek or step back lands) or a fork starts a new branch; narrate each event; update(snapshot,
// events) at most once per animation frame with the events applied since the last update; unmount when the
// page goes. A view that throws is logged, never allowed to stop the page.

import generic from "../protocols/generic.js";
import { h } from "../util.js";

const MAX_PENDING = 20000;

async function loadModule(config) {
  const name = config.protocol.name;
  if (!config.view_module) {
    console.info(`no view module for ${name} yet (static/js/protocols/${name}.js): using the generic view`);
    return { ...generic, name };
  }
  try {
    const mod = (await import(`../protocols/${name}.js`)).default;
    return { ...generic, ...mod };
  } catch (err) {
    console.warn(`no view module for ${name} (static/js/protocols/${name}.js); using the generic one`, err);
    return { ...generic, name };
  }
}

function guarded(what, fn, fallback = null) {
  try {
    return fn();
  } catch (err) {
    console.error(`${what} failed`, err);
    return fallback;
  }
}

/** Load the view module and wire its lifecycle to the page's events; returns the host (page.view). */
export async function setupView(page, panel) {
  const view = await loadModule(page.config);
  const { state } = page;
  let pending = []; // events applied since the last update (bounded: a hidden tab draws no frames)

  const ctx = {
    send: (iv) => page.intervene(iv),
    describe: page.describe,
    get scenario() {
      return state.scenario;
    },
    get t() {
      return state.snap ? state.snap.t : 0;
    },
    /** The simulated time drawn right now (between frames the page animates ahead of `t`). */
    get now() {
      return state.snap ? Math.max(state.shownT, state.snap.t) : 0;
    },
    get selected() {
      return state.selected;
    },
    select: (id) => page.select(id),
    /** Travel to moment t (ms) of this branch, as the timeline does (a chart's click): nothing for a viewer. */
    seek: (t) => page.timeline && page.timeline.seek(Math.max(0, Math.round(t))),
  };

  const host = {
    module: view,
    ctx,
    narrate: (ev, before) => guarded("narrate", () => view.narrate(ev, before)),
    update(snapshot) {
      const events = pending;
      pending = [];
      guarded("update", () => view.update(snapshot, events));
    },
    toolbar: (snapshot) => guarded("toolbar", () => view.toolbar(snapshot), null) || [],
    nodeMenu: (id, v, snapshot) => guarded("nodeMenu", () => view.nodeMenu(id, v, snapshot), null) || [],
  };

  function reset(snapshot) {
    pending = [];
    guarded("reset", () => view.reset(snapshot));
    state.dirty = true;
  }

  guarded("mount", () => view.mount(panel, ctx));
  page.on("reset", reset);
  page.on("fork", reset);
  page.on("event", (ev) => {
    if (pending.length >= MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING / 2);
    pending.push(ev);
  });
  addEventListener("pagehide", () => guarded("unmount", () => view.unmount()));

  // the legend under the topology: the module's roles, then what the page draws itself
  document.getElementById("legend").replaceChildren(...(view.roleLegend || []).map((r) =>
    h("span", { class: "legend-item" }, h("span", { class: "dot", style: { background: r.color } }), r.label)),
  h("span", { class: "legend-item" }, h("span", { class: "dot crashed" }), "crashed"),
  h("span", { class: "legend-item" }, h("span", { class: "line-cut" }), "cut link"));

  return host;
}
