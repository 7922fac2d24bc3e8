"""The page under its Content-Security-Policy (issue 9): every protocol's page runs with the header on (no inline
script, no inline style), with no console errors and no CSP violation; the S shortcut opens the share dialog
without typing an "s" into its title."""

import urllib.request

import pytest

from .conftest import open_playground

pytestmark = pytest.mark.browser

PROTOCOLS = ["raft", "paxos", "twophase", "gossip", "kafka"]
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_pages_are_served_with_the_policy(daphne_server):
    for path in ["/", "/play/raft/"]:
        with urllib.request.urlopen(daphne_server + path) as r:
            policy = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_page_runs_under_the_policy(daphne_server, make_page, protocol):
    page, errors = make_page()
    page.add_init_script(RECORD_VIOLATIONS)
    open_playground(page, daphne_server, protocol)
    page.wait_for_function("window.playground.snapshot.t > 200", timeout=15_000)  # frames arrive and render
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__csp") == []
    errors.check()


def test_the_home_page_runs_under_the_policy(daphne_server, make_page):
    page, errors = make_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(daphne_server + "/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.__csp") == []
    errors.check()


def test_the_s_shortcut_opens_the_share_dialog_without_typing_an_s(daphne_server, make_page):
    page, errors = make_page()
    open_playground(page, daphne_server, "raft")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus the page, not a field
    page.keyboard.press("s")
    page.wait_for_function("document.querySelector('dialog[open]') !== null")
    assert page.evaluate("() => document.activeElement.id") == "share-name"
    assert page.evaluate("() => document.activeElement.value") != "s"  # the suggested title, selected
    page.keyboard.type("My run")
    assert page.evaluate("() => document.activeElement.value") == "My run"  # no stray "s" before it
    errors.check()
