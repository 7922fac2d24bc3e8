"""The lesson player in the real page (headless Chromium, live Daphne): one lesson per protocol played to the end
with the keyboard, predictions answered, `do` steps performed by dragging and clicking as a person would.

Screenshots go to test-artifacts/lesson-*.png.
"""

import pytest

from playground.lessons import lesson_get

from .conftest import ARTIFACTS, drag, next_frames

pytestmark = pytest.mark.browser


def center(page, selector):
    box = page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def node_menu(page, node, label):
    """Click a node, then the menu item `label` (the node menu of static/js/page/node-menu.js)."""
    page.locator(f'.node[data-node="{node}"] .node-body').click()
    page.locator("#node-menu .menu-item", has_text=label).first.click()


def toolbar(page, label):
    page.locator("#proto-toolbar").get_by_role("button", name=label).click()


def crash_leader_by_dragging(page):
    leader = page.evaluate("window.playground.leader()")
    drag(page, center(page, f'.node[data-node="{leader}"] .node-body'), center(page, ".crash-zone rect"))


def restart_by_clicking_in_the_zone(node):
    return lambda page: page.locator(f'.node[data-node="{node}"] .node-body').click()


# lesson -> {step: what a person does on the page}
LESSONS = {
    "raft-leader-election": {3: crash_leader_by_dragging, 5: restart_by_clicking_in_the_zone("n3")},
    "paxos-multi": {1: lambda page: node_menu(page, "p2", "Crash")},  # the leader, as its hint says
    "twophase-coordinator-crash": {
        0: lambda page: toolbar(page, "Crash coordinator after the votes"),
        3: lambda page: page.locator("#lesson-for-me").click(),  # no page control aborts a voter: the point
        4: lambda page: toolbar(page, "Restart coordinator"),
    },
    "gossip-swim-refutation": {0: lambda page: node_menu(page, "n7", "Pause"),
                               2: lambda page: node_menu(page, "n7", "Resume")},
    "kafka-eager-rebalance": {0: lambda page: toolbar(page, "+ Consumer"),
                              3: lambda page: node_menu(page, "c2", "Shut down cleanly")},
}


def lesson_state(page):
    return page.evaluate("""() => { const l = window.playground.lesson;
        return {k: l.k, reached: l.reached, finished: l.finished, t: window.playground.snapshot.t}; }""")


def wait_at_step(page, k, moment):
    page.wait_for_function(f"""() => {{ const l = window.playground.lesson;
        return l.k === {k} && l.reached && window.playground.snapshot.t === {moment}; }}""", timeout=30_000)
    next_frames(page)


def first_words(spans):
    return next(text for kind, text in spans[0] if text.strip())[:30]


def play_lesson(page, base, slug, width=1280, height=800, shots=()):
    lesson = lesson_get(slug)
    actions = LESSONS[slug]
    steps = lesson["steps"]
    page.goto(f"{base}/learn/{slug}/?speed=1000")
    page.wait_for_function("window.playground && window.playground.lesson && window.playground.snapshot !== null")
    assert "lesson-active" in page.locator("body").get_attribute("class")
    assert not page.locator("#play").is_visible()  # the run is the lesson's until its end
    for k, step in enumerate(steps):
        wait_at_step(page, k, step["moment"])
        panel = page.locator("#lesson")
        assert panel.locator(".lesson-progress-text").inner_text() == f"Step {k + 1} of {len(steps)}"
        assert first_words(step["spans"]) in panel.locator(".lesson-body").inner_text()
        next_button = page.locator("#lesson-next")
        for item in step.get("highlight", []):
            if isinstance(item, str) and item.startswith(("n", "p", "c")) and item[1:].isdigit():
                page.wait_for_selector(f'.node.lesson-highlight[data-node="{item}"]')
        if "ask" in step:
            assert next_button.is_disabled()  # predict first
            page.keyboard.press("ArrowRight")
            assert lesson_state(page)["k"] == k
            picked = (step["ask"]["answer"] + k) % len(step["ask"]["choices"])  # right sometimes, wrong others
            panel.locator(f'.lesson-choice[data-choice="{picked}"]').click()
            assert panel.locator(f'.lesson-choice.right[data-choice="{step["ask"]["answer"]}"]').count() == 1
            verdict = panel.locator(".lesson-verdict").inner_text()
            assert verdict.startswith("✓" if picked == step["ask"]["answer"] else "✗")
            assert first_words(step["ask"]["spans"]["why"]) in panel.locator(".lesson-why").inner_text()
        if "do" in step:
            assert next_button.is_disabled()  # the lesson waits for the action
            actions[k](page)
            page.wait_for_selector("#lesson .lesson-did.ok", timeout=15_000)
            if step["do"].get("refused"):
                assert "Refused, as the lesson predicted" in panel.locator(".lesson-did").inner_text()
        if k in shots:
            page.screenshot(path=ARTIFACTS / f"lesson-{slug}-step{k + 1}-{width}x{height}.png")
        assert next_button.is_enabled()
        page.keyboard.press("ArrowRight")
    page.wait_for_function("window.playground.lesson.finished")
    assert "End of the lesson" in page.locator("#lesson").inner_text()
    assert "lesson-active" not in page.locator("body").get_attribute("class")
    assert page.locator("#share").is_visible() and page.locator("#play").is_visible()
    return lesson


@pytest.mark.parametrize("slug", sorted(LESSONS))
def test_a_lesson_played_to_the_end_with_the_keyboard(daphne_server, make_page, slug):
    """Each step pauses exactly at its moment with its text, highlights and progress shown; predictions are
    answered and revealed; the `do` steps wait for the learner's action, done with the page's own controls
    (drag to the crash zone, the node menu, the toolbar; "Do it for me" where the page has no control); after the
    last step the run is the learner's (controls and Share back)."""
    page, errors = make_page()
    lesson = play_lesson(page, daphne_server, slug)
    # the learner keeps the run: it plays on from where the lesson ended
    t = page.evaluate("window.playground.snapshot.t")
    assert t == lesson["steps"][-1]["moment"]
    page.locator("#play").click()
    page.wait_for_function(f"window.playground.snapshot.t > {t}")
    errors.check()


def test_back_travels_to_the_previous_step_and_a_different_action_is_recognised(daphne_server, make_page):
    """← goes back a step by time travel (the run is at that step's moment again); crashing a follower where
    the step asks for the leader is applied but answered "not quite it", and Rewind takes it back."""
    page, errors = make_page()
    lesson = lesson_get("raft-leader-election")
    steps = lesson["steps"]
    page.goto(f"{daphne_server}/learn/raft-leader-election/?speed=1000")
    page.wait_for_function("window.playground && window.playground.lesson")
    for k in range(3):
        wait_at_step(page, k, steps[k]["moment"])
        if "ask" in steps[k]:
            page.locator('#lesson .lesson-choice[data-choice="0"]').click()
        page.keyboard.press("ArrowRight")
    wait_at_step(page, 3, steps[3]["moment"])
    page.locator('#lesson .lesson-choice[data-choice="0"]').click()
    follower = page.evaluate("""() => { const s = window.playground.snapshot;
        return s.order.find((id) => s.nodes[id].role === 'follower'); }""")
    drag(page, center(page, f'.node[data-node="{follower}"] .node-body'), center(page, ".crash-zone rect"))
    page.wait_for_selector("#lesson .lesson-did.not-quite")
    assert "not quite it" in page.locator("#lesson .lesson-did").inner_text()
    page.wait_for_function(f"window.playground.snapshot.nodes['{follower}'].status === 'crashed'")
    assert page.locator("#lesson-next").is_disabled()
    page.locator("#lesson-rewind").click()
    wait_at_step(page, 3, steps[3]["moment"])
    page.wait_for_function(f"window.playground.snapshot.nodes['{follower}'].status === 'up'")
    page.keyboard.press("ArrowLeft")
    wait_at_step(page, 2, steps[2]["moment"])
    assert page.locator("#lesson .lesson-progress-text").inner_text() == f"Step 3 of {len(steps)}"
    errors.check()


def test_lesson_screenshots_desktop_and_phone(daphne_server, make_page):
    for width, height, mobile in ((1024, 768, False), (390, 844, True)):
        page, errors = make_page(width, height, is_mobile=mobile, has_touch=mobile)
        page.goto(f"{daphne_server}/learn/raft-leader-election/?speed=1000")
        page.wait_for_function("window.playground && window.playground.lesson")
        wait_at_step(page, 0, 0)
        page.locator('#lesson .lesson-choice[data-choice="1"]').click()
        page.keyboard.press("ArrowRight")
        wait_at_step(page, 1, 151)
        page.wait_for_timeout(300)
        page.screenshot(path=ARTIFACTS / f"lesson-raft-leader-election-{width}x{height}.png")
        lesson_box = page.locator("#lesson").bounding_box()
        assert lesson_box["width"] <= width and lesson_box["x"] >= 0
        errors.check()


def test_the_lesson_list(daphne_server, make_page):
    page, errors = make_page()
    page.goto(f"{daphne_server}/learn/")
    assert page.locator(".lesson-card").count() == 13
    page.locator('.lesson-card[data-lesson="paxos-duel"] a').click()
    page.wait_for_url("**/learn/paxos-duel/")
    page.wait_for_function("window.playground && window.playground.lesson && window.playground.lesson.reached")
    assert page.evaluate("window.playground.lesson.k") == 0
    errors.check()
