// "Next story": step, one event at a time, until the feed has something new to say (the next narrated
// happening), so a learner skips the routine heartbeats without playing past what matters. Each step is the
// server's `step` (docs/websocket.md); at most MAX_STEPS of them per click, and any other control stops it.

import { h } from "../util.js";

const MAX_STEPS = 3000;

export function setupStoryStep(page) {
  const { state } = page;
  const button = h("button", { id: "step-story", class: "btn", type: "button",
                               title: "Step to the next thing the feed tells (N)" }, "▶▶| Next");
  const step = document.getElementById("step");
  if (step) step.after(button);
  let left = 0; // steps still allowed in this run of the button
  let said = 0; // the feed's line count when it started

  function start() {
    if (state.viewer || !state.snap || !page.feed) return;
    if (state.playing) page.send({ type: "pause" });
    said = page.feed.count;
    left = MAX_STEPS;
    next();
  }
  function next() {
    left -= 1;
    page.send({ type: "step" });
  }
  button.addEventListener("click", start);
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
