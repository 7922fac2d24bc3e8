"""The layout check run in the page (tests/web/test_classroom_layout_browser.py): every visible control's box,
the pairs that overlap, the boxes that leave the viewport, horizontal scroll, whether the stage, panel and feed are
visible without scrolling, and the smallest text size on the page."""

LAYOUT_JS = """() => {
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const visible = (el) => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== "hidden" && cs.display !== "none"
      && !el.closest("[hidden], dialog:not([open]), .menu, .toast, .sr-only");
  };
  const name = (el) => el.id ? "#" + el.id : el.tagName.toLowerCase() + "." + [...el.classList].join(".")
    + "(" + (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 20) + ")";
  const controls = [...document.querySelectorAll(
    ".topbar > *, .controls button, .controls input, .controls label, .controls .clock, #proto-toolbar button, "
    + ".invariant, .class-bar *:is(button, a, input)")].filter(visible);
  const boxes = controls.map((el) => [name(el), el.getBoundingClientRect(), el]);
  const overlaps = [], outside = [], clipped = [];
  for (let i = 0; i < boxes.length; i++) {
    const [n, r, el] = boxes[i];
    if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5) outside.push(n);
    if (el.scrollWidth > el.clientWidth + 1 && el.tagName === "BUTTON") clipped.push(n);
    for (let j = i + 1; j < boxes.length; j++) {
      const [m, q, other] = boxes[j];
      if (el.contains(other) || other.contains(el)) continue;
      const dx = Math.min(r.right, q.right) - Math.max(r.left, q.left);
      const dy = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
      if (dx > 0.5 && dy > 0.5) overlaps.push(n + " / " + m);
    }
  }
  const inView = (sel) => {
    const el = document.querySelector(sel);
    if (!el || !visible(el)) return false;
    const r = el.getBoundingClientRect();
    return r.top >= -0.5 && r.bottom <= vh + 0.5 && r.height >= 60;
  };
  const panel = document.querySelector("#panel");
  let smallest = 1e9, smallestWhat = null;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el)) continue;
    if (parseFloat(getComputedStyle(el).fontSize) === 0) continue;  // a button showing only its ::before symbol
    if (el.closest("dialog, .menu, .toast, #help, .sr-only, option, script")) continue;
    const r = el.getBoundingClientRect();
    if (r.bottom < 0 || r.top > vh || r.right < 0 || r.left > vw) continue;
    // what the eye gets: CSS zoom (presenter mode scales the side panel) and SVG transforms included
    const px = parseFloat(getComputedStyle(el).fontSize) * (el.ownerSVGElement ? svgScale(el) : el.currentCSSZoom || 1);
    if (px < smallest) { smallest = px; smallestWhat = name(el) + " " + node.textContent.trim().slice(0, 20); }
  }
  function svgScale(el) {
    const m = el.getScreenCTM();
    return m ? Math.hypot(m.a, m.b) : 1;
  }
  return {
    overlaps, outside, clipped,
    hscroll: document.documentElement.scrollWidth > vw + 0.5,
    vscroll: document.documentElement.scrollHeight > vh + 0.5,
    stage: inView(".stage"), feed: inView("#feed"),
    panel: panel.childElementCount === 0 || inView("#panel"),
    smallest, smallestWhat,
  };
}"""
