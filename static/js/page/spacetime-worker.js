// Paints the space-time diagram's scenes on its OffscreenCanvas (static/js/page/spacetime-draw.js), off the
// page's main thread. Messages: {canvas} once (transferred), then {scene, width, height, dpr}; only the newest
// scene waiting is painted. Answers {painted: ms} after each.

import { drawScene } from "./spacetime-draw.js";

let canvas = null;
let ctx = null;
let next = null;
let busy = false;

function paint() {
  busy = false;
  if (!next || !ctx) return;
  const { scene, width, height, dpr } = next;
  next = null;
  const t = performance.now();
  const w = Math.round(width * dpr);
  const h = Math.round(height * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  drawScene(ctx, scene, width, height, dpr);
  self.postMessage({ painted: performance.now() - t });
}

self.onmessage = (e) => {
  if (e.data.canvas) {
    canvas = e.data.canvas;
    ctx = canvas.getContext("2d");
    return;
  }
  next = e.data; // a newer scene replaces one not painted yet
  if (!busy) {
    busy = true;
    setTimeout(paint, 0); // (let a newer scene arrive first)
  }
};
