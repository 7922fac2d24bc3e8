// Presenter mode (issue 12; docs/classroom.md): large text everywhere, thick lines, the chrome reduced to what a
// demonstration needs. A class on <html> (static/css/classroom.css does the rest); the ▣ button and the F key
// toggle it; remembered for the tab (sessionStorage), so a teacher's reload keeps it.

const KEY = "playground.presenter";

export function setupPresenter(page) {
  const button = document.createElement("button");
  button.id = "present-btn";
  button.className = "btn ghost";
  button.type = "button";
  button.title = "Presenter mode: large text for a projector (F)";
  button.setAttribute("aria-label", "Presenter mode");
  button.textContent = "▣ Present";
  document.querySelector("#help-btn").before(button);

  function set(on) {
    document.documentElement.classList.toggle("presenter", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    try {
      if (on) sessionStorage.setItem(KEY, "1");
      else sessionStorage.removeItem(KEY);
    } catch { /* storage refused: the mode still works for this page */ }
    window.dispatchEvent(new Event("resize")); // the stage measures itself again
    page.refresh();
  }
  const toggle = () => set(!document.documentElement.classList.contains("presenter"));

  button.addEventListener("click", toggle);
  document.addEventListener("keydown", (e) => {
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "f" || e.key === "F") {
      e.preventDefault();
      toggle();
    }
  });
  let stored = false;
  try {
    stored = sessionStorage.getItem(KEY) === "1";
  } catch { /* no storage */ }
  if (stored || new URLSearchParams(location.search).get("present") === "1") set(true);
  return { toggle, set };
}
