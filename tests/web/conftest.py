"""Fixtures for the web tests: WebSocket clients on the consumer, and ordering (browser tests last).

Browser tests (marked `browser`) run after every other test of the session: once Playwright's sync API has
started it keeps an event loop on the main thread, and pytest-asyncio tests fail after that.
"""

import asyncio
import copy
import json
import re

import pytest
import pytest_asyncio
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from playground.routing import websocket_urlpatterns


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: 1 if item.get_closest_marker("browser") else 0)


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Every test starts with an empty cache of its own: the save rate limit counts in it
    (playground/ratelimit.py), and one test's saves must not use up the next one's. Always local memory, even
    with REDIS_URL set: clearing a Redis cache would flush the channel layer's database too."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "playground-tests"}}
    # no loop upkeep in the pytest process (playground/upkeep.py): its loops live one test, and a loop closed
    # under the pacing task would leave automatic full GC passes off for the rest of the session
    settings.PLAYGROUND_GC_PACING = False
    cache.clear()
    yield


class Client:
    """A test WebSocket client speaking the playground protocol (JSON in, JSON out)."""

    def __init__(self, app=None, path="/ws/play/", headers=None):
        self.comm = WebsocketCommunicator(app or URLRouter(websocket_urlpatterns), path, headers=headers)
        self.last_seq = 0

    async def connect(self):
        connected, _ = await self.comm.connect()
        assert connected
        return self

    async def send(self, msg):
        await self.comm.send_to(text_data=msg if isinstance(msg, str) else json.dumps(msg))

    async def recv(self, timeout=2.0, ack=True):
        """Next message as JSON (asyncio.TimeoutError if none comes in time; the app keeps running,
        unlike with WebsocketCommunicator.receive_from, which cancels the application on a timeout)."""
        if self.comm.future.done():
            self.comm.future.result()  # the application died: raise its exception
        out = await asyncio.wait_for(self.comm.output_queue.get(), timeout)
        assert out["type"] == "websocket.send", out
        msg = json.loads(out["text"])
        if "seq" in msg and ack and not msg.get("viewer"):
            self.last_seq = msg["seq"]
            await self.send({"type": "ack", "seq": msg["seq"]})
        return msg

    async def recv_type(self, kind, timeout=2.0, ack=True):
        """Receive until a message of `kind`; return it (other messages are skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            assert left > 0, f"no {kind} message within {timeout} s"
            msg = await self.recv(left, ack)
            if msg["type"] == kind:
                return msg

    async def start(self, scenario=None, **extra):
        sc = {"protocol": "raft", "seed": 3}
        sc.update(scenario or {})
        await self.send({"type": "start", "scenario": sc, **extra})
        return await self.recv_type("started")

    async def nothing(self, timeout=0.3):
        return await self.comm.receive_nothing(timeout)

    async def close(self):
        await self.comm.disconnect()


@pytest_asyncio.fixture
async def client():
    await get_channel_layer().flush()
    c = await Client().connect()
    yield c
    await c.close()


@pytest_asyncio.fixture
async def make_client():
    await get_channel_layer().flush()
    made = []

    async def make(**kwargs):
        c = await Client(**kwargs).connect()
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


# --- browser tests: a live Daphne process and headless Chromium ------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite test databases live in a file, not in memory, so the live Daphne process (a fork) shares it."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


def _live_application(db_blocker):
    """Runs in the forked Daphne child: database access allowed (to the test database), a fresh asgiref
    executor (the parent's thread is not in the child; without this every database call hangs), a secret key
    (DEBUG is off in tests), then the real ASGI application."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from django.conf import settings

    db_blocker.unblock()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    settings.SECRET_KEY = "browser-tests-only"
    settings.SECRET_KEY_FROM_ENV = True
    settings.PLAYGROUND_GC_PACING = True  # as in production (the pytest process turns it off for its own loops)
    from playground.asgi import application

    return application


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


def _uses_db(item):
    """Whether pytest-django sets up the test database for this test (as it decides: a marker or a fixture)."""
    return item.get_closest_marker("django_db") is not None or bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.fixture(scope="module")
def daphne_server(request, django_db_setup, django_db_blocker):
    """A real Daphne serving the app (on the test database) on a free port, for one test file; yields its URL.

    One server per file, not per session: a long session's server accumulates what earlier files left running
    (classes, hunts, heavy runs), and the process-wide cost limits (memory growth, turns) then refused the seeks
    of later files' tests (embed, feed, lesson Back) in a full run while they passed alone."""
    from daphne.testing import DaphneProcess
    from django.test.utils import setup_databases, teardown_databases

    own_db = None
    if not any(_uses_db(item) for item in request.session.items):
        # Only browser tests were selected: pytest-django sets up the test database only when some test uses it,
        # so the live server would otherwise run on the development database (db.sqlite3).
        with django_db_blocker.unblock():
            own_db = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    proc = DaphneProcess("127.0.0.1", lambda: _live_application(django_db_blocker))
    proc.daemon = True
    proc.start()
    if not proc.ready.wait(10):
        error = proc.errors.get(timeout=1) if not proc.errors.empty() else ("no error reported", "")
        proc.terminate()
        raise RuntimeError(f"Daphne did not start: {error[1] or error[0]}")
    yield f"http://127.0.0.1:{proc.port.value}"
    proc.terminate()
    proc.join(5)
    if own_db is not None:
        with django_db_blocker.unblock():
            teardown_databases(own_db, verbosity=0)


@pytest.fixture(scope="session")
def browser():
    import os

    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API keeps a loop on this thread
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageErrors(list):
    def check(self):
        assert not self, f"errors in the page: {self}"


_FUNCTION = re.compile(r"\s*(async\s+)?(\(|function\b|[A-Za-z_$][\w$]*\s*=>)")


def _function_predicates(wait_for_function):
    """The page's Content-Security-Policy has no 'unsafe-eval' (playground/settings.py), and Playwright evaluates a
    predicate given as a bare expression with eval() in the page: hand it a function instead."""

    def wait(expression, *args, **kwargs):
        if not _FUNCTION.match(expression):
            expression = f"() => ({expression})"
        return wait_for_function(expression, *args, **kwargs)

    return wait


@pytest.fixture
def make_page(browser):
    """new_page(width, height) -> (page, errors): a fresh context each; errors collects page errors and console
    errors (the test asserts there are none)."""
    contexts = []

    def new_page(width=1280, height=720, **kwargs):
        ctx = browser.new_context(viewport={"width": width, "height": height}, **kwargs)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.wait_for_function = _function_predicates(page.wait_for_function)
        errors = PageErrors()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        return page, errors

    yield new_page
    for ctx in contexts:
        ctx.close()


def open_playground(page, base, protocol, scenario=None, seed=1, speed=1000, query=""):
    """Open /play/<protocol>/ and wait for its first snapshot. With `scenario`, the page's own `start` message
    carries that scenario instead (routed in Playwright, so the page itself is exactly what users get)."""
    if scenario is not None:
        def route(ws):
            server = ws.connect_to_server()

            def from_page(message):
                msg = json.loads(message)
                if msg.get("type") == "start":
                    msg["scenario"] = scenario
                    message = json.dumps(msg)
                server.send(message)

            ws.on_message(from_page)

        page.route_web_socket("**/ws/play/**", route)
    page.goto(f"{base}/play/{protocol}/?seed={seed}&speed={speed}{query}")
    page.wait_for_function("window.playground && window.playground.snapshot !== null")


def next_frames(page, n=2):
    """Wait until the page has drawn `n` more animation frames: what it shows now reflects what it was told."""
    page.evaluate("""(n) => new Promise((done) => { const tick = () => (n-- > 0 ? requestAnimationFrame(tick) : done());
        tick(); })""", n)


def drag(page, start, end, steps=15):
    """Press at `start`, move to `end` in steps (as a hand does), release; return once the page has redrawn, so
    that positions read next are those after the drop (other nodes may have been laid out anew)."""
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
    page.mouse.up()
    next_frames(page)


def preset_scenario(protocol_cls, slug, **changes):
    """A copy of one of a protocol's presets, optionally with top-level fields changed."""
    sc = copy.deepcopy(next(p["scenario"] for p in protocol_cls.presets() if p["slug"] == slug))
    sc.update(changes)
    return sc


async def drain(client, seconds, until=None):
    """Collect a session's messages (the Client acknowledges frames) for `seconds` of wall time, or until a
    message of type `until`; an `error` message fails the test."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    out = []
    while (left := end - loop.time()) > 0:
        try:
            msg = await client.recv(timeout=left)
        except asyncio.TimeoutError:
            break
        assert msg["type"] != "error", msg
        out.append(msg)
        if until and msg["type"] == until:
            break
    return out
