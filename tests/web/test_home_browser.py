"""Broken on purpose, easy to find (issue 12): the home page lists every protocol's teaching mutations, each with
the designed example that catches it (the protocol's `mutation_examples`); one click plays that example, and the
invariant checker reports the violation. In Settings, ticking a mutation offers the same example."""

import pytest

from simulator.protocols import all_protocols

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser


def test_home_lists_every_mutation_with_its_example(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    page.goto(daphne_server + "/")
    section = page.locator("#broken")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "home-broken-1280x720.png"))
    for proto in all_protocols():
        for name in proto.mutations:
            link = section.locator(f'[data-protocol="{proto.name}"] [data-mutation="{name}"] a')
            assert link.count() == 1, f"{proto.name}/{name} has no example link"
            assert link.get_attribute("data-example") == proto.mutation_examples[name]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider than the screen
    page.wait_for_timeout(200)
    assert page.evaluate("[...document.querySelectorAll('#broken *')].every((e) => e.getBoundingClientRect().right <= 390)")
    section.screenshot(path=str(ARTIFACTS / "home-broken-390x844.png"))
    errors.check()


def test_one_click_plays_the_example_and_the_checker_catches_it(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    page.goto(daphne_server + "/")
    page.locator('#broken [data-mutation="no_truncate"] a').click()
    page.wait_for_url("**/s/*")
    page.wait_for_function("window.playground && window.playground.snapshot !== null", timeout=15_000)
    assert page.evaluate("window.playground.state.scenario.mutations") == ["no_truncate"]
    page.evaluate("() => { const s = document.querySelector('#speed'); s.value = 3; "
                  "s.dispatchEvent(new Event('input')); }")  # real time: the example lasts 2 s
    # the designed example breaks Log Matching within its 2 s: an invariant badge turns red
    page.wait_for_function("document.querySelectorAll('.invariant.bad').length > 0", timeout=30_000)
    assert "log_matching" in page.evaluate("Object.keys(window.playground.state.violations)")
    errors.check()


def test_settings_offers_the_example_of_a_ticked_mutation(daphne_server, make_page):
    page, errors = make_page(1280, 720)
    open_playground(page, daphne_server, "twophase")
    page.locator("#settings-btn").click()
    dialog = page.locator("#settings")
    offer = dialog.locator('[data-field="mutation.no_force_write"] .mutation-example')
    assert offer.is_hidden()  # nothing offered before the mutation is chosen
    dialog.locator('[name="mutation.no_force_write"]').check()
    assert offer.is_visible()
    offer.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "settings-mutation-offer-1280x720.png"))
    offer.click()
    page.wait_for_url("**/s/*")
    page.wait_for_function("window.playground && window.playground.state.scenario", timeout=15_000)
    assert page.evaluate("window.playground.state.scenario.mutations") == ["no_force_write"]
    assert page.evaluate("window.playground.state.scenario.title") == \
        "The coordinator writes its decision before sending it"
    errors.check()
