// Stepping by happening, and "Next story".
//
// A *happening* is one node handling one delivery, timer or intervention, with everything it caused
// (docs/trace.md; what starts one: ./happening.js, the twin of simulator/trace.py). "Happening ▶" (key .) asks the server for the rest of the next one (`step` with
// `happening: true`); "◀ Happening" (key ,) goes back to just before the last one shown: a seek to its moment
// (everything before it has happened), then single `step`s through what came before it in that millisecond.
// The feed and the diagram follow: the seek retells the branch, the steps narrate as they come.
//
// "Next story" (▶▶|, key N): step, one event at a time, until the feed has something new to say (the next
// narrated happening), so a learner skips the routine heartbeats without playing past what matters. At most
// MAX_STEPS of them per click, and any other control stops it.

import { h } from "../util.js";
import { lastHappeningStart } from "./happening.js";

const MAX_STEPS = 3000;

export function setupStoryStep(page) {
  const { state } = page;
  const button = h("button", { id: "step-story", class: "btn", type: "button",
                               title: "Step to the next thing the feed tells (N)" }, "▶▶| Next");
  const back = h("button", { id: "happening-back", class: "btn", type: "button",
                             title: "Back to just before the last happening: the delivery, timer or intervention and what it caused (,)" },
  "◀ Happening");
  const forward = h("button", { id: "happening-next", class: "btn", type: "button",
                                title: "One happening on: a delivery, timer or intervention, with everything it caused (.)" },
  "Happening ▶");
  const step = document.getElementById("step");
  if (step) step.after(back, forward, button);
  let left = 0; // steps still allowed in this run of the button
  let said = 0; // the feed's line count when it started
  let replay = 0; // single steps still to take after a step back's seek

  function start() {
    if (state.viewer || !state.snap || !page.feed) return;
    if (state.playing) page.send({ type: "pause" });
    said = page.feed.count;
    left = MAX_STEPS;
    replay = 0;
    next();
  }
  function next() {
    left -= 1;
    page.send({ type: "step" });
  }

  function stepHappening() {
    if (state.viewer || !state.snap) return;
    left = 0;
    replay = 0;
    page.send({ type: "step", happening: true });
  }
  function backHappening() {
    if (state.viewer || !state.snap) return;
    left = 0;
    const log = page.spacetime ? page.spacetime.log : [];
    if (!log.length) { // nothing received on this branch (a jump forward): one event back
      page.send({ type: "step_back" });
      return;
    }
    const k = lastHappeningStart(log);
    const t = log[k].t;
    let first = k;
    while (first > 0 && log[first - 1].t === t) first -= 1;
    replay = k - first; // the events of that millisecond before the happening come again, one by one
    page.send({ type: "seek", t, id: "happening" });
  }
  page.stepHappening = (dir) => (dir < 0 ? backHappening() : stepHappening()); // (keys: controls.js)

  button.addEventListener("click", start);
  forward.addEventListener("click", stepHappening);
  back.addEventListener("click", backHappening);
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "n" || e.key === "N") start();
  });
  page.addExtra({
    handles: [],
    startOptions: () => ({}),
    observe(msg) {
      if (replay > 0) {
        if (msg.type === "seeked" && msg.id === "happening") page.send({ type: "step" });
        else if (msg.type === "frame" && msg.events.length) {
          replay -= 1;
          if (replay > 0) page.send({ type: "step" });
        } else if (["seeked", "started", "error"].includes(msg.type)) replay = 0;
      }
      if (left <= 0) return;
      if (msg.type === "frame") {
        queueMicrotask(() => { // once the frame's events are narrated
          if (left <= 0) return;
          if (page.feed.count !== said || left === 0) left = 0;
          else next();
        });
      } else if (["seeked", "started", "error"].includes(msg.type)) {
        left = 0;
      }
    },
  });
  page.on("reset", () => { left = 0; });
}
