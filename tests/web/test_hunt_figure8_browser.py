"""Figure 8 from the hunt button (headless Chromium, live Daphne): Raft with commit_old_terms and its plain settings
(leader_noop on, one entry per append), no hand-made intervention; the page's default budget finds it, shrunk to
three cuts, and the opened counterexample shows the violation and the red badge.

Screenshots go to test-artifacts/hunt-figure8-*.png.
"""

import pytest

from simulator.hunt.cases import MUTATION_STARTS

from .conftest import ARTIFACTS
from .test_hunt_browser import open_with_first_scenario

pytestmark = pytest.mark.browser

FIGURE_8 = dict(MUTATION_STARTS["raft/commit_old_terms"], seed=1)


def test_the_button_finds_figure_8_and_opens_it(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    open_with_first_scenario(page, f"{daphne_server}/play/raft/?seed=1&speed=1000", FIGURE_8)
    page.locator("#hunt").click()
    found = page.wait_for_selector("#hunt-found", timeout=120_000)
    assert "leader_completeness" in found.inner_text()
    page.screenshot(path=ARTIFACTS / "hunt-figure8-found-1280x720.png")
    page.locator("#hunt-open").click()
    page.wait_for_function("""() => { const s = window.playground.state;
        return s.scenario && s.scenario.title && s.scenario.title.startsWith('Counterexample') && !s.playing
            && window.playground.snapshot.t === s.scenario.duration; }""", timeout=30_000)
    scenario = page.evaluate("window.playground.state.scenario")
    assert scenario["nodes"] == 3 and [iv["action"] for iv in scenario["interventions"]] == ["partition"] * 3
    page.wait_for_selector('.invariant.bad[data-invariant="leader_completeness"]')
    page.wait_for_selector(".tl-mark.violation")
    for width, height in ((1280, 720), (1024, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the layout settles
        page.screenshot(path=ARTIFACTS / f"hunt-figure8-opened-{width}x{height}.png")
    errors.check()
