// One small wrapper over uPlot (static/vendor/uplot) for every protocol's chart of a measure over simulated time
// (docs/frontend.md, "Charts"). A view module describes its series and how to measure them from a snapshot; the
// chart samples the snapshot before each narrated event (so the feed's retelling after a seek or a fork rebuilds
// the branch's history) and at each update, forgets what lies after the moment a reset lands on (never an
// abandoned future), leaves a gap where a seek forward jumped over what it never followed (no flat line across),
// follows its container's size, and redraws at most ten times a second. Clicking it travels
// the timeline to that moment (the view context's seek). A toggle in its legend folds it to one line: the panel
// must leave the feed room on a projector, so it starts folded on a short screen (below 800 px) unless the user
// chose otherwise (remembered). It links its stylesheets itself (static/vendor/uplot/uPlot.min.css,
// static/css/charts.css), so every page that shows a view module gets them.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { h, fmtTime } from "./util.js";

// The chart's stylesheets come with it (uPlot's own, and ours), on every page that draws one: linked once.
for (const href of ["../vendor/uplot/uPlot.min.css", "../css/charts.css"]) {
  const url = new URL(href, import.meta.url).href;
  if (![...document.querySelectorAll('link[rel="stylesheet"]')].some((l) => l.href === url)) {
    document.head.append(h("link", { rel: "stylesheet", href: url }));
  }
}

const MAX_POINTS = 1200; // beyond this, every other point is dropped (the first kept)
const SAMPLES = 600; // narrate samples at most about this many moments over the chart's span
const REDRAW_MS = 100;
const TICK_MS = 250; // a quiet run sends frames without events: the page calls no update, the chart still follows
const FONT_PX = 14; // axis labels: readable from the back of a classroom
const OPEN_KEY = "playground.chartOpen"; // localStorage: "1" or "0" once the user toggled a chart
const TALL = matchMedia("(min-height: 800px)"); // room for the chart and the feed both

/** Whether charts show: the user's last choice, else open on a tall screen only. */
function openByChoice() {
  let chosen = null;
  try {
    chosen = localStorage.getItem(OPEN_KEY);
  } catch { /* storage blocked: follow the screen */ }
  return chosen === null ? TALL.matches : chosen === "1";
}

function rememberOpen(open) {
  try {
    localStorage.setItem(OPEN_KEY, open ? "1" : "0");
  } catch { /* storage blocked: the choice lasts this page */ }
}

/** A colour from the page's theme: "var(--good)" becomes its value (charts draw on a canvas, not in CSS). */
export function themeColor(value, fallback = "#0f172a") {
  const m = /^var\((--[\w-]+)\)$/.exec(String(value || ""));
  if (!m) return value || fallback;
  const v = getComputedStyle(document.documentElement).getPropertyValue(m[1]).trim();
  return v || fallback;
}

/** "1.5 s", "12 s", "2 min": short axis labels for simulated milliseconds. */
function axisTime(ms) {
  if (ms >= 120_000) return `${+(ms / 60_000).toFixed(1)} min`;
  return `${+(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`;
}

const COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];
const count = (v) => (Math.abs(v) >= 10_000 ? `${+(v / 1000).toFixed(0)}k` : String(+v.toFixed(2)));
const percent = (v) => `${Math.round(v * 100)}%`;

function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A chart of measures over simulated time, in `container`.
 *
 *   name      data-chart attribute (tests find the chart by it)
 *   series    [{ label, color, scale: "y"|"y2", dash: [..], band: true }]: a `band` series is not a line: the
 *             time where its value is truthy is shaded behind the lines (no leader, rebalancing, blocked)
 *   measure   snapshot -> one value per series (cheap: it runs up to SAMPLES times per retelling)
 *   y, y2     { percent: true } (0..100 %) or { max: n } (the top at least n) for the left and the right
 *             axis (the right one only if given)
 *   now       () -> the simulated time drawn right now (the vertical line), e.g. () => ctx.now
 *   seek      t -> travel there: the view context's ctx.seek (static/js/page/views.js); none: a click does nothing
 */
export function createChart(container, { name, series, measure, y = {}, y2 = null, now = null,
                                         seek = null, title = null }) {
  const lines = series.filter((s) => !s.band);
  const bands = series.filter((s) => s.band);
  let xs = [];
  let cols = series.map(() => []);
  let plot = null;
  let width = 0;
  let plotHeight = 0;
  let drawnAt = 0;
  let timer = null;
  let draws = 0; // redraws so far (tests check the rate)
  let resizes = 0; // the ResizeObserver's callbacks so far (tests check that a playing panel keeps its size)
  let held = null; // the page's snapshot (updated in place by the page as frames arrive), from reset and update
  // What the chart knows of the branch: it followed the run live up to `reached` (updates, or where a reset
  // landed), except in `gaps`: stretches a seek forward jumped over, whose events never came (nothing is known
  // there: the lines break instead of holding the last value across). A reset's moment is settled once the task
  // that made it is done: the feed's retelling resets to the run's start and back within one task.
  let reached = null;
  let reachedValues = null; // the values at `reached` (the retelling's samples end before it: a gap starts with them)
  let gaps = []; // [{from, to, values}]
  let landing = null; // [t, values] of the last reset, not settled yet
  let shown = { x: [], cols: [] }; // the points drawn: the kept ones, with a row of nulls where each gap starts

  const toggle = h("button", { type: "button", class: "chart-toggle", "aria-expanded": "false",
                               title: "Show or hide the chart" }, h("span", { class: "chart-fold", "aria-hidden": "true" }),
  h("span", { class: "chart-title" }, title || name));
  const legend = h("div", { class: "chart-legend" }, toggle,
    series.map((s) => h("span", { class: `chart-key${s.band ? " band" : s.dash ? " dashed" : ""}` },
      h("i", { style: s.band ? { background: themeColor(s.color) } : { borderColor: themeColor(s.color) } }),
      s.label)));
  const host = h("div", { class: "chart-plot", title: "click: travel to that moment" });
  const root = h("div", { class: "chart", dataset: { chart: name }, role: "figure" }, legend, host);
  container.append(root);

  /** Fold or unfold (folded, the plot has no size: nothing is drawn until it opens). */
  function show(open) {
    root.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }
  show(openByChoice());
  toggle.addEventListener("click", () => {
    const open = !root.classList.contains("open");
    rememberOpen(open);
    show(open);
  });
  const followScreen = () => show(openByChoice()); // until the user chooses, the screen's height decides
  TALL.addEventListener("change", followScreen);

  const fmt = (axis) => (axis.percent ? percent : count);
  const fmtOf = (s) => fmt(s.scale === "y2" ? y2 : y);

  /** What a screen reader hears: the chart's subject and the values now (from the snapshot: the same after a seek
   * as on a page opened at that moment). */
  function describe(values) {
    const now = series.map((s, k) => (s.band ? (values[k] ? s.label : null) : `${s.label} ${fmtOf(s)(values[k])}`))
      .filter(Boolean);
    const text = `${title || name} over simulated time, now: ${now.join(", ")}`;
    if (root.getAttribute("aria-label") !== text) root.setAttribute("aria-label", text);
  }
  const range = (axis) => (u, min, max) => {
    if (axis.percent) return [0, 1];
    return [0, niceMax(Math.max(axis.max || 0, (max || 0) * 1.1, 1))]; // headroom: no line on the frame
  };

  function options(w, hgt) {
    const ink = themeColor("var(--ink)");
    const muted = themeColor("var(--muted)");
    const grid = themeColor("var(--line)", "#cbd5e1");
    const font = `${FONT_PX}px system-ui, sans-serif`;
    const axes = [
      { scale: "x", stroke: muted, font, size: 26, space: 70, gap: 3, grid: { stroke: grid, width: 1 },
        ticks: { show: false }, values: (u, splits) => splits.map(axisTime) },
      { scale: "y", stroke: muted, font, size: 46, gap: 4, grid: { stroke: grid, width: 1 }, ticks: { show: false },
        values: (u, splits) => splits.map(fmt(y)), space: 28, incrs: y.percent ? undefined : COUNT_STEPS },
    ];
    if (y2) {
      axes.push({ scale: "y2", side: 1, stroke: muted, font, size: 40, gap: 4, grid: { show: false },
                  ticks: { show: false }, values: (u, splits) => splits.map(fmt(y2)), space: 28,
                  incrs: y2.percent ? undefined : COUNT_STEPS });
    }
    const scales = {
      x: { time: false, range: (u, min, max) => xRange() },
      y: { range: range(y) },
    };
    if (y2) scales.y2 = { range: range(y2) };
    return {
      width: w, height: hgt, pxAlign: 0,
      cursor: { show: false }, select: { show: false }, legend: { show: false },
      scales, axes,
      series: [{}, ...lines.map((s) => ({
        label: s.label, scale: s.scale || "y", stroke: themeColor(s.color), width: s.width || 2.5,
        dash: s.dash, paths: uPlot.paths.stepped({ align: 1 }), alignGaps: 1, // a gap starts at its null
        // no dots, except a value with no line to either side (where a jump forward landed): a dot shows it
        points: { show: false, filter: lonePoints, size: 8, width: 1, dash: [], fill: themeColor(s.color) },
      }))],
      hooks: { drawClear: [shade], draw: [nowLine] },
    };
  }

  /** The indices of series k's values that have no neighbour to draw a line to (null or none either side). */
  function lonePoints(u, k) {
    const ys = u.data[k];
    const out = [];
    for (let i = 0; i < ys.length; i++) {
      if (ys[i] === null || ys[i] === undefined) continue;
      if ((i === 0 || ys[i - 1] === null) && (i === ys.length - 1 || ys[i + 1] === null)) out.push(i);
    }
    return out.length ? out : null;
  }

  function xRange() {
    const t1 = Math.max(xs.length ? xs[xs.length - 1] : 0, now ? now() : 0);
    const t0 = xs.length ? xs[0] : t1;
    return t1 - t0 >= 1000 ? [t0, t1] : [Math.max(0, t1 - 1000), Math.max(t1, 1000)];
  }

  /** Shade the time where a band series is truthy, under the lines (not across a gap). */
  function shade(u) {
    const { x: px } = shown;
    if (!bands.length || !px.length) return;
    const g = u.ctx;
    const { top, height: hgt } = u.bbox;
    const end = Math.max(px[px.length - 1], now ? now() : 0);
    g.save();
    for (const b of bands) {
      const col = shown.cols[series.indexOf(b)];
      g.fillStyle = themeColor(b.color);
      g.globalAlpha = 0.35;
      for (let i = 0; i < px.length; i++) {
        if (!col[i]) continue;
        let j = i;
        while (j + 1 < px.length && col[j + 1]) j += 1;
        const a = u.valToPos(px[i], "x", true);
        const z = u.valToPos(j + 1 < px.length ? px[j + 1] : end, "x", true);
        g.fillRect(a, top, Math.max(2, z - a), hgt);
        i = j;
      }
    }
    g.restore();
  }

  /** The vertical line at the moment shown. */
  function nowLine(u) {
    const t = Math.max(xs.length ? xs[xs.length - 1] : 0, now ? now() : 0);
    const x = Math.round(u.valToPos(t, "x", true));
    const g = u.ctx;
    const { top, height: hgt } = u.bbox;
    g.save();
    g.strokeStyle = themeColor("var(--ink)");
    g.setLineDash([]); // a dashed series leaves its dash on the context
    g.lineWidth = 2 * uPlot.pxRatio;
    g.beginPath();
    g.moveTo(x, top);
    g.lineTo(x, top + hgt);
    g.stroke();
    g.restore();
  }

  /** The kept points, and where a gap lies between two of them, the values at its start (the last moment
   * followed) and a row of nulls (uPlot draws no line from there to the next point). */
  function withGaps() {
    const inside = xs.length < 2 ? [] : gaps.filter((g) => g.from >= xs[0] && g.from < xs[xs.length - 1])
      .sort((a, b) => a.from - b.from);
    if (!inside.length) return { x: xs, cols };
    const x = [];
    const out = cols.map(() => []);
    const row = (t, values) => {
      x.push(t);
      out.forEach((c, j) => c.push(values ? values[j] : null));
    };
    let k = 0;
    for (let i = 0; i <= xs.length; i++) {
      for (; k < inside.length && (i === xs.length || inside[k].from < xs[i]); k++) {
        const g = inside[k];
        if (x[x.length - 1] !== g.from && g.values && g.values.length === out.length) row(g.from, g.values);
        row(g.from, null);
      }
      if (i < xs.length) row(xs[i], cols.map((c) => c[i]));
    }
    return { x, cols: out };
  }

  function uplotData() {
    shown = withGaps();
    return [shown.x, ...lines.map((s) => shown.cols[series.indexOf(s)])];
  }

  /** Where a reset landed (a seek, a step back, a new run, a fork): what lies after it is forgotten, and a
   * moment past what the chart followed live is a jump: nothing is known between (a gap). */
  function land(t, values) {
    if (landing === null) queueMicrotask(settle);
    landing = [t, values];
  }

  function settle() {
    if (landing === null) return;
    const [t, values] = landing;
    landing = null;
    gaps = gaps.filter((g) => g.from < t).map((g) => ({ ...g, to: Math.min(g.to, t) }));
    if (reached !== null && t > reached) gaps.push({ from: reached, to: t, values: reachedValues });
    reached = t;
    reachedValues = values;
    scheduleDraw();
  }

  /** The run followed live up to moment t (an update, the ticker), where the series measure `values`. */
  function follow(t, values) {
    settle();
    if (reached === null || t >= reached) {
      reached = t;
      reachedValues = values;
    }
  }

  function drawNow() {
    timer = null;
    drawnAt = performance.now();
    if (width < 80 || plotHeight < 40) return; // folded or not laid out yet: the ResizeObserver draws when it has a size
    if (!plot) plot = new uPlot(options(width, plotHeight), uplotData(), host);
    else plot.setData(uplotData());
    draws += 1;
  }

  const resize = new ResizeObserver((entries) => {
    resizes += 1;
    const w = Math.floor(entries[0].contentRect.width);
    const hgt = Math.floor(entries[0].contentRect.height) || 0;
    if (w === width && hgt === plotHeight) return;
    width = w;
    plotHeight = hgt;
    if (plot && w >= 80 && hgt >= 40) plot.setSize({ width: w, height: hgt });
    // through the same rate limit as the data (a panel must not change size while a run plays: the test counts these)
    scheduleDraw();
  });

  function scheduleDraw() {
    if (timer) return;
    const wait = REDRAW_MS - (performance.now() - drawnAt);
    if (wait <= 0) drawNow();
    else timer = setTimeout(drawNow, wait);
  }
  resize.observe(host);

  /** Where on the time axis a pointer event is (CSS zoom of the panel included: ratios, not pixels). */
  function timeAt(ev) {
    if (!plot) return null;
    const box = plot.over.getBoundingClientRect();
    if (box.width <= 0) return null;
    const [t0, t1] = xRange();
    return t0 + ((ev.clientX - box.left) / box.width) * (t1 - t0);
  }

  host.addEventListener("click", (ev) => {
    const t = timeAt(ev);
    if (!seek || t === null || !xs.length) return;
    seek(Math.min(Math.max(t, xs[0]), xs[xs.length - 1]));
  });
  host.addEventListener("mousemove", (ev) => {
    const t = timeAt(ev);
    const { x: px } = shown;
    if (t === null || !px.length) return;
    let i = px.length - 1;
    while (i > 0 && px[i] > t) i -= 1;
    const gap = gaps.find((g) => g.from <= t && t < g.to);
    const vals = series.filter((s) => !s.band).map((s) => {
      const v = shown.cols[series.indexOf(s)][i];
      return `${s.label} ${v === null || v === undefined ? "—" : fmtOf(s)(v)}`;
    });
    host.title = gap
      ? `${fmtTime(gap.from)} – ${fmtTime(gap.to)}: jumped over, not known here\nclick: travel to that moment`
      : `${fmtTime(px[i])}: ${vals.join(" · ")}\nclick: travel to that moment`;
  });

  // time passes without events (the page then calls no update): keep the moment shown on the chart
  const ticker = setInterval(() => {
    if (!held || document.hidden || !root.isConnected) return;
    const last = xs.length ? xs[xs.length - 1] : -Infinity;
    if (held.t > last) {
      const values = measure(held);
      follow(held.t, values);
      chart.record(held.t, values);
      describe(values);
      chart.draw();
    }
  }, TICK_MS);

  const chart = {
    root,

    /** Keep the value of every series at moment t (a later moment than the last kept; an earlier one first
     * forgets what came after it). */
    record(t, values) {
      chart.trim(t);
      if (xs.length && xs[xs.length - 1] === t) {
        values.forEach((v, k) => { cols[k][cols[k].length - 1] = v; });
        return;
      }
      xs.push(t);
      values.forEach((v, k) => cols[k].push(v));
      if (xs.length > MAX_POINTS) {
        const keep = (_, i) => i === 0 || i % 2 === 1 || i === xs.length - 1;
        xs = xs.filter(keep);
        cols = cols.map((c) => c.filter(keep));
      }
    },

    /** Forget every point after moment t. */
    trim(t) {
      let n = xs.length;
      while (n > 0 && xs[n - 1] > t) n -= 1;
      if (n === xs.length) return;
      xs.length = n;
      for (const c of cols) c.length = n;
    },

    clear() {
      xs = [];
      cols = series.map(() => []);
    },

    /** Sample `snap` if enough simulated time passed since the last point (narrate calls it on every event). */
    sample(snap) {
      const last = xs.length ? xs[xs.length - 1] : -Infinity;
      const gap = xs.length ? Math.max(1, (snap.t - xs[0]) / SAMPLES) : 0;
      if (snap.t < last || snap.t - last >= gap) chart.record(snap.t, measure(snap));
    },

    /** The lifecycle's reset: the branch's past up to `snap` stays, what came after is forgotten. */
    reset(snap) {
      held = snap;
      chart.trim(snap.t);
      const values = measure(snap);
      land(snap.t, values);
      chart.record(snap.t, values);
      describe(values);
      chart.draw();
    },

    /** The lifecycle's update: the current value, then a redraw (at most every REDRAW_MS). */
    update(snap) {
      held = snap;
      const values = measure(snap);
      follow(snap.t, values);
      chart.record(snap.t, values);
      describe(values);
      chart.draw();
    },

    draw() {
      scheduleDraw();
    },

    /** The points drawn: [[t, v1, v2, ...], ...], a row of nulls where a gap starts (tests read it through the
     * element's `chart` property). */
    points() {
      const { x, cols: c } = withGaps();
      return x.map((t, i) => [t, ...c.map((col) => col[i])]);
    },

    /** The stretches jumped over: [{from, to}] (a seek forward past what the chart followed). */
    gaps() {
      return gaps.map((g) => ({ from: g.from, to: g.to }));
    },

    /** How many times the chart was drawn so far. */
    draws: () => draws,

    /** How many times the chart's ResizeObserver called back so far (its plot's box changed size). */
    resizes: () => resizes,

    destroy() {
      clearInterval(ticker);
      TALL.removeEventListener("change", followScreen);
      resize.disconnect();
      if (timer) clearTimeout(timer);
      if (plot) plot.destroy();
      plot = null;
      root.remove();
    },
  };
  root.chart = chart; // for tests and the curious: document.querySelector("[data-chart]").chart.points()
  return chart;
}
