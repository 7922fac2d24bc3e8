"""`make run`'s server, as a new user starts it: `manage.py migrate` then `manage.py runserver` with the
autoreloader on, on the embedded defaults (a fresh SQLite file). The home page and a playground must answer.

This caught a start-up race (two threads importing the simulator through template tags) that no in-process
test could see.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except OSError:
        return None, ""


def test_make_run_serves_the_home_page_and_a_playground(tmp_path):
    env = dict(os.environ, DJANGO_DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run(manage + ["migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(manage + ["runserver", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            time.sleep(0.5)
            assert server.poll() is None, log.read_text()
            status, home = get(f"http://127.0.0.1:{port}/")
        assert status == 200, log.read_text()
        assert "Raft" in home and "Kafka" in home
        status, play = get(f"http://127.0.0.1:{port}/play/raft/")
        assert status == 200 and "<script" in play
        assert "Traceback" not in log.read_text(), log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
