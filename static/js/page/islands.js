// Island dragging: partition mode (P, or the "✂ Partition…" button) lets nodes be dragged between islands A,
// B and C; every drop sends the islands as one partition (a new partition replaces the last one). Also the
// stage's one-line hint, which says what dragging does right now.

import { MAX_LINKS_NODES } from "../topology.js";

const HINT_MANY = "Drag a node onto the crash zone · right-click or long-press a node to cut one of its links, isolate it, and more";
const HINT_ISLANDS = "Drag nodes between islands to cut every link between them · “Heal partition” ends it";

export function setupIslands(page, hintEl) {
  const { state, topo } = page;
  const HINT = hintEl.textContent;

  /** The stage's one-line help: with many nodes no link is drawn to click, so it points at the node menu. */
  function hint() {
    return state.snap && state.snap.order.length > MAX_LINKS_NODES ? HINT_MANY : HINT;
  }

  function apply(groups) {
    // a new partition replaces the last one; everyone back on one island ends it (hand cuts stay either way)
    page.intervene(groups.length >= 2 ? { action: "partition", groups } : { action: "heal_partition" });
  }

  function toggle() {
    if (state.viewer || !state.snap) return;
    state.islands = !state.islands;
    topo.setIslandsMode(state.islands);
    hintEl.textContent = state.islands ? HINT_ISLANDS : hint();
    if (!state.islands && state.snap.net.partition && state.snap.net.partition.length) page.intervene({ action: "heal_partition" });
    page.refresh();
  }

  page.on("reset", () => { // a new run, or a travel in time: partition mode ends (the stage starts over)
    state.islands = false;
    topo.setIslandsMode(false);
    hintEl.textContent = hint();
  });
  page.applyIslands = apply;
  page.toggleIslands = toggle;
}
