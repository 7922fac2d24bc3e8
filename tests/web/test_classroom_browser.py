"""A whole class in the browser (issue 12): the teacher teaches, two students join by code (one on a phone), the
teacher sees the count, asks a question, the students answer, the teacher sees the tally and reveals it; the
teacher reloads and the class goes on; a student tries their own idea (forks, crashes a node in their own run)
and returns to the class with one click."""

import re

import pytest

from .conftest import ARTIFACTS, open_playground

pytestmark = pytest.mark.browser


def follows(page):
    page.wait_for_function("window.playground && window.playground.snapshot !== null && window.playground.state.viewer")


def test_a_whole_class(daphne_server, make_page):
    teacher, t_errors = make_page(1280, 720)
    open_playground(teacher, daphne_server, "raft", speed=200)
    teacher.locator("#teach-btn").click()
    code = teacher.locator(".class-code b").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{6}", code)
    teacher.locator(".class-bar button", has_text="Show code").click()
    assert teacher.locator(".class-big-code").inner_text().replace(" ", "") == code
    teacher.wait_for_function("document.querySelector('.class-qr').naturalWidth > 100")  # the QR code loaded
    teacher.screenshot(path=str(ARTIFACTS / "class-code.png"))
    teacher.keyboard.press("Escape")

    desk, d_errors = make_page(1024, 768)
    desk.goto(f"{daphne_server}/join")
    desk.locator("#join-code").fill(code.lower()[:3] + " " + code.lower()[3:])  # typed as people type
    desk.locator(".join-form button").click()
    follows(desk)
    phone, p_errors = make_page(390, 844, is_mobile=True, has_touch=True)
    phone.goto(f"{daphne_server}/c/{code}")
    follows(phone)
    teacher.wait_for_function("document.querySelector('.class-count')?.textContent === '2 students'")

    # a prediction: asked, answered once each, tallied live, revealed
    teacher.locator("#ask-btn").click()
    teacher.locator(".ask-form [name=question]").fill("Who leads after n1 crashes?")
    teacher.locator(".ask-form [name=c0]").fill("someone else")
    teacher.locator(".ask-form [name=c1]").fill("nobody, ever")
    teacher.locator(".ask-form button[type=submit]").click()
    for student, choice in ((desk, 0), (phone, 1)):
        student.locator(f".class-bar .choice[data-choice='{choice}']").click()
        student.wait_for_function("document.querySelector('.class-bar .choice.chosen') !== null")
        assert student.locator(".class-bar .choice").first.is_disabled()  # once
    teacher.wait_for_function("document.querySelector('.class-answered')?.textContent === '2/2 answered'")
    assert teacher.evaluate("window.playground.state.playing") is False  # the run waited for the answers
    teacher.screenshot(path=str(ARTIFACTS / "class-tally.png"))
    teacher.locator("#reveal-btn").click()
    for student in (desk, phone):
        student.wait_for_function("document.querySelectorAll('.class-bar .tally-item').length === 2")
    phone.screenshot(path=str(ARTIFACTS / "class-phone-reveal.png"))
    teacher.wait_for_function("window.playground.state.playing")  # ... and plays on

    # the teacher reloads: the class goes on, same code, same students
    t_before = teacher.evaluate("window.playground.snapshot.t")
    teacher.reload()
    teacher.wait_for_function("document.querySelector('.class-code b') !== null")
    assert teacher.locator(".class-code b").inner_text().replace(" ", "") == code
    teacher.wait_for_function("document.querySelector('.class-count')?.textContent === '2 students'")
    assert teacher.evaluate("window.playground.snapshot.t") >= t_before
    teacher.locator("#play").click()
    t_now = teacher.evaluate("window.playground.snapshot.t")
    desk.wait_for_function(f"window.playground.snapshot.t > {t_now}")  # students follow the reclaimed run

    # a student tries their own idea, then goes back to the class
    desk.locator("#fork-btn").click()
    desk.wait_for_function("!window.playground.state.viewer")
    assert desk.locator("#play").is_visible()
    desk.locator(".node[data-node='n1']").click(button="right")
    desk.locator("#node-menu .menu-item", has_text="Crash").first.click()
    desk.wait_for_function("window.playground.snapshot.nodes.n1.status === 'crashed'")
    assert teacher.evaluate("window.playground.snapshot.nodes.n1.status") != "crashed"  # the class's run is untouched
    desk.screenshot(path=str(ARTIFACTS / "class-fork.png"))
    desk.locator("#back-to-class").click()
    follows(desk)
    teacher.wait_for_function("document.querySelector('.class-count')?.textContent === '2 students'")
    for errors in (t_errors, d_errors, p_errors):
        errors.check()
