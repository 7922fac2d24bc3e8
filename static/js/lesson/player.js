// The lesson player (issue 13; docs/lessons.md): the lesson's steps beside the live run. The run starts paused
// from the lesson's scenario; each step plays to its moment exactly (`play_until`) and pauses; Next / Back (the
// arrow keys) move between steps, Back by time travel (`seek` to the step's moment). A prediction is answered
// on screen, then revealed; a `do` step waits for the learner's own action (dragging, clicking: the page's usual
// controls), which the server recognises (`lesson_do` -> `lesson_did`), or "Do it for me". After the last step
// the page is the ordinary playground on the learner's run (share it with the Share button).
// Also the embeds (templates/embed.html): a lesson locked to its steps, a saved run locked to its time range.
// In a class (docs/classroom.md): the teacher's Next / Back reach every student (`lesson_step`); a step's
// prediction is asked to the class (`ask` {step}), tallied, and revealed (`reveal` carries the answer and why, then
// the class run plays to the next step). Students follow: their copy of the lesson has no answers.
// Text arrives as spans (parsed on the server) and becomes text nodes: nothing is ever parsed as HTML here.

import { h, fmtTime } from "../util.js";

/** Paragraphs of [kind, text] spans as elements (text nodes inside em/strong/code). */
export function spansToNodes(paragraphs, tag = "p") {
  return paragraphs.map((para) => h(tag, {}, para.map(([kind, text]) =>
    kind === "text" ? text : h(kind === "code" ? "code" : kind === "strong" ? "strong" : "em", {}, text))));
}

export function setupLesson(page) {
  const { config, state } = page;
  if (config.embed === "saved") return lockSaved(page);
  const lesson = config.lesson;
  const steps = lesson.steps;
  const root = document.querySelector("#lesson");
  const embed = config.embed === "lesson";
  const following = !!lesson.following; // a student: the teacher drives, this page follows
  const lesson_ = {
    k: -1, // the step shown
    reached: false, // the run is paused at the step's moment
    answers: {}, // step -> the choice the learner picked
    done: {}, // step -> its `do` happened
    result: null, // {ok, message} of the last lesson_did at this step
    finished: false, // after the last step: the playground is the learner's
    teaching: false, // this page teaches the lesson to a class
    polls: {}, // in a class: step -> {poll, counts, open, picked?, answer?, why_spans?}
  };
  window.playground.lesson = lesson_; // for tests and the curious

  // --- the run: start from the lesson's scenario, paused --------------------------------------------------
  state.preset = { scenario: lesson.scenario, title: lesson.title };

  function step() {
    return steps[lesson_.k];
  }

  function playTo(k) {
    lesson_.k = k;
    lesson_.reached = false;
    lesson_.result = null;
    render();
    tellClass();
    page.send({ type: "play_until", t: steps[k].moment, id: "lesson-play" });
  }

  function tellClass() {
    if (lesson_.teaching) page.send({ type: "lesson_step", step: lesson_.finished ? steps.length : lesson_.k });
  }

  function seekTo(k) {
    lesson_.k = k;
    lesson_.reached = false;
    lesson_.result = null;
    for (let j = k; j < steps.length; j++) delete lesson_.done[j];
    render();
    tellClass();
    page.send({ type: "seek", t: steps[k].moment, id: "lesson-seek" });
  }

  function canGoOn() {
    const s = step();
    if (!s || !lesson_.reached) return false;
    if (s.ask && lesson_.answers[lesson_.k] === undefined && !lesson_.teaching) return false;
    if (s.do && !lesson_.done[lesson_.k]) return false;
    return true;
  }

  function next() {
    if (lesson_.finished || !canGoOn()) return;
    if (lesson_.k + 1 < steps.length) playTo(lesson_.k + 1);
    else finish();
  }

  function back() {
    if (lesson_.finished) {
      if (embed) return;
      lesson_.finished = false;
      document.body.classList.add("lesson-active");
      seekTo(steps.length - 1);
      return;
    }
    if (lesson_.k > 0) seekTo(lesson_.k - 1);
  }

  function finish() {
    lesson_.finished = true;
    if (!embed && !following) document.body.classList.remove("lesson-active"); // the controls are the learner's again
    render();
    tellClass();
  }

  // --- the learner's actions --------------------------------------------------------------------------------
  const intervene = page.intervene.bind(page);
  page.intervene = (iv) => {
    if (lesson_.finished || following) {
      if (embed) page.toast("This lesson is embedded: open it in Protocol Playground to play on", "info");
      else intervene(iv);
      return;
    }
    const s = step();
    if (!s || !s.do) {
      page.toast("This step asks you to watch: press → (Next) to go on. The run is yours after the last step.", "info");
      return;
    }
    if (!lesson_.reached) {
      page.toast("Wait until the run reaches this step's moment", "info");
      return;
    }
    if (lesson_.done[lesson_.k]) {
      page.toast("Done already: press → (Next) to go on", "info");
      return;
    }
    page.send({ type: "lesson_do", lesson: lesson.slug, step: lesson_.k, intervention: iv, id: "lesson-do" });
  };

  function doItForMe() {
    if (!lesson_.reached || lesson_.done[lesson_.k]) return;
    page.send({ type: "lesson_do", lesson: lesson.slug, step: lesson_.k, for_me: true, id: "lesson-do" });
  }

  // --- messages ------------------------------------------------------------------------------------------------
  function observe(msg) {
    switch (msg.type) {
      case "started":
        // (a teacher's reload takes the class back: the server says which step it was at)
        if (lesson_.k === -1 && !msg.viewer && !following && !page.classReclaiming) setTimeout(() => playTo(0), 0);
        break;
      case "class":
        lesson_.teaching = true;
        if (lesson_.k >= 0) tellClass();
        render();
        break;
      case "lesson_step":
        showStep(msg.step);
        break;
      case "ask":
      case "tally":
        if (msg.step !== undefined) {
          const p = lesson_.polls[msg.step];
          lesson_.polls[msg.step] = { ...(p && p.poll === msg.poll ? p : {}), poll: msg.poll, open: true,
            counts: msg.counts || null };
          render();
        }
        break;
      case "answered": {
        const entry = Object.entries(lesson_.polls).find(([, p]) => p.poll === msg.poll);
        if (entry) {
          entry[1].picked = msg.choice;
          render();
        }
        break;
      }
      case "reveal":
        if (msg.step !== undefined) {
          const p = lesson_.polls[msg.step] || {};
          lesson_.polls[msg.step] = { ...p, poll: msg.poll, open: false, counts: msg.counts, answer: msg.answer,
            why_spans: msg.why_spans };
          lesson_.revealedAt = msg.step;
          render();
        }
        break;
      case "status":
        if (!msg.playing && step() && msg.t === step().moment && !lesson_.reached) {
          lesson_.reached = true;
          render();
        }
        break;
      case "seeked":
        if (step() && msg.t === step().moment) {
          lesson_.reached = true;
          lesson_.result = null;
          render();
        }
        break;
      case "lesson_did":
        if (msg.step === lesson_.k) {
          lesson_.result = { ok: msg.ok, message: msg.message };
          if (msg.ok) lesson_.done[lesson_.k] = true;
          render();
        }
        break;
      case "error":
        if (msg.id === "lesson-do" && step()) {
          lesson_.result = { ok: false, message: msg.message, error: true };
          render();
          return true; // shown in the step, not as a toast
        }
        break;
      default:
    }
    return false;
  }

  /** In a class: the step the teacher moved to (a student follows; a reloaded teacher takes it back). */
  function showStep(k) {
    const snap = state.snap;
    if (k >= steps.length) {
      lesson_.k = steps.length - 1;
      if (following) {
        lesson_.finished = true;
        render();
      } else {
        finish();
      }
      return;
    }
    lesson_.finished = false;
    if (k !== lesson_.k) lesson_.result = null;
    lesson_.k = k;
    const moment = steps[k].moment;
    lesson_.reached = !!snap && snap.t === moment && !state.playing;
    if (!following && !lesson_.reached && !state.playing && snap && snap.t < moment) {
      page.send({ type: "play_until", t: moment, id: "lesson-play" }); // the reclaimed run was paused short of it
    }
    render();
  }

  // --- keys: → Next, ← Back (before the page's own keys, which would step and step back the run) -------------
  window.addEventListener("keydown", (e) => {
    if (following) return; // the teacher drives
    const tag = (e.target && e.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || e.metaKey || e.ctrlKey || e.altKey) return;
    if (document.querySelector("dialog[open]")) return;
    if (lesson_.finished && !embed) {
      if (!(e.key === "ArrowLeft" && e.shiftKey)) return; // the page's own keys again
      back(); // Shift+←: back into the lesson
    } else if (e.key === "ArrowRight") {
      next();
    } else if (e.key === "ArrowLeft") {
      back();
    } else if (!(e.key === " " || e.key === "r" || e.key === "R")) {
      return; // P (partition mode) stays
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }, true);

  // --- highlights on the topology -----------------------------------------------------------------------------
  function resolve(sel) {
    const snap = state.snap;
    if (!snap) return null;
    if (snap.nodes[sel]) return sel;
    const leader = page.view.module.leader ? page.view.module.leader(snap) : null;
    if (sel === "leader") return leader;
    return snap.order.find((id) => snap.nodes[id].role === sel && snap.nodes[id].status === "up") || null;
  }

  function highlights() {
    const s = step();
    const nodes = new Set();
    const links = new Set();
    const kinds = [];
    if (s && s.highlight && lesson_.reached && !lesson_.finished) {
      for (const item of s.highlight) {
        if (typeof item === "string") {
          const id = resolve(item);
          if (id) nodes.add(id);
        } else if (item.message) {
          kinds.push(item.message);
        } else if (item.link) {
          links.add(`${item.link[0]}|${item.link[1]}`);
          links.add(`${item.link[1]}|${item.link[0]}`);
        }
      }
    }
    for (const el of document.querySelectorAll("#topology .node[data-node]")) {
      el.classList.toggle("lesson-highlight", nodes.has(el.dataset.node));
    }
    for (const el of document.querySelectorAll("#topology .link[data-link]")) {
      el.classList.toggle("lesson-highlight", links.has(el.dataset.link));
    }
    const key = kinds.join("|");
    if (key !== shownKinds) { // the messages of those kinds in flight, and those sent later in the step
      shownKinds = key;
      page.topo.highlightMessages(kinds);
    }
  }
  let shownKinds = "";
  setInterval(highlights, 200); // the stage redraws nodes on a reset: re-applied a few times a second, cheaply

  // --- drawing the step ---------------------------------------------------------------------------------------
  let shownK = null;
  function render() {
    const s = step();
    const scroll = shownK === lesson_.k ? root.scrollTop : 0; // a new step starts at its top
    shownK = lesson_.k;
    root.replaceChildren();
    root.append(h("header", { class: "lesson-head" },
      h("h2", { class: "lesson-title" }, spansToNodes(lesson.title_spans, "span")),
      h("span", { class: "lesson-progress-text" },
        lesson_.finished ? "Done" : `Step ${Math.max(1, lesson_.k + 1)} of ${steps.length}`)));
    const bar = h("div", { class: "lesson-progress", role: "progressbar", "aria-valuemin": 0,
      "aria-valuemax": steps.length, "aria-valuenow": lesson_.finished ? steps.length : lesson_.k + 1 });
    bar.append(h("span", { style: { width: `${100 * (lesson_.finished ? 1 : (lesson_.k + 1) / steps.length)}%` } }));
    root.append(bar);
    if (lesson_.finished) {
      root.append(h("div", { class: "lesson-body lesson-end" }, following
        ? h("p", {}, "End of the lesson. Thank you for following the class.")
        : embed
        ? h("p", {}, "End of the lesson. Open it in Protocol Playground to break the run yourself.")
        : [h("p", {}, "End of the lesson. The run is yours now: play on, break it, travel back in time, and ",
            h("strong", {}, "Share"), " it (the button at the top) to send someone exactly this run."),
          h("p", { class: "lesson-more" }, h("a", { href: "/learn/" }, "More lessons"), " · ",
            h("button", { class: "btn ghost", type: "button", onclick: back }, "← Back into the lesson"))]));
      return;
    }
    if (!s) return;
    const last = lesson_.polls[lesson_.revealedAt];
    if (lesson_.revealedAt !== undefined && lesson_.revealedAt < lesson_.k && last) {
      root.append(renderLastReveal(steps[lesson_.revealedAt].ask, last)); // the last reveal stays in view
    }
    const body = h("div", { class: "lesson-body", "data-step": lesson_.k }, spansToNodes(s.spans));
    if (s.highlight) {
      const things = s.highlight.map((item) => typeof item === "string" ? item
        : item.link ? `${item.link[0]}–${item.link[1]}` : `${item.message} messages`);
      body.append(h("p", { class: "lesson-look" }, "Look at: ", things.map((t) => h("code", {}, t)).flatMap((c, i) => i ? [", ", c] : [c])));
    }
    root.append(body);
    if (!lesson_.reached) root.append(h("p", { class: "lesson-wait" }, `Playing to ${fmtTime(s.moment)}…`));
    if (s.ask) root.append(lesson_.teaching || following ? renderClassAsk(s, lesson_.k) : renderAsk(s));
    if (s.do && !following) root.append(renderDo(s));
    if (s.do && following) {
      root.append(h("p", { class: "lesson-hint" }, h("strong", {}, "The teacher's turn: "),
        spansToNodes(s.do.hint_spans, "span")));
    }
    queueMicrotask(() => { root.scrollTop = scroll; });
    if (following) return;
    root.append(h("nav", { class: "lesson-nav" },
      h("button", { class: "btn", type: "button", id: "lesson-back", disabled: lesson_.k <= 0, onclick: back,
        title: "Back (←): travel back to the previous step" }, "← Back"),
      h("button", { class: "btn primary", type: "button", id: "lesson-next", disabled: !canGoOn(), onclick: next,
        title: "Next (→)" }, lesson_.k + 1 < steps.length ? "Next →" : "Finish ✓")));
  }

  function renderAsk(s) {
    const ask = s.ask;
    const picked = lesson_.answers[lesson_.k];
    const answered = picked !== undefined;
    const box = h("div", { class: "lesson-ask" + (answered ? " answered" : "") },
      h("p", { class: "lesson-question" }, "Predict: ", spansToNodes(ask.spans.question, "span")));
    const list = h("div", { class: "lesson-choices", role: "group" });
    ask.spans.choices.forEach((choice, i) => {
      let cls = "lesson-choice";
      if (answered && i === ask.answer) cls += " right";
      else if (answered && i === picked) cls += " wrong";
      list.append(h("button", { class: cls, type: "button", "data-choice": i, disabled: answered,
        onclick: () => { lesson_.answers[lesson_.k] = i; render(); } },
      spansToNodes(choice, "span")));
    });
    box.append(list);
    if (answered) {
      box.append(h("p", { class: "lesson-verdict " + (picked === ask.answer ? "right" : "wrong") },
        picked === ask.answer ? "✓ Right." : "✗ Not quite."));
      box.append(h("div", { class: "lesson-why" }, spansToNodes(ask.spans.why)));
    }
    return box;
  }

  /** The last revealed prediction, short, above the step it led to: the answer, how many picked it, why. */
  function renderLastReveal(ask, p) {
    const total = p.counts.reduce((a, b) => a + b, 0);
    const box = h("div", { class: "lesson-ask class-ask lesson-last-reveal answered", "data-step": lesson_.revealedAt },
      h("p", { class: "lesson-question" }, "Answer: ", h("span", { class: "lesson-choice right" },
        spansToNodes(ask.spans.choices[p.answer], "span")), ` (${p.counts[p.answer]} of ${total})`));
    if (following && p.picked !== undefined) {
      box.append(h("p", { class: "lesson-verdict " + (p.picked === p.answer ? "right" : "wrong") },
        p.picked === p.answer ? "✓ Right." : "✗ Not quite."));
    }
    box.append(h("div", { class: "lesson-why" }, spansToNodes(p.why_spans)));
    return box;
  }

  /** A step's prediction in a class: the teacher asks it and reveals it; a student answers once, then sees the
   * answer and why only when the teacher reveals them (the student's lesson has neither before). */
  function renderClassAsk(s, k) {
    const ask = s.ask;
    const p = lesson_.polls[k];
    const revealed = !!p && !p.open && p.answer !== undefined;
    const answer = revealed ? p.answer : following ? undefined : ask.answer;
    const box = h("div", { class: "lesson-ask class-ask" + (revealed ? " answered" : ""), "data-step": k },
      h("p", { class: "lesson-question" }, "Predict: ",
        spansToNodes(ask.spans.question, "span")));
    const total = p && p.counts ? p.counts.reduce((a, b) => a + b, 0) : 0;
    const list = h("div", { class: "lesson-choices", role: "group" });
    ask.spans.choices.forEach((choice, i) => {
      let cls = "lesson-choice";
      if (revealed && i === answer) cls += " right";
      else if (revealed && p.picked === i) cls += " wrong";
      else if (p && p.picked === i) cls += " chosen";
      const canAnswer = following && p && p.open && p.picked === undefined;
      const count = p && p.counts && (lesson_.teaching || revealed)
        ? h("b", { class: "lesson-count" }, ` ${p.counts[i]}`) : null;
      list.append(h("button", { class: cls, type: "button", "data-choice": i, disabled: !canAnswer,
        onclick: () => page.send({ type: "answer", choice: i }) }, spansToNodes(choice, "span"), count));
    });
    box.append(list);
    if (revealed) {
      if (following && p.picked !== undefined) {
        box.append(h("p", { class: "lesson-verdict " + (p.picked === answer ? "right" : "wrong") },
          p.picked === answer ? "✓ Right." : "✗ Not quite."));
      }
      box.append(h("div", { class: "lesson-why" }, spansToNodes(p.why_spans)));
    } else if (following) {
      box.append(h("p", { class: "lesson-wait" }, !p ? "Wait for the teacher to ask the class."
        : p.picked === undefined ? "Your answer (anonymous, once):" : "Answered: wait for the reveal."));
    } else if (!p) {
      box.append(h("button", { class: "btn primary", type: "button", id: "lesson-ask-class", disabled: !lesson_.reached,
        onclick: () => page.send({ type: "ask", step: k }) }, "Ask the class"));
    } else {
      box.append(h("p", { class: "lesson-wait" }, `${total} answered`),
        h("button", { class: "btn primary", type: "button", id: "lesson-reveal",
          onclick: () => page.send({ type: "reveal" }) }, "Reveal"));
    }
    return box;
  }

  function renderDo(s) {
    const done = !!lesson_.done[lesson_.k];
    const box = h("div", { class: "lesson-do" + (done ? " done" : "") },
      h("p", { class: "lesson-hint" }, h("strong", {}, "Your turn: "), spansToNodes(s.do.hint_spans, "span")));
    const r = lesson_.result;
    if (r) {
      box.append(h("p", { class: "lesson-did " + (r.ok ? "ok" : "not-quite") }, r.ok ? "✓ " : "", r.message));
      if (!r.ok && !r.error) {
        box.append(h("button", { class: "btn", type: "button", id: "lesson-rewind",
          onclick: () => seekTo(lesson_.k) }, "⟲ Rewind and try again"));
      }
    }
    if (!done) {
      box.append(h("button", { class: "btn", type: "button", id: "lesson-for-me", disabled: !lesson_.reached,
        onclick: doItForMe }, "Do it for me"));
    }
    return box;
  }

  page.addExtra({ observe, handles: ["lesson_did", "lesson_step"],
    startOptions: () => (lesson_.finished ? {} : { paused: true }) });
  page.on("refresh", highlights);
  render();
  return lesson_;
}

/** A saved run in an iframe: it plays its recorded range and cannot be changed (open it on the site for that).
 * Play never goes past the recorded end (`play_until` it); at the end it replays from the start. */
function lockSaved(page) {
  const end = page.config.saved.duration;
  const send = page.send.bind(page);
  let replay = false;
  page.intervene = () => page.toast("This run is embedded: open it in Protocol Playground to change it", "info");
  page.send = (msg) => {
    const t = page.state.snap ? page.state.snap.t : 0;
    if (msg.type === "resume") {
      if (t >= end) {
        replay = true;
        send({ type: "seek", t: 0, id: "embed-replay" });
      } else {
        send({ type: "play_until", t: end });
      }
    } else if (msg.type === "step" && t >= end) {
      page.toast("The end of the embedded run", "info");
    } else {
      send(msg);
    }
  };
  page.addExtra({
    observe(msg) {
      if (msg.type === "seeked" && replay && msg.id === "embed-replay") {
        replay = false;
        send({ type: "play_until", t: end });
      }
      return false;
    },
    handles: [],
    startOptions: () => ({}),
  });
  return null;
}
