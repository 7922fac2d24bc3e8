// The experiment page (/experiments/<slug>/): the form (rows, trials, seed), Run and Cancel over the WebSocket
// /ws/experiments/ (docs/experiments.md "On the page"), live progress per row, the chart, the table of ours beside
// the paper's, CSV/JSON downloads and a saved link (?trials=&seed=&rows=&run=1) that reruns to the same numbers.

import { h } from "../util.js";
import { chartSpec, drawChart } from "./chart.js";

const config = JSON.parse(document.getElementById("experiment-config").textContent);
const $ = (id) => document.getElementById(id);
const form = $("exp-form");
const els = {
  trials: $("exp-trials"), seed: $("exp-seed"), total: $("exp-total"), run: $("exp-run"), cancel: $("exp-cancel"),
  csv: $("exp-csv"), json: $("exp-json"), save: $("exp-save"), message: $("exp-message"), link: $("exp-link"),
  linkA: $("exp-link-a"), progress: $("exp-progress"), progressTotal: $("exp-progress-total"),
  progressRows: $("exp-progress-rows"), chartBox: $("exp-chart-box"), chart: $("exp-chart"),
  chartTitle: $("exp-chart-title"), chartNote: $("exp-chart-note"), tableBox: $("exp-table-box"), table: $("exp-table"),
  conn: $("conn"), connLabel: $("conn-label"),
};
const rowBoxes = [...form.querySelectorAll('input[name="row"]')];

// What tests and the console read: the last result, the uPlot instance, the run's state.
const state = window.experiments = { result: null, chart: null, running: false, request: null, progress: null,
                                     progressSeen: [] };

let uPlotModule = null;
const uPlotReady = import(config.uplot).then((m) => { uPlotModule = m.default; });

function chosenRows() { return rowBoxes.filter((b) => b.checked).map((b) => Number(b.value)); }

function request() {
  return { experiment: config.slug, trials: Number(els.trials.value), seed: Number(els.seed.value), rows: chosenRows() };
}

function problem() {
  const r = request();
  if (!r.rows.length) return "choose at least one row";
  if (!Number.isInteger(r.trials) || r.trials < 1) return "trials: a whole number from 1";
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > 2147483647) return "seed: a whole number from 0 to 2147483647";
  if (r.rows.length * r.trials > config.max_trials) {
    return `${r.rows.length * r.trials} trials: a run may have at most ${config.max_trials.toLocaleString("en")}`;
  }
  return null;
}

function updateTotal() {
  const r = request();
  const bad = problem();
  els.total.textContent = bad || `${(r.rows.length * r.trials).toLocaleString("en")} trials`;
  els.total.classList.toggle("bad", !!bad);
  els.run.disabled = state.running || !!bad || !socketOpen();
}

function say(text, kind = "") {
  els.message.textContent = text;
  els.message.className = `exp-message ${kind}`;
}

// --- the socket ----------------------------------------------------------------------------------------------
let ws = null;
let runWhenOpen = false;
let retryIn = 500; // ms before reconnecting, doubled after each failed try

function socketOpen() { return ws && ws.readyState === WebSocket.OPEN; }

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws/experiments/`);
  ws.addEventListener("open", () => {
    retryIn = 500;
    setConn("open", "connected");
    updateTotal();
    if (runWhenOpen) { runWhenOpen = false; run(); }
  });
  ws.addEventListener("close", () => {
    setConn("closed", "disconnected");
    if (state.running) say("The connection closed: the run stopped. Press Run again once reconnected.", "bad");
    setRunning(false);
    retryIn = Math.min(retryIn * 2, 16_000);
    setTimeout(connect, retryIn); // the server restarted, or the network dropped: try again, less and less often
  });
  ws.addEventListener("message", (e) => handle(JSON.parse(e.data)));
}

function setConn(stateName, label) {
  els.conn.dataset.state = stateName;
  els.connLabel.textContent = label;
}

function setRunning(running) {
  state.running = running;
  els.cancel.disabled = !running;
  for (const el of [els.trials, els.seed, ...rowBoxes]) el.disabled = running;
  updateTotal();
}

function run() {
  const bad = problem();
  if (bad) { say(bad, "bad"); return; }
  if (!socketOpen()) { runWhenOpen = true; return; }
  state.request = request();
  ws.send(JSON.stringify({ type: "run", ...state.request }));
  say("Starting…");
  setRunning(true);
}

let resultParts = [];

function handle(msg) {
  if (msg.type === "result_part") { // a result too long for one message comes in parts of its JSON text
    resultParts[msg.part] = msg.text;
    if (msg.part === msg.parts - 1) {
      const text = resultParts.join("");
      resultParts = [];
      handle(JSON.parse(text));
    }
    return;
  }
  if (msg.type === "started") {
    showProgress(msg.rows, msg.total);
    say(`Running ${msg.total.toLocaleString("en")} trials…`);
  } else if (msg.type === "progress") {
    updateProgress(msg);
  } else if (msg.type === "result") {
    setRunning(false);
    state.result = msg;
    updateProgress({ done: msg.rows.length, total: msg.rows.length,
                     per_row: msg.variants.map((v) => v.metrics[msg.experiment.metrics[0]].trials) });
    say(`Done: ${msg.rows.length.toLocaleString("en")} trials. Same seed, same numbers.`, "good");
    for (const b of [els.csv, els.json, els.save]) b.disabled = false;
    showResult(msg);
  } else if (msg.type === "cancelled") {
    setRunning(false);
    say("Cancelled.");
  } else if (msg.type === "error") {
    setRunning(false);
    say(`Refused: ${msg.message}`, "bad");
  }
}

// --- progress ------------------------------------------------------------------------------------------------
function showProgress(labels, total) {
  state.progress = { done: 0, total, per_row: labels.map(() => 0) };
  state.progressSeen = [];
  els.progress.hidden = false;
  els.progressTotal.textContent = `0 / ${total.toLocaleString("en")}`;
  const each = total / labels.length;
  els.progressRows.replaceChildren(...labels.map((label) => h("li", { class: "exp-progress-row" },
    h("span", { class: "exp-progress-label" }, label),
    h("progress", { max: String(each), value: "0" }),
    h("span", { class: "exp-progress-count" }, `0 / ${each}`))));
}

function updateProgress(msg) {
  state.progress = msg;
  state.progressSeen.push(msg.done);
  els.progressTotal.textContent = `${msg.done.toLocaleString("en")} / ${msg.total.toLocaleString("en")}`;
  [...els.progressRows.children].forEach((li, i) => {
    const bar = li.querySelector("progress");
    bar.value = msg.per_row[i];
    li.querySelector(".exp-progress-count").textContent = `${msg.per_row[i]} / ${bar.max}`;
    li.classList.toggle("done", msg.per_row[i] >= Number(bar.max));
  });
}

// --- results -------------------------------------------------------------------------------------------------
function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString("en");
  if (a >= 1) return v.toFixed(1);
  return String(+v.toPrecision(3));
}

const LONG_NOTE = 80; // characters: a longer note folds away, so the table stays a table

function paperSays(ref) {
  if (!ref) return "(not given)";
  const figures = ["median", "mean", "max"].filter((k) => typeof ref[k] === "number").map((k) => `${k} ${fmt(ref[k])}`)
    .join("; ");
  if (!ref.note) return figures || "(not given)";
  if (ref.note.length <= LONG_NOTE) return [figures, ref.note].filter(Boolean).join("; ");
  return h("details", { class: "exp-note" }, h("summary", {}, figures || "note"), ref.note);
}

async function showResult(result) {
  const exp = result.experiment;
  const spec = chartSpec(exp);
  renderTable(result, spec.metric);
  els.chartBox.hidden = false;
  els.chartTitle.textContent = spec.kind === "cdf"
    ? `${spec.metric}: fraction of trials at or below, per row (markers: the paper's figures, where it gives them)`
    : `mean ${spec.metric} against ${spec.x_label || spec.x} (dashed, markers: the reference)`;
  els.chartNote.textContent = spec.kind === "cdf"
    ? "A line that stops below 100% had trials that never got there within the trial's limit."
    : "Ours: the mean of the trials (its 95% interval is in the table).";
  await uPlotReady;
  redraw();
}

function redraw() {
  if (!state.result || !uPlotModule) return;
  if (state.chart) state.chart.destroy();
  const width = Math.max(280, els.chart.clientWidth);
  const slot = (label) => Math.max(0, config.rows.indexOf(label));
  state.chart = drawChart(uPlotModule, els.chart, state.result.experiment, state.result.variants, width, slot);
}

function renderTable(result, metric) {
  const others = result.experiment.metrics.filter((m) => m !== metric);
  const head = h("tr", {}, h("th", {}, "row"), h("th", {}, "reached"), h("th", {}, `median`),
    h("th", {}, "mean (95% interval)"), h("th", {}, "p99"), h("th", {}, "max"), h("th", { class: "paper" }, "paper / reference"),
    ...others.map((m) => h("th", {}, `${m} (mean)`)));
  const body = result.variants.map((v) => {
    const s = v.metrics[metric];
    const ci = s.ci95 ? ` (${fmt(s.ci95[0])}–${fmt(s.ci95[1])})` : "";
    return h("tr", {},
      h("th", { scope: "row" }, v.label),
      h("td", {}, `${s.n} / ${s.trials}`),
      h("td", {}, fmt(s.median)),
      h("td", {}, `${fmt(s.mean)}${ci}`),
      h("td", {}, fmt(s.p99)),
      h("td", {}, fmt(s.max)),
      h("td", { class: "paper" }, paperSays((v.reference || {})[metric])),
      ...others.map((m) => h("td", {}, fmt(v.metrics[m].mean))));
  });
  els.table.replaceChildren(h("caption", {}, `${metric}, ${result.experiment.trials} trials a row, seed ` +
    `${result.experiment.seed}`), h("thead", {}, head), h("tbody", {}, body));
  els.tableBox.hidden = false;
}

// --- downloads and the saved link ----------------------------------------------------------------------------
function download(text, type, ext) {
  const r = state.request;
  const a = h("a", { href: URL.createObjectURL(new Blob([text], { type })),
                     download: `${config.slug}-seed${r.seed}-trials${r.trials}.${ext}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function savedLink(r) {
  const q = new URLSearchParams({ trials: r.trials, seed: r.seed, rows: r.rows.join(","), run: "1" });
  return `${location.origin}${location.pathname}?${q}`;
}

els.csv.addEventListener("click", () => download(state.result.csv, "text/csv", "csv"));
els.json.addEventListener("click", () => {
  const { experiment, variants, rows } = state.result;
  download(JSON.stringify({ experiment, variants, rows }, null, 1), "application/json", "json");
});
els.save.addEventListener("click", async () => {
  const url = savedLink(state.request);
  els.linkA.href = url;
  els.linkA.textContent = url;
  els.link.hidden = false;
  try {
    await navigator.clipboard.writeText(url);
    say("Link copied: it reruns this experiment to the same numbers.", "good");
  } catch {
    say("Copy the link below: it reruns this experiment to the same numbers.", "good");
  }
});

// --- start ---------------------------------------------------------------------------------------------------
function applyQuery(q) {
  if (q.trials) els.trials.value = q.trials;
  if (q.seed) els.seed.value = q.seed;
  if (q.rows) {
    const chosen = new Set(q.rows.split(",").map(Number));
    for (const b of rowBoxes) b.checked = chosen.has(Number(b.value));
  }
  runWhenOpen = q.run === "1";
}

form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
form.addEventListener("input", updateTotal);
els.cancel.addEventListener("click", () => { if (socketOpen()) ws.send(JSON.stringify({ type: "cancel" })); });
new ResizeObserver(() => {
  if (state.chart && Math.abs(state.chart.width - els.chart.clientWidth) > 4) redraw();
}).observe(els.chart);
applyQuery(config.query || {});
updateTotal();
connect();
