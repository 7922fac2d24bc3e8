"""ASGI entry point: Daphne serves HTTP (Django) and WebSockets (Channels) from here.

    daphne -b 0.0.0.0 -p 8000 playground.asgi:application
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # before importing anything that touches models

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from playground.consumers import WriteBufferProbe  # noqa: E402
from playground.routing import SameOriginValidator, websocket_urlpatterns  # noqa: E402

if not settings.DEBUG and not settings.SECRET_KEY_FROM_ENV:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DEBUG is off (or set DJANGO_DEBUG=1 to develop)")

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    # WriteBufferProbe first: it finds Daphne's transport before any middleware wraps `send` (flow control)
    "websocket": WriteBufferProbe(SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
})

# Everything loaded so far (Django, Channels, the simulator: some 100,000 objects) lives as long as the process.
# Freezing it keeps the cyclic GC's full collections from scanning it again and again: they stalled every live
# session at once for 100-200 ms (bench/ws.py p99), and take a few ms after this. Later full passes are paced by
# playground/upkeep.py (started with the first WebSocket).
gc.freeze()
