from django.apps import AppConfig
from django.core import checks


class PlaygroundConfig(AppConfig):
    name = "playground"
    verbose_name = "Protocol Playground"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(check_secret_key, checks.Tags.security)
        # Import the simulator and every protocol now, while start-up is single-threaded. Otherwise the
        # development server's two threads (system checks and the template autoreloader) both import the
        # template tags that use it, and Python's import-lock deadlock avoidance can leave one of them with a
        # half-imported package (KeyError: 'simulator' at `make run`).
        from simulator.protocols import all_protocols

        from . import services  # noqa: F401

        all_protocols()


def check_secret_key(app_configs=None, **kwargs):
    """Refuse to run in production without a real secret key (DEBUG off and no DJANGO_SECRET_KEY)."""
    from django.conf import settings

    if not settings.DEBUG and not getattr(settings, "SECRET_KEY_FROM_ENV", True):
        return [checks.Error(
            "DJANGO_SECRET_KEY is not set and DEBUG is off.",
            hint="Set DJANGO_SECRET_KEY to a long random string, or DJANGO_DEBUG=1 for development.",
            id="playground.E001",
        )]
    return []
