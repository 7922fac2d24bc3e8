// The node menu (right click, long press, or a click on a node): the page's crash / restart / pause / resume /
// isolate / cut a link, then the view module's own items (nodeMenu).

import { h } from "../util.js";
import { severedTest } from "../replay.js";
import { MAX_LINKS_NODES } from "../topology.js";

export function setupNodeMenu(page, menu) {
  const { state } = page;

  function open(id, x, y) {
    if (!state.snap) return;
    const v = state.snap.nodes[id];
    const items = [];
    if (v.status === "up") items.push({ label: "☠ Crash", intervention: { action: "crash", node: id } });
    if (v.status === "crashed") items.push({ label: "↻ Restart", intervention: { action: "restart", node: id } });
    if (v.status === "up") items.push({ label: "❚❚ Pause", intervention: { action: "pause", node: id } });
    if (v.status === "paused") {
      items.push({ label: "▶ Resume", intervention: { action: "resume", node: id } });
      items.push({ label: "☠ Crash", intervention: { action: "crash", node: id } });
    }
    if (v.status !== "crashed") items.push({ label: "✂ Isolate (cut all its links)", intervention: isolate(id) });
    // beyond MAX_LINKS_NODES the stage draws no links to click: cut one from here
    const peers = state.snap.order.length > MAX_LINKS_NODES ? uncutPeers(id) : [];
    if (peers.length) items.push({ label: "✂ Cut a link…", open: () => openLinkMenu(id, peers, x, y) });
    const extra = page.view.nodeMenu(id, v, state.snap);
    show(id, x, y, h("div", { class: "menu-title" }, `${id} · ${v.status}`),
      ...items.map((it) => menuButton(it)),
      extra.length ? h("hr") : null,
      ...extra.map((it) => menuButton(it)));
  }

  /** Isolate a node: it becomes an island of its own, and the partition it was in (if any) stays as it was, so
   * isolating one node after another keeps the earlier ones isolated (a partition replaces the last one). */
  function isolate(id) {
    const current = state.snap.net.partition || [];
    const groups = current.length
      ? current.map((g) => g.filter((n) => n !== id)).filter((g) => g.length)
      : [state.snap.order.filter((n) => n !== id)];
    return { action: "partition", groups: [...groups, [id]] };
  }

  function uncutPeers(id) {
    const severed = severedTest(state.snap.net);
    return state.snap.order.filter((n) => n !== id && state.snap.nodes[n].status !== "crashed" && !severed(id, n));
  }

  function openLinkMenu(id, peers, x, y) {
    show(id, x, y, h("div", { class: "menu-title" }, `${id}: cut the link to…`),
      h("div", { class: "menu-peers" }, ...peers.map((n) => menuButton({ label: n, intervention: { action: "cut", a: id, b: n } }))));
  }

  function show(id, x, y, ...children) {
    menu.replaceChildren(...children.filter(Boolean));
    menu.hidden = false;
    const rect = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(4, Math.min(x, innerWidth - rect.width - 4))}px`;
    menu.style.top = `${Math.max(4, Math.min(y, innerHeight - rect.height - 4))}px`;
    menu.dataset.node = id;
    const first = menu.querySelector("button");
    if (first) first.focus();
    state.selected = page.topo.selected = id; // the node whose menu is open is the selected one (select() toggles)
    state.dirty = true;
  }

  function menuButton(item) {
    return h("button", {
      class: "menu-item",
      disabled: !!item.disabled,
      onclick: () => {
        if (item.open) return item.open(); // a submenu in its place
        close();
        page.intervene(item.intervention);
      },
    }, item.label);
  }

  function close() {
    menu.hidden = true;
  }

  document.addEventListener("pointerdown", (e) => {
    if (!menu.hidden && !menu.contains(e.target)) close();
  });
  page.openMenu = open;
  page.closeMenu = close;
}
