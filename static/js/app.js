// The playground page: wires the page's concerns together (static/js/page/*.js). It connects to /ws/play/,
// keeps the snapshot up to date from frames, draws it, and turns clicks, drags and keys into messages.
// Protocol specifics come from the view module static/js/protocols/<name>.js (docs/frontend.md).

import { createPage } from "./page/state.js";
import { setupToasts } from "./page/toasts.js";
import { setupView } from "./page/views.js";
import { setupNarration } from "./page/narration.js";
import { setupInvariants } from "./page/invariants.js";
import { setupRenderLoop } from "./page/render-loop.js";
import { setupNodeMenu } from "./page/node-menu.js";
import { setupIslands } from "./page/islands.js";
import { setupControls } from "./page/controls.js";
import { setupSettings } from "./page/settings.js";
import { Topology } from "./topology.js";
import { setupTimeline } from "./timeline.js";
import { setupShare } from "./share.js";
import { setupHunt } from "./page/hunt.js";
import { setupPresenter } from "./page/presenter.js";
import { setupSpacetime } from "./page/spacetime.js";
import { setupInspector } from "./page/inspector.js";
import { setupFeedHistory } from "./page/feed-history.js";
import { setupStoryStep } from "./page/story-step.js";
import { setupClassroom } from "./page/classroom.js";

const $ = (sel) => document.querySelector(sel);
const page = createPage(JSON.parse($("#playground-config").textContent));

setupToasts(page, $("#toast"));
page.view = await setupView(page, $("#panel"));
page.topo = new Topology($("#topology"), {
  module: page.view.module,
  intervene: (iv) => page.intervene(iv),
  openMenu: (id, x, y) => page.openMenu(id, x, y),
  onIslands: (groups) => page.applyIslands(groups),
});
page.feed = setupNarration(page, $("#feed"));
setupInvariants(page, $("#invariants"));
setupNodeMenu(page, $("#node-menu"));
setupIslands(page, $(".stage-hint"));
setupControls(page);
setupSettings(page);
setupRenderLoop(page, { clock: $("#clock"), toolbar: $("#proto-toolbar") });
const timeline = setupTimeline(page);
page.timeline = timeline; // views seek through it (ctx.seek, static/js/page/views.js)
let inspector = null; // the space-time diagram and the message inspector (static/js/page/spacetime.js, inspector.js)
const spacetime = setupSpacetime(page, { inspect: (id) => inspector.open(id), uninspect: () => inspector.close() });
inspector = setupInspector(page, (id) => spacetime.model.messages.get(id) || null);
setupFeedHistory(page, spacetime); // the feed follows time (after the diagram: it reads the diagram's branch log)
setupStoryStep(page);
page.addExtra(timeline);
page.addExtra(setupShare(page, timeline));
page.addExtra(setupHunt(page));
setupPresenter(page);
setupClassroom(page);

// for tests and the curious
window.playground = {
  timeline,
  spacetime,
  inspector,
  get snapshot() {
    return page.state.snap;
  },
  get state() {
    return page.state;
  },
  get layout() {
    return page.state.snap ? page.topo.layout() : null;
  },
  /** The view module's idea of the leader (Raft's leader(snapshot)), or null. */
  leader() {
    const view = page.view.module;
    return page.state.snap && view.leader ? view.leader(page.state.snap) : null;
  },
};

// a lesson or an embed (static/js/lesson/player.js) takes over the scenario and the actions before the run starts
if (page.config.lesson || page.config.embed) (await import("./lesson/player.js")).setupLesson(page);
page.connect();
