// The experiment's chart (uPlot): ours as lines, the paper's published figures as markers over them.
// "cdf": per row the fraction of trials at or below each value (the Raft paper's Figure 16); a published median
// sits at 0.5, a published worst case at 1. "means": per series the mean against a variant's field (rounds vs
// N), the theory's values as a dashed line with markers. chartSeries() is pure, so the page and tests share it.

import { PALETTE } from "../util.js";

const PAPER_AT = { median: 0.5, max: 1 }; // where a published statistic lies on a CDF
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export function chartSpec(exp) {
  return exp.chart || { kind: "cdf", metric: exp.metrics[0] };
}

function variantField(variant, name) {
  if (name === "nodes" || name === "value" || name === "group") return variant[name] ?? null;
  const v = (variant.params || {})[name];
  return v === undefined ? null : v;
}

/** {xs, lines: [{label, color, kind: "ours"|"paper", ys}]}: every line on the shared, sorted xs (null = no
 * point there). `slot(label)` picks a row's colour, so a row keeps it whichever rows run with it. */
export function chartSeries(exp, variants, slot = null) {
  const spec = chartSpec(exp);
  const raw = []; // {label, color, kind, points: [[x, y]...]}
  if (spec.kind === "cdf") {
    variants.forEach((v, i) => {
      const color = PALETTE[(slot ? slot(v.label) : i) % PALETTE.length];
      const s = v.metrics[spec.metric] || {};
      const cdf = (s.cdf || []).filter(([x]) => !spec.log_x || x > 0);
      raw.push({ label: v.label + (s.n === 0 ? " (none within the limit)" : ""), color, kind: "ours",
                 points: cdf.length ? [[cdf[0][0], 0], ...cdf] : [] });
      const ref = (v.reference || {})[spec.metric] || {};
      const marks = Object.entries(PAPER_AT).filter(([stat]) => typeof ref[stat] === "number")
        .map(([stat, y]) => [ref[stat], y]);
      if (marks.length) {
        const said = Object.keys(PAPER_AT).filter((k) => typeof ref[k] === "number").map((k) => `${k} ${ref[k]}`);
        raw.push({ label: `paper ${v.label}: ${said.join(", ")}`, color, kind: "paper", points: marks });
      }
    });
  } else {
    const groups = new Map(); // series name -> [[x, variant]]
    exp.sweep.forEach((variant, i) => {
      const x = variantField(variant, spec.x);
      if (typeof x !== "number") return;
      const key = spec.series ? String(variantField(variant, spec.series)) : "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push([x, variants[i]]);
    });
    [...groups.entries()].forEach(([key, members], g) => {
      const color = PALETTE[g % PALETTE.length];
      const ours = members.filter(([, v]) => typeof (v.metrics[spec.metric] || {}).mean === "number")
        .map(([x, v]) => [x, v.metrics[spec.metric].mean]);
      raw.push({ label: key ? `ours: ${key}` : "ours", color, kind: "ours", points: ours });
      const theory = members.filter(([, v]) => typeof ((v.reference || {})[spec.metric] || {}).mean === "number")
        .map(([x, v]) => [x, v.reference[spec.metric].mean]);
      if (theory.length) raw.push({ label: key ? `reference: ${key}` : "reference", color, kind: "paper", points: theory });
    });
  }
  const xs = [...new Set(raw.flatMap((r) => r.points.map(([x]) => x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const lines = raw.map((r) => {
    const ys = xs.map(() => null);
    for (const [x, y] of r.points) ys[index.get(x)] = Math.max(ys[index.get(x)] ?? -Infinity, y);
    return { label: r.label, color: r.color, kind: r.kind, ys };
  });
  // A line that later ones cover exactly (eager range and sticky; 2PC and cooperative 2PC) is drawn wider, so
  // it shows beneath them.
  const ours = lines.filter((l) => l.kind === "ours");
  ours.forEach((line, i) => {
    const same = ours.slice(i + 1).filter((l) => l.ys.every((y, k) => y === line.ys[k])).length;
    line.width = 2.5 + 2.5 * same;
  });
  return { spec, xs, lines };
}

function fmtTick(v) {
  if (v === null || v === undefined) return ""; // a log axis leaves some ticks unlabelled
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

/** Draw (or redraw) the chart into `el`; returns the uPlot instance. */
export function drawChart(uPlot, el, exp, variants, width, slot = null) {
  const { spec, xs, lines } = chartSeries(exp, variants, slot);
  const cdf = spec.kind === "cdf";
  const stepped = uPlot.paths.stepped({ align: 1 });
  const series = [{ label: spec.x_label || (cdf ? spec.metric : spec.x) }];
  for (const line of lines) {
    const paper = line.kind === "paper";
    series.push({
      label: line.label,
      stroke: line.color,
      width: paper ? 1.5 : line.width || 2.5,
      dash: paper && !cdf ? [6, 5] : undefined,
      spanGaps: true,
      paths: paper && cdf ? () => null : cdf ? stepped : undefined,
      points: paper ? { show: true, size: 14, width: 3, stroke: line.color, fill: "#ffffff" }
        : { show: !cdf, size: 8, fill: line.color },
    });
  }
  const height = Math.max(260, Math.min(440, Math.round(width * 0.55)));
  const opts = {
    width, height,
    series,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: false, distr: spec.log_x ? 3 : 1 },
      y: cdf ? { range: [0, 1.02] } : { range: (u, lo, hi) => [Math.min(0, lo), hi * 1.1 || 1] },
    },
    axes: [
      { label: spec.x_label || spec.x || spec.metric, values: (u, vals) => vals.map(fmtTick), size: 44,
        // whole-number x (k, N): no 1.2, 1.4 ticks between them
        incrs: !spec.log_x && xs.every(Number.isInteger) ? WHOLE_STEPS : undefined },
      { label: spec.y_label || (cdf ? "fraction of trials" : `mean ${spec.metric}`), size: 56,
        values: (u, vals) => vals.map((v) => (v === null ? "" : cdf ? `${Math.round(v * 100)}%` : fmtTick(v))) },
    ],
  };
  el.replaceChildren();
  return new uPlot(opts, [xs, ...lines.map((l) => l.ys)], el);
}
