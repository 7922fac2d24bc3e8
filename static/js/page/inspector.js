// The message inspector: click an arrow of the space-time diagram, or a message dot in flight on the topology,
// to see the message's kind, every field, what it asks for in plain words (the view module's optional
// explainMessage(msg)), where it is in its life, and, while it is in flight, drop or delay it
// (the drop_message and delay_message interventions: docs/scenario.md).
//
// setupInspector(page, lookup) -> { open(id), close(), root }; lookup(id) gives the diagram's record of a message
// ({id, from, to, sent, due, end, how, reason, msg}) or null.

import { h, fmtTime } from "../util.js";
import { explain as explainByKind } from "../protocols/explain.js";

export function setupInspector(page, lookup) {
  const { state } = page;
  const root = h("section", { class: "inspector", "aria-label": "Message inspector", hidden: true });
  const panel = document.getElementById("panel");
  panel.before(root);
  let current = null;

  function close() {
    current = null;
    root.hidden = true;
    root.replaceChildren();
  }

  function fieldRows(msg) {
    return Object.entries(msg || {}).filter(([k]) => k !== "kind").map(([k, v]) => h("tr", {},
      h("th", { scope: "row" }, k), h("td", {}, typeof v === "string" ? v : JSON.stringify(v))));
  }

  function render() {
    if (current === null) return;
    const rec = lookup(current);
    const live = state.snap ? state.snap.messages.find((m) => m.id === current) : null;
    const msg = (rec && rec.msg) || (live && live.msg) || null;
    if (!rec && !live) {
      root.replaceChildren(h("p", {}, `Message #${current} is not on this branch.`), closeBtn());
      return;
    }
    const from = rec ? rec.from : live.from;
    const to = rec ? rec.to : live.to;
    const sent = rec ? rec.sent : live.sent_at;
    const due = live ? live.deliver_at : rec.due;
    const life = live ? (live.held ? `held by paused ${to}` : `in flight, due at ${fmtTime(due)}`)
      : rec.how === "deliver" ? `delivered at ${fmtTime(rec.end)}`
        : rec.how === "drop" ? `dropped at ${fmtTime(rec.end)} (${rec.reason})` : "ended (not on this branch any more)";
    const module = page.view.module;
    const explain = module.explainMessage ? module.explainMessage(msg) : explainByKind(page.describe.name, msg);
    const ms = h("input", { type: "number", min: "1", max: "3600000", value: "200", class: "insp-ms",
                            "aria-label": "Delay in ms" });
    const actions = live && !state.viewer ? h("div", { class: "insp-actions" },
      h("button", { class: "btn danger insp-drop", type: "button", title: "Lose this message now (drop_message)",
                    onclick: () => page.intervene({ action: "drop_message", id: current }) }, "✕ Drop it"),
      h("button", { class: "btn insp-delay", type: "button", disabled: !!live.held,
                    title: "Make it arrive later (delay_message)",
                    onclick: () => page.intervene({ action: "delay_message", id: current, ms: Number(ms.value) || 1 }) },
      "⏱ Delay by"), ms, " ms") : null;
    root.replaceChildren(
      h("header", { class: "insp-head" },
        h("h2", {}, h("span", { class: "insp-kind" }, msg ? msg.kind : "message"), ` #${current}`), closeBtn()),
      h("p", { class: "insp-route" }, `${from} → ${to} · sent ${fmtTime(sent)} · ${life}`),
      explain ? h("p", { class: "insp-explain" }, explain) : null,
      h("table", { class: "insp-fields" }, h("tbody", {}, ...fieldRows(msg))),
      actions,
    );
    root.dataset.msg = String(current);
  }

  function closeBtn() {
    return h("button", { class: "btn ghost insp-close", type: "button", "aria-label": "Close the inspector",
                         onclick: close }, "✕");
  }

  function open(id) {
    current = id;
    root.hidden = false;
    render();
  }

  // the message's life goes on (delivered, dropped, delayed) or time travels: show what is true now
  let pending = false;
  const later = () => {
    if (pending || current === null) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  };
  page.on("event", (ev) => { if (ev.id === current) later(); });
  page.on("reset", later);
  return { open, close, root };
}
