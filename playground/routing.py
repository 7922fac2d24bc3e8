"""WebSocket routes, and an origin check that says why it refused a connection."""

import logging

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from .consumers import PlayConsumer

log = logging.getLogger("playground.ws")

websocket_urlpatterns = [
    path("ws/play/", PlayConsumer.as_asgi()),
]


class _LoggingOriginValidator(OriginValidator):
    def valid_origin(self, parsed_origin):
        ok = super().valid_origin(parsed_origin)
        if not ok:
            origin = parsed_origin.geturl() if parsed_origin is not None else "(none)"
            log.warning("websocket refused: origin %s is not in ALLOWED_HOSTS %s", origin, self.allowed_origins)
        return ok


def LoggedAllowedHostsOriginValidator(application):
    """channels' AllowedHostsOriginValidator, logging each refusal (channels itself is silent about them)."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return _LoggingOriginValidator(application, allowed_hosts)
