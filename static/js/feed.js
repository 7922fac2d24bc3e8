// The event feed: what happened, in plain language, newest first. A line told from a trace event carries its
// moment (data-t), its node (data-node) and, for a message's send, delivery or drop, the message (data-msg):
// the linked views (static/js/page/spacetime.js) highlight the line's arrow and moment from them.

import { h, fmtTime } from "./util.js";

const MAX_ITEMS = 250;
const MESSAGE_EVENTS = new Set(["send", "deliver", "drop"]);

/** What a trace event is about: {t, node, msg} (msg: a message id, or null). */
function linkOfEvent(ev) {
  const msg = MESSAGE_EVENTS.has(ev.type) || (ev.type === "intervention" && ev.id !== undefined) ? ev.id : null;
  const node = ev.type === "send" ? ev.from : ev.type === "deliver" || ev.type === "drop" ? ev.to : ev.node;
  return { t: ev.t, node: node || null, msg: msg === undefined ? null : msg };
}

export class Feed {
  constructor(el) {
    this.el = el;
    this.count = 0;
  }

  /** Add a line (`ev`: the trace event it tells, if any); returns its element id (for links from invariant badges). */
  add(t, text, kind = "info", ev = null) {
    this.count += 1;
    const id = `feed-${this.count}`;
    const item = h("li", { id, class: `feed-item ${kind}` },
      h("span", { class: "feed-time" }, t === null ? "" : fmtTime(t)),
      h("span", { class: "feed-text" }, text));
    if (ev && ev.t !== undefined) {
      const link = linkOfEvent(ev);
      item.dataset.t = String(link.t);
      if (link.node) item.dataset.node = link.node;
      if (link.msg !== null) item.dataset.msg = String(link.msg);
    }
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
    this.reveal(item, "center");
    return true;
  }

  /** Scroll a line into view and flash it. The feed glides there through its CSS (scroll-behavior: smooth,
   * static/css/app.css), which the page's reduced-motion rule turns off (static/css/classroom.css): no JS check. */
  reveal(item, block = "nearest") {
    item.scrollIntoView({ block });
    item.classList.remove("flash");
    void item.offsetWidth; // restart the animation
    item.classList.add("flash");
  }

  /** What a line is about: {t, node, msg} from its data attributes. */
  linkOf(item) {
    return { t: Number(item.dataset.t), node: item.dataset.node || null,
             msg: item.dataset.msg === undefined ? null : Number(item.dataset.msg) };
  }

  /** The lines about a message (`link`: {msg, t, node, end, to}): its own (sent, delivered, dropped), else what
   * its receiver told when it handled it, else what its sender told when it sent it. Newest first, as shown. */
  linesFor(link) {
    if (!link || link.msg === null || link.msg === undefined) return [];
    const own = [...this.el.querySelectorAll(`li[data-msg="${link.msg}"]`)];
    if (own.length) return own;
    const handled = link.end === null || link.end === undefined ? []
      : [...this.el.querySelectorAll(`li[data-t="${link.end}"][data-node="${link.to}"]`)];
    return handled.length ? handled : [...this.el.querySelectorAll(`li[data-t="${link.t}"][data-node="${link.node}"]`)];
  }

  /** Give exactly `items` the class `cls` (a highlight). */
  mark(cls, items) {
    for (const el of this.el.querySelectorAll(`li.${cls}`)) el.classList.remove(cls);
    for (const el of items) el.classList.add(cls);
  }
}
