// Sharing on the page: the Share button (save the run so far, copy a link that replays it exactly), Export
// (download the run as a scenario file) and Import (open a scenario file). docs/sharing.md.
//
// setupShare(ext, timeline) -> { observe(msg), handles, startOptions() }; `ext` is the page
// (static/js/page/state.js), `timeline` the time-travel bar (its marks name the run's interventions).

import { fmtTime } from "./util.js";

const MAX_FILE = 256 * 1024; // simulator.scenario.MAX_SCENARIO_BYTES

export function setupShare(ext, timeline) {
  const { state, config } = ext;
  const $ = (sel) => document.querySelector(sel);
  const shareBtn = $("#share");
  const dialog = $("#share-dialog");
  const urlInput = $("#share-url");
  let requests = 0;
  const pending = new Map(); // request id -> "save" | "export"
  const shareLabel = shareBtn.textContent;

  /** The saved scenario this run started from, if it still is that one (for `forked_from`). */
  function origin() {
    const p = state.preset;
    return p && p.saved ? p.slug : null;
  }

  function request(type, extra = {}) {
    if (state.viewer || !state.snap) return null;
    requests += 1;
    const id = `${type}-${requests}`;
    pending.set(id, type);
    const msg = { type, id, ...extra };
    try {
      msg.layout = ext.topo.layout();
    } catch {
      // no layout yet
    }
    ext.send(msg);
    return id;
  }

  // The dialog has two steps: name the run (title, optional description), then the link. The run is paused
  // while it is open, so the link ends where Share was pressed; closing it resumes a run that was playing.
  const form = $("#share-form");
  const result = $("#share-result");
  const nameInput = $("#share-name");
  const descInput = $("#share-description");
  const errorBox = $("#share-error");
  const createBtn = $("#share-create");
  const createLabel = createBtn.textContent;
  let resumeOnClose = false;

  function interventionCount() {
    return timeline.marks.filter((m) => m.kind === "intervention").length;
  }

  /** A sensible default title: "Raft · seed 3 · 4 interventions" (or the saved run's own title, for a branch of it). */
  function defaultTitle() {
    const p = state.preset;
    const n = interventionCount();
    const acts = `${n} intervention${n === 1 ? "" : "s"}`;
    const max = Number(nameInput.maxLength) > 0 ? Number(nameInput.maxLength) : 200;
    if (p && p.title) return `${p.title} · ${acts}`.slice(0, max);
    const seed = state.scenario ? state.scenario.seed : state.seed;
    return `${ext.describe.title} · seed ${seed} · ${acts}`.slice(0, max);
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function setBusy(busy) {
    createBtn.disabled = busy;
    createBtn.textContent = busy ? "Saving…" : createLabel;
    shareBtn.disabled = busy;
    shareBtn.textContent = busy ? "Saving…" : shareLabel;
  }

  function share() {
    if (state.viewer) {
      ext.toast("Only the person running this can save it; ask them for a link", "warn");
      return;
    }
    if (!state.snap || dialog.open) return;
    resumeOnClose = state.playing;
    if (state.playing) {
      ext.send({ type: "pause" });
      state.playing = false; // optimistic, as the play button; the status message confirms
      ext.refresh();
    }
    form.hidden = false;
    result.hidden = true;
    showError("");
    setBusy(false);
    nameInput.value = defaultTitle();
    descInput.value = "";
    dialog.querySelector(".share-intro").textContent = `The link replays this run exactly, up to `
      + `${fmtTime(Math.max(state.snap.t, Math.floor(state.shownT || 0)))} (where you pressed Share), then pauses. Anyone who opens it can rewind it and `
      + `try something else.`;
    dialog.showModal();
    nameInput.focus();
    nameInput.select();
  }

  function create(event) {
    event.preventDefault();
    const title = nameInput.value.trim();
    if (!title) {
      showError("Give the run a title: it is what people see when they open the link.");
      nameInput.focus();
      return;
    }
    showError("");
    const extra = { title, description: descInput.value.trim() };
    const from = origin();
    if (from) extra.forked_from = from;
    if (request("save", extra)) setBusy(true);
  }

  async function onSaved(msg) {
    setBusy(false);
    const url = msg.url && /^https?:/.test(msg.url) ? msg.url : `${location.origin}${msg.path}`;
    urlInput.value = url;
    $("#share-open").href = url;
    $("#share-json").href = `${msg.path}.json`;
    dialog.querySelector(".share-saved-title").textContent = msg.title || nameInput.value.trim();
    dialog.querySelector(".share-what").textContent = `This link replays the run exactly as you saw it, up to `
      + `${fmtTime(msg.t)}${msg.forked_from ? ` (a branch of ${msg.forked_from})` : ""}. Anyone who opens it can rewind it and try something else.`;
    dialog.dataset.slug = msg.slug;
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      // no clipboard permission (plain http, or the browser said no): the dialog shows the link to copy
    }
    ext.toast(copied ? `⤴ Link copied: ${url}` : `⤴ Saved: ${url}`, "info");
    form.hidden = true;
    result.hidden = false;
    if (!dialog.open) dialog.showModal();
    urlInput.focus();
    urlInput.select();
  }

  function onSaveError(msg) {
    setBusy(false);
    let text = msg.message || "The run could not be saved";
    if (msg.code === "rate_limited") {
      text = `Too many links saved from your network just now: try again in ${msg.retry_after || 60} s.`;
    }
    if (dialog.open && !form.hidden) {
      showError(text);
      if (msg.field === "description") descInput.focus();
      else if (msg.field === "title") nameInput.focus();
    } else {
      ext.toast(`⤴ ${text}`, "error");
    }
  }

  function download(name, text) {
    const blob = new Blob([text], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  }

  function csrfToken() {
    const field = document.querySelector("#import-form [name=csrfmiddlewaretoken]");
    if (field) return field.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function importFile(file) {
    if (!file) return;
    if (file.size > MAX_FILE) {
      ext.toast(`${file.name}: ${file.size} bytes; a scenario may have at most ${MAX_FILE}`, "error");
      return;
    }
    const text = await file.text();
    let response;
    try {
      response = await fetch("/api/scenarios", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
        body: text,
      });
    } catch (err) {
      ext.toast(`Could not reach the server: ${err}`, "error");
      return;
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      // not JSON
    }
    if (response.status === 201 && data) {
      location.href = data.url;
      return;
    }
    const err = (data && data.error) || { message: `the server answered ${response.status}` };
    ext.toast(`${file.name}: ${err.message}`, "error");
  }

  shareBtn.addEventListener("click", share);
  form.addEventListener("submit", create);
  $("#share-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (resumeOnClose && !state.playing && state.snap) {
      ext.send({ type: "resume" });
      state.playing = true;
      ext.refresh();
    }
    resumeOnClose = false;
  });
  $("#share-copy").addEventListener("click", async () => {
    urlInput.select();
    try {
      await navigator.clipboard.writeText(urlInput.value);
      ext.toast("⤴ Link copied", "info");
    } catch {
      document.execCommand("copy");
    }
  });
  $("#export").addEventListener("click", () => request("export"));
  const fileInput = $("#import-file");
  $("#import").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    importFile(fileInput.files[0]);
    fileInput.value = "";
  });
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "s" || e.key === "S") {
      e.preventDefault(); // else the "s" lands in the title field that share() focuses
      share();
    }
  });
  if (state.viewer) {
    for (const id of ["#share", "#export"]) $(id).hidden = true;
  }

  function observe(msg) {
    if (msg.type === "saved" && pending.delete(msg.id)) onSaved(msg);
    else if (msg.type === "exported" && pending.delete(msg.id)) {
      download(msg.filename, `${JSON.stringify(msg.scenario, null, 2)}\n`);
      ext.toast(`⤓ ${msg.filename}: run it with python -m simulator run ${msg.filename}`, "info");
    } else if (msg.type === "error" && pending.has(msg.id)) {
      const type = pending.get(msg.id);
      pending.delete(msg.id);
      if (type === "save") {
        onSaveError(msg); // shown in the dialog (or its own toast): the page's generic handler stays out
        return true;
      }
    }
    return false;
  }

  return { observe, handles: ["saved", "exported"], startOptions: () => ({}), origin };
}
