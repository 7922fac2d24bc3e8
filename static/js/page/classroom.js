// The class (issue 12; docs/classroom.md; server: playground/classroom.py). The teacher presses "Teach": a short
// code and a QR code shown large, the number of students, questions with a live tally and a reveal; a reload
// reclaims the class (the token is kept in sessionStorage, for this tab only). A student follows live, answers
// questions once, presses "Try it yourself" for a run of their own from the teacher's moment, and goes back to
// the class with one click.

import { h } from "../util.js";

const $ = (sel) => document.querySelector(sel);
const STORE = "playground.class";

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

function store(value) {
  try {
    if (value) sessionStorage.setItem(STORE, JSON.stringify(value));
    else sessionStorage.removeItem(STORE);
  } catch { /* storage refused: a reload then starts a new run */ }
}

/** "K7M2PQ" -> "K7M 2PQ": easier to read off a wall. */
const spaced = (code) => `${code.slice(0, 3)} ${code.slice(3)}`;

export function setupClassroom(page) {
  const { state, describe } = page;
  const code = new URLSearchParams(location.search).get("class"); // a student arriving from /c/<code>
  let klass = null; // teacher: the `class` message
  let students = 0;
  let poll = null; // the open question: {poll, question, choices, counts?, answered?}
  let forked = false;
  let ended = false;

  const bar = h("div", { class: "class-bar", role: "region", "aria-label": "Class", hidden: "" });
  $(".controls").after(bar);
  const teach = h("button", { id: "teach-btn", class: "btn ghost", type: "button",
    title: "Teach: students follow this run with a short code", "aria-label": "Teach a class" }, "◎ Teach");
  $("#invite").after(teach);
  const dialog = h("dialog", { id: "class-dialog", class: "class-dialog", "aria-labelledby": "class-dialog-title" });
  document.body.append(dialog);

  function render() {
    bar.replaceChildren();
    bar.hidden = !(klass || code);
    document.body.classList.toggle("teaching", !!klass);
    if (klass) renderTeacher();
    else if (code) renderStudent();
  }

  function renderTeacher() {
    bar.append(
      h("span", { class: "class-code", title: "Students open /join and type it" }, "Class ", h("b", {}, spaced(klass.code))),
      h("span", { class: "class-count", "aria-live": "polite" }, `${students} student${students === 1 ? "" : "s"}`),
      h("button", { class: "btn", type: "button", onclick: showCode }, "Show code"),
    );
    if (!page.config.lesson && klass.lessons && klass.lessons.length) bar.append(lessonPicker());
    if (poll && poll.step !== undefined && page.config.lesson) { // a lesson's question: the lesson panel shows it
      if (!poll.revealed) {
        const answered = poll.counts.reduce((a, b) => a + b, 0);
        bar.append(h("span", { class: "class-answered" }, `${answered}/${students} answered`));
      } else {
        bar.append(h("button", { class: "btn", type: "button", id: "ask-btn", onclick: askDialog }, "Ask…"));
      }
    } else if (poll && !poll.revealed) {
      const answered = poll.counts.reduce((a, b) => a + b, 0);
      bar.append(h("span", { class: "class-question" }, poll.question),
        tallyBars(poll), h("span", { class: "class-answered" }, `${answered}/${students} answered`),
        h("button", { class: "btn primary", type: "button", id: "reveal-btn",
          onclick: () => page.send({ type: "reveal" }) }, "Reveal"));
    } else {
      if (poll) bar.append(h("span", { class: "class-question" }, poll.question), tallyBars(poll));
      bar.append(h("button", { class: "btn", type: "button", id: "ask-btn", onclick: askDialog }, "Ask…"));
    }
  }

  function renderStudent() {
    if (ended) {
      bar.append(h("span", { class: "class-ended", role: "status" }, "The class has ended."));
      return;
    }
    bar.append(h("span", { class: "class-code" }, "Class ", h("b", {}, spaced(code))));
    if (forked) {
      bar.append(h("span", {}, "Your own run, from the teacher's moment: crash, cut, try your idea."),
        h("button", { class: "btn primary", type: "button", id: "back-to-class",
          onclick: () => { location.href = `/c/${code}`; } }, "↩ Back to the class"));
      return;
    }
    bar.append(h("button", { class: "btn", type: "button", id: "fork-btn", onclick: tryIt,
      title: "A run of your own, starting exactly where the teacher's is now" }, "Try it yourself"));
    if (poll && poll.step !== undefined && page.config.lesson) { // a lesson's question: in the lesson panel
      if (!poll.revealed) bar.append(h("span", { class: "class-question" }, "A question for you in the lesson"));
    } else if (poll && !poll.revealed) {
      bar.append(h("span", { class: "class-question" }, poll.question));
      poll.choices.forEach((choice, i) => bar.append(h("button", {
        class: `btn choice${poll.answered === i ? " chosen" : ""}`, type: "button", "data-choice": i,
        disabled: poll.answered !== undefined ? "" : undefined,
        onclick: () => page.send({ type: "answer", choice: i }) }, choice)));
      if (poll.answered !== undefined) bar.append(h("span", {}, "Answered: wait for the reveal"));
    } else if (poll) {
      bar.append(h("span", { class: "class-question" }, poll.question), tallyBars(poll));
    }
  }

  function tallyBars(p) {
    const total = Math.max(1, p.counts.reduce((a, b) => a + b, 0));
    return h("span", { class: "tally" }, ...p.choices.map((choice, i) => h("span", { class: "tally-item" },
      `${choice} `, h("span", { class: "tally-bar", style: { width: `${Math.round((60 * p.counts[i]) / total)}px` } }),
      h("b", {}, ` ${p.counts[i]}`))));
  }

  /** Teach a lesson to this class: the page opens the lesson, reclaims the class with it (a fresh run of the
   * lesson's scenario, the same code), and the students are sent to the lesson's page (`class_lesson`). */
  function lessonPicker() {
    const select = h("select", { id: "class-lesson", "aria-label": "Teach a lesson to this class" },
      h("option", { value: "" }, "Teach a lesson…"),
      ...klass.lessons.map((l) => h("option", { value: l.slug }, l.title)));
    select.addEventListener("change", () => {
      if (!select.value) return;
      store({ ...stored(), lesson: select.value });
      location.href = `/learn/${encodeURIComponent(select.value)}/`;
    });
    return select;
  }

  function showCode() {
    dialog.replaceChildren(
      h("h2", { id: "class-dialog-title" }, "Join the class"),
      h("p", { class: "class-big-code" }, spaced(klass.code)),
      h("img", { class: "class-qr", src: klass.qr, alt: `QR code for ${klass.url}` }),
      h("p", {}, "Open ", h("b", {}, `${location.origin}/join`), " and type the code, or scan the QR code."),
      h("form", { method: "dialog", class: "dialog-buttons" }, h("button", { class: "btn primary" }, "Close")));
    dialog.showModal();
  }

  function askDialog() {
    const field = (name, label, required) => h("label", { class: "field" }, h("span", {}, label),
      h("input", { name, type: "text", maxlength: name === "question" ? "300" : "120", required: required ? "" : undefined }));
    const form = h("form", { method: "dialog", class: "ask-form" },
      h("h2", { id: "class-dialog-title" }, "Ask the class"),
      field("question", "Question", true), field("c0", "Choice 1", true), field("c1", "Choice 2", true),
      field("c2", "Choice 3 (optional)"), field("c3", "Choice 4 (optional)"),
      h("div", { class: "dialog-buttons" },
        h("button", { class: "btn", type: "button", onclick: () => dialog.close() }, "Cancel"),
        h("button", { class: "btn primary", type: "submit" }, "Ask (pauses the run)")));
    form.querySelector("[name=question]").value = "What happens next?";
    form.addEventListener("submit", () => {
      const data = new FormData(form);
      const choices = ["c0", "c1", "c2", "c3"].map((k) => String(data.get(k) || "").trim()).filter(Boolean);
      page.send({ type: "ask", question: String(data.get("question")).trim(), choices });
    });
    dialog.replaceChildren(form);
    dialog.showModal();
  }

  function tryIt() {
    forked = true;
    page.send({ type: "fork" });
  }

  // from a lesson's page, the class follows the lesson (students land on it; lesson/player.js drives it)
  const lesson = page.config.lesson && !page.config.embed && !page.config.lesson.following
    ? page.config.lesson.slug : null;
  teach.addEventListener("click", () => page.send(lesson ? { type: "teach", lesson } : { type: "teach" }));

  // a teacher's reload (or a reconnect) takes the class back instead of starting a new run
  const startRun = page.startRun;
  let reclaiming = null;
  page.startRun = () => {
    const saved = stored();
    if (saved && saved.protocol === describe.name && !state.viewer && !state.snap) {
      reclaiming = saved;
      page.classReclaiming = true; // (the lesson player waits for the class's step instead of starting over)
      const lesson = page.config.lesson && saved.lesson === page.config.lesson.slug ? saved.lesson : null;
      page.send({ type: "reclaim", room: saved.room, token: saved.token, ...(lesson ? { lesson } : {}) });
    } else {
      startRun();
    }
  };

  function observe(msg) {
    switch (msg.type) {
      case "class":
        klass = msg;
        students = msg.viewers;
        reclaiming = null;
        page.classReclaiming = false;
        store({ protocol: describe.name, room: msg.room, token: msg.token, code: msg.code });
        render();
        break;
      case "viewers":
        students = msg.count;
        render();
        break;
      case "tally":
        poll = { ...(poll && poll.poll === msg.poll ? poll : {}), ...msg, revealed: false };
        render();
        break;
      case "ask":
        poll = { ...msg };
        render();
        break;
      case "answered":
        if (poll && poll.poll === msg.poll) poll.answered = msg.choice;
        render();
        break;
      case "reveal":
        poll = { ...msg, revealed: true };
        render();
        break;
      case "class_lesson": // the teacher picked a lesson: follow it on its page
        if (code && !forked) location.href = msg.url;
        break;
      case "class_paused":
        page.toast(msg.message, "warn");
        break;
      case "closed":
        if (code && !forked) {
          ended = true;
          render();
        }
        break;
      case "started":
        if (forked && !msg.viewer && state.viewer) {
          state.viewer = false; // a run of one's own: the controls come back
          poll = null;
          render();
        }
        break;
      case "error":
        if (reclaiming) { // the class ended meanwhile: start a run of our own instead
          reclaiming = null;
          page.classReclaiming = false;
          store(null);
          page.toast("Your class has ended; a new run starts", "warn");
          startRun();
          return true;
        }
        break;
      default:
    }
    const inLesson = msg.step !== undefined && page.config.lesson; // (the lesson panel shows it)
    if (msg.type === "ask" && poll && !poll.answered && !inLesson) page.toast(`Question: ${msg.question}`, "info");
    return false;
  }

  page.addExtra({ observe, handles: ["class", "viewers", "tally", "ask", "answered", "reveal", "class_paused",
    "class_lesson"],
    startOptions: () => ({}) });
  render();
  return { get klass() { return klass; } };
}
