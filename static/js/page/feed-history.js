// The feed follows time: after a seek, a step back or a fork, it tells exactly the story of the current branch
// up to the current moment, never an abandoned future. The space-time diagram keeps the branch's events
// (static/js/page/spacetime.js); at the reset that lands a seek, the view module narrates them again from the
// run's first snapshot (its narration memory rebuilt on the way), then starts over from the moment shown, as the
// lifecycle says (docs/frontend.md). A jump past what this page ever received (a link opened at ?t=, a seek
// forward) has no events to tell: the feed says which stretch it jumped over.

import { fmtTime } from "../util.js";

const MAX_RETOLD = 200_000; // beyond this many events, only the newest are retold (from a snapshot they lack)

export function setupFeedHistory(page, spacetime) {
  let base = null; // the snapshot the branch's log starts from (the run's `started` snapshot)
  page.addExtra({
    handles: [],
    startOptions: () => ({}),
    observe(msg) {
      if (msg.type === "started") base = { snapshot: JSON.parse(JSON.stringify(msg.snapshot)), skip: (msg.events || []).length };
      // once the whole message is handled (the seek landed, the diagram cut its log back)
      else if (msg.type === "seeked") queueMicrotask(() => retell(msg));
    },
  });

  function retell(msg) {
    if (!base || !page.feed || !page.state.snap) return;
    const snapshot = page.state.snap;
    const log = spacetime.log;
    let events = log.slice(base.skip);
    if (events.length > MAX_RETOLD) events = events.slice(events.length - MAX_RETOLD);
    const module = page.view.module;
    try {
      module.reset(JSON.parse(JSON.stringify(base.snapshot)));
      page.feed.retell(base.snapshot, events, page.feed.header);
    } catch (err) {
      console.warn("the feed could not be retold", err);
    } finally {
      module.reset(snapshot); // the panel starts over from the moment shown (docs/frontend.md)
    }
    const jump = spacetime.jump; // (a seek past what this page received)
    if (jump) {
      page.feed.separator(`⇢ Jumped from ${fmtTime(jump.from)} to ${fmtTime(jump.to)}: what happened in between is not told here (travel back to the start and play to see it)`);
    }
    page.feed.separator(msg.reason === "step_back" ? `◀ One event back · ${fmtTime(msg.t)}` : `↶ Travelled to ${fmtTime(msg.t)}`);
    page.feed.el.firstElementChild.dataset.travel = "1";
  }
}
