// Small helpers shared by the page and the protocol view modules. No dependencies.

/** Create an element: h("div", {class: "x", onclick: f}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an SVG element with attributes. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Eight colours that stay distinct on a projector (and for the common colour-vision deficiencies, mostly). */
export const PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
export const GREY = "#94a3b8";

/** A stable colour for any string (roles a view module does not know). */
export function hashColor(str) {
  let x = 0;
  for (const ch of String(str)) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[x % PALETTE.length];
}

/** Simulated milliseconds as "1.234 s". */
export function fmtTime(ms) {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** "n1, n2 and n3". */
export function listNodes(ids) {
  const a = [...ids];
  if (a.length <= 1) return a.join("");
  return `${a.slice(0, -1).join(", ")} and ${a[a.length - 1]}`;
}

// --- stage geometry, shared by the page (topology.js) and view modules that lay out their own nodes ----------
export const STAGE_TOP = 30; // the hint line
const STAGE_BOTTOM = 36; // the legend

/** The crash zone: a box in the stage's bottom-right corner. */
export function crashZone(W, H) {
  const w = Math.min(220, Math.max(130, W * 0.26));
  const h = Math.min(110, Math.max(74, H * 0.17));
  return { x: W - w - 10, y: H - h - 10, w, h };
}

/** Node radius for `n` nodes on a W x H stage: smaller as the ring gets crowded. */
export function nodeRadius(W, H, n) {
  const base = Math.min(W, H);
  const ring = (Math.PI * 2 * base * 0.36) / Math.max(n, 1);
  return Math.max(9, Math.min(base / 13, 40, ring * 0.36));
}

/** The square the circle layout lives in (layout units 0..1 map onto it): as big as fits, clear of the crash zone. */
export function stageFrame(W, H, r, crash) {
  const top = STAGE_TOP;
  const bottom = STAGE_BOTTOM;
  const m = r + 10; // room for badges and timer rings around the square
  let side = Math.max(60, Math.min(W - 2 * m, H - top - bottom - 2 * m));
  let cx = W / 2;
  let cy = top + (H - top - bottom) / 2;
  const overlaps = () => cx + side / 2 + m > crash.x && cy + side / 2 + m > crash.y;
  if (overlaps()) cx = Math.max(side / 2 + m, crash.x - side / 2 - m); // move left of the zone...
  if (overlaps()) cy = Math.max(top + side / 2 + m, crash.y - side / 2 - m); // ...or above it...
  if (overlaps()) {
    // ...or shrink: the larger of "fits left of the zone" and "fits above it"
    const left = crash.x - 2 * m;
    const above = crash.y - top - 2 * m;
    if (left >= above) {
      side = Math.max(60, Math.min(side, left));
      cx = side / 2 + m;
    } else {
      side = Math.max(60, Math.min(side, above));
      cx = W / 2;
      cy = top + m + side / 2;
    }
  }
  return { side, cx, cy };
}
