"""Deployment safety (issue 9): the documented production settings pass `manage.py check --deploy`, every page
carries a Content-Security-Policy, HSTS can be enabled, Daphne trusts X-Forwarded-For only when a setting says a
proxy is in front, and WebSocket origins are compared by scheme, host and port."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client as DjangoClient

ROOT = Path(__file__).resolve().parents[2]
# The production environment README's Deploy section documents (the secret is any long random string).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x7Yq2-3vN_pL9sD0fK4hJ8mB1cV6zT5rW0eQ2uI7oP3aS9dF4gH1jK6lZ8xC5vB2",
    "DJANGO_ALLOWED_HOSTS": "playground.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://playground.example.org",
    "DJANGO_SECURE_PROXY": "1",
    "DJANGO_SSL_REDIRECT": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
    "PLAYGROUND_TRUSTED_PROXY": "1",
}


@pytest.fixture(autouse=True)
def secret_key(monkeypatch):
    """DEBUG is off in tests and no DJANGO_SECRET_KEY is set; messages, CSRF and asgi.py need a key."""
    from django.conf import settings

    monkeypatch.setattr(settings._wrapped, "SECRET_KEY", "deploy-tests-only")
    monkeypatch.setattr(settings._wrapped, "SECRET_KEY_FROM_ENV", True)
    settings.__dict__.pop("SECRET_KEY", None)
    settings.__dict__.pop("SECRET_KEY_FROM_ENV", None)


def run_python(args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_"))}
    env.update(env_extra)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_documented_production_settings():
    done = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert done.returncode == 0, done.stderr + done.stdout
    readme = (ROOT / "README.md").read_text()
    for key in PRODUCTION_ENV:
        assert key in readme, f"{key} is not documented in README's Deploy section"


def test_daphne_trusts_proxy_headers_only_when_the_setting_says_so():
    code = "import json; from playground.serve import daphne_argv; print(json.dumps(daphne_argv()))"
    direct = json.loads(run_python(["-c", code], {"DJANGO_SECRET_KEY": "k"}).stdout)
    proxied = json.loads(run_python(["-c", code], {"DJANGO_SECRET_KEY": "k", "PLAYGROUND_TRUSTED_PROXY": "1"}).stdout)
    assert "--proxy-headers" not in direct and "--proxy-headers" in proxied
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--proxy-headers" not in dockerfile.split("CMD", 1)[1] and "playground.serve" in dockerfile


def test_pages_carry_a_content_security_policy_without_inline_script(db):
    client = DjangoClient()
    for url in ("/", "/play/raft/", "/healthz"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and "unsafe" not in policy
        assert directives["frame-ancestors"] == "'none'"


def test_hsts_and_ssl_redirect_follow_their_settings(settings):
    client = DjangoClient()
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 301
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=3600")


# --- the WebSocket origin check ------------------------------------------------------------------------------
async def handshake(origin, host="127.0.0.1:8000", extra=()):
    from playground.asgi import application

    headers = [(b"host", host.encode())] + list(extra)
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, "/ws/play/", headers=headers)
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


@pytest.mark.asyncio
@pytest.mark.parametrize("origin, ok", [
    ("http://127.0.0.1:8000", True),
    ("http://127.0.0.1:9999", False),  # another port: another origin
    ("https://127.0.0.1", False),  # another scheme and port
    ("https://127.0.0.1:8000", False),  # another scheme
    ("http://evil.example:8000", False),
    ("null", False),
    (None, False),
])
async def test_websocket_origin_must_be_the_pages_own(origin, ok):
    assert await handshake(origin) is ok


@pytest.mark.asyncio
async def test_websocket_origin_behind_a_tls_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["playground.example.org"]
    proto = [(b"x-forwarded-proto", b"https")]
    assert await handshake("https://playground.example.org", "playground.example.org", proto)
    assert not await handshake("http://playground.example.org", "playground.example.org", proto)
    assert not await handshake("https://playground.example.org", "other.example.org", proto)
