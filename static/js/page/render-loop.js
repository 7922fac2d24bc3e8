// The drawing loop: once per animation frame, the topology at the interpolated simulated time and the clock;
// when the snapshot changed, the view module's update (its panel) and its toolbar buttons.

import { h, fmtTime } from "../util.js";

export function setupRenderLoop(page, { clock, toolbar }) {
  const { state, topo } = page;
  let lastToolbar = "";

  // a new run or a travel in time: the stage starts over from the snapshot, keeping the nodes a hand placed where
  // they were (same cluster, no layout of its own in the scenario); the others the view lays out again, fitted to
  // the stage (Paxos's columns on a short stage reach past the layout's 0..1 square, which layout() clamps to)
  page.on("reset", (snapshot) => {
    const same = topo.snap && topo.snap.order.length === snapshot.order.length && !snapshot.layout;
    const keep = same ? Object.fromEntries(Object.entries(topo.layout()).filter(([id]) => topo.placed.has(id))) : null;
    topo.setSnapshot(snapshot, { reset: true });
    if (keep) topo.setLayout(keep);
  });
  page.on("event", (ev) => topo.noteEvent(ev, state.shownT));

  function renderToolbar() {
    const items = page.view.toolbar(state.snap);
    const key = JSON.stringify(items);
    if (key === lastToolbar) return;
    lastToolbar = key;
    toolbar.replaceChildren(...items.map((item) =>
      h("button", { class: "btn", title: item.title, disabled: !!item.disabled || state.viewer,
                    onclick: () => page.intervene(item.intervention) }, item.label)));
  }

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
      clock.textContent = `t = ${fmtTime(Math.floor(state.shownT))}`;
      if (state.dirty) {
        state.dirty = false;
        page.view.update(state.snap);
        renderToolbar();
      }
    }
    requestAnimationFrame(frameLoop);
  }
  requestAnimationFrame(frameLoop);
}
