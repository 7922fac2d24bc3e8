// Controls and keys: play / pause, step, speed, seed, restart, partition mode, help, settings, invite; the
// connection indicator and the reconnect banner. The keys: space, →, . and , (one happening on / back), R, P, ?,
// Esc (the timeline adds ←, the share button S, the story stepper N, the diagram D, presenter mode F).

const $ = (sel) => document.querySelector(sel);

function speedLabel(speed) {
  if (speed >= 999.5) return speed >= 1500 ? `${(speed / 1000).toFixed(1)}× real time` : "real time";
  return `1/${Math.round(1000 / speed)} of real time`;
}

export function setupControls(page) {
  const { state, config, describe } = page;
  const speedSlider = $("#speed");
  speedSlider.min = Math.log10(config.speed.min);
  speedSlider.max = Math.log10(config.speed.max);
  speedSlider.step = 0.01;

  function update() {
    const play = $("#play");
    play.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
    play.setAttribute("aria-pressed", state.playing ? "true" : "false");
    speedSlider.value = Math.log10(state.speed);
    // short, so the toolbar stays one row on a projector; the tooltip says it in full
    const label = $("#speed-label");
    label.textContent = speedLabel(state.speed) + (state.lagging ? " ⚠ lagging" : "");
    label.title = state.lagging ? "The server runs this simulation as fast as it can, slower than the speed asked for" : "";
    $("#islands").textContent = state.islands ? "⚭ Heal partition" : "✂ Partition…";
    $("#islands").classList.toggle("active", state.islands);
    document.body.classList.toggle("viewer", state.viewer);
  }

  function togglePlay() {
    if (state.viewer || !state.snap) return;
    page.send({ type: state.playing ? "pause" : "resume" });
    state.playing = !state.playing; // optimistic; the status message confirms
    update();
  }

  function step() {
    if (state.viewer || !state.snap) return;
    page.send({ type: "step" });
  }

  async function invite() {
    if (!state.room) return;
    const url = `${location.origin}/play/${describe.name}/?watch=${encodeURIComponent(state.room)}`;
    try {
      await navigator.clipboard.writeText(url);
      page.toast(`Link copied — others can watch this run live: ${url}`, "info");
    } catch {
      page.toast(`Others can watch this run live at ${url}`, "info");
    }
  }

  function showConnection(s) {
    $("#conn").dataset.state = s;
    $("#conn-text").textContent = { open: "live", connecting: "connecting…", closed: "disconnected" }[s] || s;
    $("#disconnected").hidden = s !== "closed";
  }

  $("#play").addEventListener("click", togglePlay);
  $("#step").addEventListener("click", step);
  $("#restart").addEventListener("click", () => page.startRun());
  $("#islands").addEventListener("click", () => page.toggleIslands());
  $("#help-btn").addEventListener("click", () => $("#help").showModal());
  $("#invite").addEventListener("click", invite);
  let speedTimer = null;
  speedSlider.addEventListener("input", () => {
    state.speed = Math.round(10 ** Number(speedSlider.value) * 100) / 100;
    $("#speed-label").textContent = speedLabel(state.speed);
    clearTimeout(speedTimer);
    speedTimer = setTimeout(() => page.send({ type: "speed", speed: state.speed }), 60);
  });
  $("#seed").addEventListener("change", () => {
    const seed = Number.parseInt($("#seed").value, 10);
    if (Number.isFinite(seed) && seed >= 0) {
      state.seed = seed;
      state.preset = null;
      page.startRun();
    }
  });
  $("#reconnect").addEventListener("click", () => page.connect());

  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]") && e.key !== "Escape") return;
    if (e.key === " " || e.code === "Space") {
      e.preventDefault();
      togglePlay();
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      step();
    } else if ((e.key === "." || e.key === ",") && page.stepHappening) {
      e.preventDefault();
      page.stepHappening(e.key === "." ? 1 : -1); // one happening on / back (static/js/page/story-step.js)
    } else if (e.key === "?" || (e.key === "/" && e.shiftKey)) {
      e.preventDefault();
      $("#help").showModal();
    } else if (e.key === "r" || e.key === "R") {
      page.startRun();
    } else if (e.key === "p" || e.key === "P") {
      page.toggleIslands();
    } else if (e.key === "Escape") {
      page.closeMenu();
    }
  });

  page.on("connection", showConnection);
  page.on("status", update);
  page.on("refresh", update);
  page.on("started", (msg) => {
    if (!state.viewer) {
      state.seed = msg.scenario.seed;
      $("#seed").value = msg.scenario.seed;
    }
  });
  update();
}
