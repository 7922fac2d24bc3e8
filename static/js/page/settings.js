// The settings dialog: seed, node count and every parameter from describe() with its bounds, network latency
// and loss, the protocol's teaching mutations, and its presets (ready-made scenarios). "Apply" restarts the run;
// an invalid value comes back as an error shown next to its field.

import { h } from "../util.js";
import { label } from "./narration.js";

const $ = (sel) => document.querySelector(sel);

function numberField(name, text, value, min, max, step, doc) {
  return h("label", { class: "field", "data-field": name }, h("span", {}, text),
    h("input", { type: "number", name, value, min, max, step, required: true, inputmode: "decimal" }),
    h("small", {}, doc ? `${doc} (${min}–${max})` : `${min}–${max}`));
}

export function setupSettings(page) {
  const { state, describe, config } = page;
  const dialog = $("#settings");
  const form = $("#settings-form");
  let pending = false; // a start from this dialog is on its way: close the dialog when it is accepted

  function build() {
    const fields = [];
    const nodes = describe.nodes;
    fields.push(numberField("nodes", "Nodes", nodes.default, nodes.min, nodes.max, 1, nodes.doc));
    for (const [name, p] of Object.entries(describe.params)) {
      const id = `params.${name}`;
      if (p.kind === "bool") {
        fields.push(h("label", { class: "field check", "data-field": id },
          h("input", { type: "checkbox", name: id, checked: !!p.default }), h("span", {}, label(name)),
          h("small", {}, p.doc)));
      } else if (p.kind === "choice") {
        fields.push(h("label", { class: "field", "data-field": id }, h("span", {}, label(name)),
          h("select", { name: id }, p.choices.map((c) => h("option", { value: c, selected: c === p.default }, c))),
          h("small", {}, p.doc)));
      } else if (p.kind === "int" || p.kind === "float") {
        fields.push(numberField(id, label(name), p.default, p.min, p.max, p.kind === "int" ? 1 : "any", p.doc));
      }
    }
    fields.push(numberField("network.latency.0", "latency min (ms)", 10, 0, 60000, 1, "shortest one-way delay"));
    fields.push(numberField("network.latency.1", "latency max (ms)", 30, 0, 60000, 1, "longest one-way delay"));
    fields.push(numberField("network.loss", "message loss", 0, 0, 1, "any", "probability that a message is lost"));
    $("#settings-fields").replaceChildren(...fields);
    const mutations = Object.entries(describe.mutations || {});
    $("#mutations").hidden = mutations.length === 0;
    const examples = describe.mutation_examples || {};
    $("#mutation-list").replaceChildren(...mutations.map(([name, doc]) => {
      // ticking a mutation offers its designed example (/e/<example>: playground/pages.py): a random run with
      // the mutation on often shows nothing for a long while
      const offer = examples[name] ? h("a", { class: "btn mutation-example", href: `/e/${examples[name]}`,
        "data-example": examples[name], hidden: true }, "▶ Load the example that catches it") : null;
      const box = h("input", { type: "checkbox", name: `mutation.${name}`,
        onchange: () => { if (offer) offer.hidden = !box.checked; } });
      return h("div", { class: "field check mutation", "data-field": `mutation.${name}` },
        h("label", {}, box, h("span", {}, label(name))), h("small", {}, doc), offer);
    }));
    const presets = config.presets || [];
    $("#presets").hidden = presets.length === 0;
    $("#preset-list").replaceChildren(...presets.map((p) =>
      h("button", { type: "button", class: "preset", "data-preset": p.slug, onclick: () => {
        state.preset = p;
        pending = true;
        page.startRun();
      } }, h("b", {}, p.title), h("small", {}, p.narrative))));
  }

  function apply(e) {
    e.preventDefault();
    if (e.submitter && e.submitter.value === "cancel") {
      dialog.close();
      return;
    }
    const data = new FormData(form);
    const sc = { nodes: Number(data.get("nodes")), params: {}, network: {} };
    for (const [name, p] of Object.entries(describe.params)) {
      const id = `params.${name}`;
      if (p.kind === "bool") sc.params[name] = data.get(id) === "on";
      else if (p.kind === "choice") sc.params[name] = data.get(id);
      else if (p.kind === "int") sc.params[name] = Number.parseInt(data.get(id), 10);
      else if (p.kind === "float") sc.params[name] = Number(data.get(id));
    }
    sc.network.latency = [Number(data.get("network.latency.0")), Number(data.get("network.latency.1"))];
    sc.network.loss = Number(data.get("network.loss"));
    sc.mutations = Object.keys(describe.mutations || {}).filter((m) => data.get(`mutation.${m}`) === "on");
    state.preset = null;
    const seed = Number.parseInt(data.get("seed"), 10);
    if (Number.isFinite(seed)) state.seed = seed;
    state.settings = sc;
    form.querySelectorAll(".field-error").forEach((x) => x.remove());
    pending = true;
    page.startRun();
  }

  /** Open the dialog showing the current run's settings. */
  function open() {
    form.querySelector("[name=seed]").value = state.seed;
    if (state.scenario) {
      const sc = state.scenario;
      form.querySelector("[name=nodes]").value = sc.nodes;
      for (const [name, value] of Object.entries(sc.params)) {
        const input = form.querySelector(`[name="params.${name}"]`);
        if (!input) continue;
        if (input.type === "checkbox") input.checked = !!value;
        else input.value = value;
      }
      form.querySelector("[name='network.latency.0']").value = sc.network.latency[0];
      form.querySelector("[name='network.latency.1']").value = sc.network.latency[1];
      form.querySelector("[name='network.loss']").value = sc.network.loss;
      for (const m of Object.keys(describe.mutations || {})) {
        const box = form.querySelector(`[name="mutation.${m}"]`);
        box.checked = (sc.mutations || []).includes(m);
        box.dispatchEvent(new Event("change"));
      }
    }
    form.querySelectorAll(".field-error").forEach((x) => x.remove());
    dialog.showModal();
  }

  function showError(msg) {
    const where = (msg.field || "").replace(/\[(\d+)\]/g, ".$1");
    const field = dialog.querySelector(`[data-field="${where}"]`) || dialog.querySelector("#settings-fields");
    dialog.querySelectorAll(".field-error").forEach((x) => x.remove());
    field.append(h("div", { class: "field-error" }, msg.message));
    if (!dialog.open) dialog.showModal();
  }

  build();
  form.addEventListener("submit", apply);
  $("#settings-btn").addEventListener("click", open);
  page.on("started", () => {
    if (pending && dialog.open) dialog.close(); // the new settings were accepted
    pending = false;
  });
  page.on("error", (msg) => {
    const field = msg.field || "";
    if (msg.code === "invalid_scenario" || field.startsWith("params.") || field === "nodes" || field === "seed") {
      showError(msg);
    }
  });
}
