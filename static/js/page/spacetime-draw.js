// The space-time diagram's display list and its painter. static/js/page/spacetime.js builds a scene (a list of
// drawing operations over typed arrays) from its geometry; drawScene paints it on a 2D context, in a worker
// (static/js/page/spacetime-worker.js, on an OffscreenCanvas: thousands of anti-aliased lines rasterise off the
// page's main thread) or, where there is no OffscreenCanvas, on the page itself.
//
// Operations: {op: "fill", color, alpha?, rects: [x, y, w, h, ...]}, {op: "stroke", color, width, dash?, alpha?,
// lines: [x1, y1, x2, y2, ...]}, {op: "rings", fill, color, width, r, points: [x, y, ...]},
// {op: "text", font, color, align, items: [[text, x, y], ...]}. Arrays are Float32Arrays (transferable).

export function drawScene(ctx, scene, width, height, dpr) {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  for (const o of scene) {
    ctx.globalAlpha = o.alpha === undefined ? 1 : o.alpha;
    if (o.op === "fill") {
      const a = o.rects;
      ctx.fillStyle = o.color;
      ctx.beginPath();
      for (let i = 0; i < a.length; i += 4) ctx.rect(a[i], a[i + 1], a[i + 2], a[i + 3]);
      ctx.fill();
    } else if (o.op === "stroke") {
      const a = o.lines;
      ctx.strokeStyle = o.color;
      ctx.lineWidth = o.width;
      ctx.setLineDash(o.dash || []);
      ctx.beginPath();
      for (let i = 0; i < a.length; i += 4) { ctx.moveTo(a[i], a[i + 1]); ctx.lineTo(a[i + 2], a[i + 3]); }
      ctx.stroke();
      ctx.setLineDash([]);
    } else if (o.op === "rings") {
      const a = o.points;
      ctx.fillStyle = o.fill;
      ctx.strokeStyle = o.color;
      ctx.lineWidth = o.width;
      ctx.beginPath();
      for (let i = 0; i < a.length; i += 2) { ctx.moveTo(a[i] + o.r, a[i + 1]); ctx.arc(a[i], a[i + 1], o.r, 0, 2 * Math.PI); }
      ctx.fill();
      ctx.stroke();
    } else if (o.op === "text") {
      ctx.font = o.font;
      ctx.fillStyle = o.color;
      ctx.textAlign = o.align || "left";
      for (const [text, x, y] of o.items) ctx.fillText(text, x, y);
    }
  }
  ctx.globalAlpha = 1;
}

/** The typed arrays of a scene (to transfer to the worker without copying). */
export function buffersOf(scene) {
  const out = [];
  for (const o of scene) for (const k of ["rects", "lines", "points"]) if (o[k]) out.push(o[k].buffer);
  return out;
}
