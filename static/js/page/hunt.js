// "Find a counterexample" (issue 15; docs/hunt.md): the server hunts for a fault schedule that breaks an
// invariant, starting from this run's scenario (protocol, parameters, mutations, interventions so far), and
// streams its progress (`hunt_progress`, `hunt_shrink`, then `hunt_result`). The result opens as an ordinary run
// (it plays to its end and pauses: the violation marked on the timeline, the badge red), which Share saves as a
// link. Cancel stops it; leaving the page does too (the server cancels a hunt when its socket closes).

import { h, fmtTime } from "../util.js";

export function setupHunt(page) {
  const { state } = page;
  const button = h("button", { id: "hunt", class: "btn ghost", type: "button",
    title: "Try random fault schedules on this run until one breaks an invariant, then shrink it" },
  "⚠ Find a counterexample");
  const topbar = document.querySelector(".topbar");
  const share = document.querySelector("#share");
  if (topbar) topbar.insertBefore(button, share || null);

  const box = h("section", { id: "hunt-box", class: "hunt-box", role: "status", "aria-live": "polite", hidden: true });
  document.body.append(box);

  let running = false;
  let result = null;
  let openAt = null; // pause_at for the counterexample being opened

  function show(...children) {
    box.replaceChildren(h("button", { class: "hunt-close", type: "button", title: "Close", "aria-label": "Close",
      onclick: close }, "✕"), h("h2", {}, "Find a counterexample"), ...children);
    box.hidden = false;
  }

  function close() {
    if (running) cancel();
    box.hidden = true;
  }

  function start() {
    if (state.viewer) {
      page.toast("You are watching someone else's run: it is read-only", "warn");
      return;
    }
    if (running) return;
    running = true;
    result = null;
    button.disabled = true;
    show(h("p", { class: "hunt-line", id: "hunt-progress" }, "Starting the hunt…"), cancelButton());
    page.send({ type: "hunt", id: "hunt" });
  }

  function cancelButton() {
    return h("button", { class: "btn", type: "button", id: "hunt-cancel", onclick: cancel }, "Cancel");
  }

  function cancel() {
    if (!running) return;
    page.send({ type: "hunt_cancel" });
  }

  function done() {
    running = false;
    button.disabled = false;
  }

  function openResult() {
    if (!result || !result.scenario) return;
    state.preset = { scenario: result.scenario, title: result.scenario.title };
    openAt = result.scenario.duration;
    page.startRun();
    box.hidden = true;
  }

  function observe(msg) {
    switch (msg.type) {
      case "hunt_progress":
        show(h("p", { class: "hunt-line", id: "hunt-progress" },
          `Schedules tried: ${msg.tried} of ${msg.budget} · failures found: ${msg.found}`), cancelButton());
        break;
      case "hunt_shrink":
        show(h("p", { class: "hunt-line" }, "A failure found: shrinking it."),
          h("p", { class: "hunt-line", id: "hunt-shrink" },
            `Shrinking (${msg.step}): ${msg.interventions} intervention${msg.interventions === 1 ? "" : "s"}, ` +
            `${fmtTime(msg.duration)}, ${msg.nodes} nodes · ${msg.runs} runs`), cancelButton());
        break;
      case "hunt_result":
        done();
        result = msg;
        if (msg.found) {
          const n = msg.scenario.interventions.length;
          show(h("p", { class: "hunt-line hunt-found", id: "hunt-found" }, "✗ ", h("code", {}, msg.invariant),
            ` broken after ${msg.tried} schedule${msg.tried === 1 ? "" : "s"}; shrunk to ${n} intervention${n === 1 ? "" : "s"}` +
            ` and ${fmtTime(msg.scenario.duration)}.`),
          h("p", { class: "hunt-details" }, msg.violation ? msg.violation.details : ""),
          h("button", { class: "btn primary", type: "button", id: "hunt-open", onclick: openResult },
            "Open the counterexample"));
        } else {
          show(h("p", { class: "hunt-line hunt-none", id: "hunt-none" },
            `✓ No counterexample in ${msg.tried} schedules.`));
        }
        break;
      case "hunt_cancelled":
        done();
        show(h("p", { class: "hunt-line" }, "Hunt cancelled."));
        break;
      case "error":
        if (msg.id === "hunt") {
          done();
          show(h("p", { class: "hunt-line hunt-error", id: "hunt-error" }, msg.message));
          return true;
        }
        break;
      default:
    }
    return false;
  }

  button.addEventListener("click", start);
  return {
    observe,
    handles: ["hunt_progress", "hunt_shrink", "hunt_result", "hunt_cancelled"],
    startOptions() {
      if (openAt === null) return {};
      const out = { pause_at: openAt };
      openAt = null;
      return out;
    },
  };
}
