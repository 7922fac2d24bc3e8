"""Make the README's screenshot: a Raft run with a crashed leader, a cut link and a few client writes.

    .venv/bin/python tests/web/screenshot.py docs/screenshot.png      (or: make screenshot)

Starts Daphne on a free port (like bench/ws.py), drives the page in the system Chromium, saves a 1280x720 PNG.
Not a test (pytest collects test_*.py only).
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "web"))

from ws import free_port, start_daphne  # noqa: E402  (bench/ws.py)

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def center(page, selector):
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def main(out):
    port = free_port()
    server = start_daphne(port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}/play/raft/?seed=11&speed=1000")
            page.wait_for_function("() => window.playground && window.playground.leader() !== null")  # a function: CSP
            for _ in range(3):
                page.locator("#proto-toolbar button").first.click()
                page.wait_for_timeout(150)
            page.wait_for_timeout(400)
            leader = page.evaluate("window.playground.leader()")
            start = center(page, f'.node[data-node="{leader}"] .node-body')
            end = center(page, ".crash-zone rect")
            page.mouse.move(*start)
            page.mouse.down()
            for i in range(1, 16):
                page.mouse.move(start[0] + (end[0] - start[0]) * i / 15, start[1] + (end[1] - start[1]) * i / 15)
            page.mouse.up()
            page.wait_for_function(f"""() => {{ const l = window.playground.leader();
                return l !== null && l !== '{leader}'; }}""")
            page.wait_for_timeout(300)
            page.locator("#proto-toolbar button").first.click()
            page.wait_for_timeout(200)
            page.locator("#proto-toolbar button").first.click()
            order = page.evaluate("window.playground.snapshot.order")
            new = page.evaluate("window.playground.leader()")
            a = next(n for n in order if n not in (leader, new))
            b = next(n for n in order if n not in (leader, new, a))
            (ax, ay), (bx, by) = center(page, f'.node[data-node="{a}"] .node-body'), center(page, f'.node[data-node="{b}"] .node-body')
            page.mouse.click(ax + (bx - ax) * 0.3, ay + (by - ay) * 0.3)
            page.wait_for_timeout(100)
            # slow down so messages are visible in flight, then take the picture
            page.evaluate("document.querySelector('#speed').value = 1.3;"
                          "document.querySelector('#speed').dispatchEvent(new Event('input'))")
            page.locator("#proto-toolbar button").first.click()
            page.wait_for_timeout(1800)
            page.mouse.move(5, 700)
            page.screenshot(path=out)
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "test-artifacts" / "screenshot.png"))
