// The event feed: what happened, in plain language, newest first.

import { h, fmtTime } from "./util.js";

const MAX_ITEMS = 250;

export class Feed {
  constructor(el) {
    this.el = el;
    this.count = 0;
  }

  /** Add a line; returns its element id (for links from invariant badges). */
  add(t, text, kind = "info") {
    this.count += 1;
    const id = `feed-${this.count}`;
    const item = h("li", { id, class: `feed-item ${kind}` },
      h("span", { class: "feed-time" }, t === null ? "" : fmtTime(t)),
      h("span", { class: "feed-text" }, text));
    this.el.prepend(item);
    while (this.el.childElementCount > MAX_ITEMS) this.el.lastElementChild.remove();
    return id;
  }

  separator(text) {
    this.el.prepend(h("li", { class: "feed-item separator" }, h("span", { class: "feed-text" }, text)));
  }

  /** Scroll to an item and flash it. */
  show(id) {
    const item = document.getElementById(id);
    if (!item) return false;
    item.scrollIntoView({ block: "center", behavior: "smooth" });
    item.classList.remove("flash");
    void item.offsetWidth; // restart the animation
    item.classList.add("flash");
    return true;
  }
}
