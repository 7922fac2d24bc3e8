"""WebSocket routes, and a same-origin check that says why it refused a connection."""

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import path

from .consumers import PlayConsumer
from .experiment_pages import ExperimentConsumer

log = logging.getLogger("playground.ws")

websocket_urlpatterns = [
    path("ws/play/", PlayConsumer.as_asgi()),
    path("ws/experiments/", ExperimentConsumer.as_asgi()),
]

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme, host, port):
    return scheme, host.lower().rstrip("."), port or DEFAULT_PORTS.get(scheme)


def parse_origin(text):
    """("https", "a.example", 443) from "https://a.example", or None for anything else (e.g. "null")."""
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError:
        return None
    if url.scheme not in DEFAULT_PORTS or not url.hostname:
        return None
    return _origin(url.scheme, url.hostname, port)


def page_scheme(scope, headers):
    """The scheme the page was served with: the server's own word if it gives one (`scope["scheme"]`), else the
    TLS proxy's X-Forwarded-Proto when settings trust it (DJANGO_SECURE_PROXY), else http."""
    scheme = scope.get("scheme")
    if scheme:
        return "https" if scheme in ("wss", "https") else "http"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name = proxy[0].removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = headers.get(name, b"").decode("latin-1").split(",")[0].strip()
        return "https" if value == proxy[1] else "http"
    return "http"


def allowed_hosts():
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_refusal(scope):
    """Why a WebSocket handshake must be refused (a sentence for the log), or None to accept it.

    Accepted: an Origin equal to the page's own origin (scheme, host and port all compared; the host being one
    of ALLOWED_HOSTS), or one listed in CSRF_TRUSTED_ORIGINS. A missing Origin is refused (browsers always send
    one; anything else is not our page)."""
    headers = dict(scope.get("headers") or ())
    origin_text = headers.get(b"origin", b"").decode("latin-1")
    if not origin_text:
        return "no Origin header"
    origin = parse_origin(origin_text)
    if origin is None:
        return f"origin {origin_text!r} is not a web origin"
    if origin in {parse_origin(o) for o in settings.CSRF_TRUSTED_ORIGINS}:
        return None
    host_text = headers.get(b"host", b"").decode("latin-1")
    host, port = split_domain_port(host_text)
    if not host or not validate_host(host, allowed_hosts()):
        return f"host {host_text!r} is not in ALLOWED_HOSTS {allowed_hosts()}"
    scheme = page_scheme(scope, headers)
    expected = _origin(scheme, host, int(port) if port.isdigit() else None)
    if host.startswith("["):  # urlsplit gives IPv6 hosts without brackets
        expected = (expected[0], host[1:-1], expected[2])
    if origin != expected:
        return f"origin {origin_text!r} is not this page's origin {scheme}://{host_text}"
    return None


class SameOriginValidator:
    """Refuses WebSocket handshakes from other origins (cross-site WebSocket hijacking), logging each refusal
    (channels' own AllowedHostsOriginValidator is silent, and ignores scheme and port)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        refusal = origin_refusal(scope)
        if refusal is None:
            return await self.application(scope, receive, send)
        log.warning("websocket refused: %s", refusal)
        return await WebsocketDenier()(scope, receive, send)
