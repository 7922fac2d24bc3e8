// The invariant badges above the panel: one per invariant the protocol declares (describe.invariants), green
// while it holds, red from its first violation on the current branch (a click shows it in the feed).

import { h, fmtTime } from "../util.js";
import { label } from "./narration.js";

export function setupInvariants(page, el) {
  const { state, describe } = page;

  function render() {
    const entries = Object.entries(describe.invariants || {});
    el.replaceChildren(...entries.map(([name, doc]) => {
      const bad = state.violations[name];
      return h("button", {
        class: `invariant ${bad ? "bad" : "ok"}`,
        "data-invariant": name,
        title: bad ? `Violated at ${fmtTime(bad.t)}: ${bad.details}\n(click to see it in the feed)` : `Holds so far: ${doc}`,
        onclick: () => {
          if (!bad) {
            page.toast(`${label(name)}: ${doc}`, "info");
            return;
          }
          page.feed.show(bad.id);
          if (bad.node) page.select(bad.node);
        },
      }, bad ? "✗ " : "✓ ", label(name), bad ? h("span", { class: "at" }, ` @ ${fmtTime(bad.t)}`) : null);
    }));
  }

  page.on("violation", render);
  page.on("refresh", render);
  render();
}
