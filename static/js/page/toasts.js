// Toasts: one short message at a time at the bottom of the page (errors stay a little longer).

export function setupToasts(page, el) {
  let timer = null;
  page.toast = (text, kind = "info") => {
    el.textContent = text;
    el.dataset.kind = kind;
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => {
      el.hidden = true;
    }, kind === "error" ? 5000 : 3500);
  };
}
