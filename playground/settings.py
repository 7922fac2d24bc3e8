"""Settings from the environment, with safe production defaults.

Embedded defaults (nothing to install): SQLite in the project directory and the
in-memory channel layer (one process). `DATABASE_URL` switches to PostgreSQL
(or any dj-database-url URL), `REDIS_URL` to channels-redis, which several
Daphne processes can share.

    DJANGO_DEBUG=1                 development mode (off by default)
    DJANGO_SECRET_KEY=...          required when DEBUG is off
    DJANGO_ALLOWED_HOSTS=a.com,b   host names served (and accepted as WebSocket origins)
    DJANGO_CSRF_TRUSTED_ORIGINS=https://a.com
    DJANGO_SECURE_PROXY=1          served over HTTPS by a TLS-terminating proxy: trust its X-Forwarded-Proto,
                                   secure cookies, WebSocket origins compared as https
    DJANGO_SSL_REDIRECT=1          redirect plain HTTP to HTTPS (SECURE_SSL_REDIRECT)
    DJANGO_HSTS_SECONDS=31536000   Strict-Transport-Security max-age (0: no header, the default);
    DJANGO_HSTS_INCLUDE_SUBDOMAINS=1, DJANGO_HSTS_PRELOAD=1
    PLAYGROUND_TRUSTED_PROXY=1     a reverse proxy you control is in front and sets X-Forwarded-For: Daphne then
                                   takes client addresses from it (`python -m playground.serve` adds
                                   --proxy-headers). Off by default: exposed directly, anyone could forge the
                                   header and dodge the per-client save rate limit
    DATABASE_URL=postgres://...    database (default: sqlite:///db.sqlite3)
    REDIS_URL=redis://host:6379/0  channel layer and cache (default: in-memory, per process)
    PLAYGROUND_SAVE_RATE=30/m      saved scenarios per client address: N/s, N/m, N/h or N/<seconds>s;
                                   0 or off: no limit (docs/sharing.md)
    PLAYGROUND_CHECKPOINT_MB=24    memory for one run's time-travel checkpoints (docs/sharing.md)
    PLAYGROUND_TRAVEL_MAX_EVENTS=3000000, PLAYGROUND_TRAVEL_MAX_SECONDS=30, PLAYGROUND_TRAVEL_MAX_MB=96,
    PLAYGROUND_TRAVEL_WORKERS=2    what one seek, step back, save or export may cost, and how many re-simulate
                                   at once (docs/websocket.md, "Cost limits")
    PLAYGROUND_LIVE_MAX_SCHEDULED=20000   messages in flight and timers a live run may hold (then paused, too_costly)
    PLAYGROUND_BUILD_OFF_LOOP_NODES=50, PLAYGROUND_BUILD_WORKERS=2
                                   a `start` with more nodes is built off the event loop, so many at once
    PLAYGROUND_HUNT_BUDGET=100, PLAYGROUND_HUNT_MAX_BUDGET=2000, PLAYGROUND_HUNT_MAX_SECONDS=60,
    PLAYGROUND_HUNT_CONCURRENT=2, PLAYGROUND_HUNT_WORKERS=0 (one per core)
                                   "Find a counterexample" on the page (docs/hunt.md)
    DJANGO_LOG_LEVEL=INFO
"""

import os
import re
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name, default=()):
    value = os.environ.get(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


RATE_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def env_rate(name, default):
    """'30/m' -> (30, 60): a count per period (s, m, h, d, or seconds as in '30/90s'); '0' or 'off' -> None.

    Parsed here, at startup, so that a typo stops the server instead of the first save."""
    value = os.environ.get(name, default).strip().lower()
    if value in ("0", "off", "none", ""):
        return None
    m = re.fullmatch(r"(\d+)\s*/\s*(?:(\d+)\s*s|([a-z]+))", value)
    if not m or (m.group(3) and m.group(3) not in RATE_UNITS) or int(m.group(1)) < 1 or m.group(2) == "0":
        raise ImproperlyConfigured(f"{name}={value!r}: expected a count per period, e.g. 30/m, 500/h or 10/90s")
    return int(m.group(1)), int(m.group(2)) if m.group(2) else RATE_UNITS[m.group(3)]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
SECRET_KEY_FROM_ENV = bool(SECRET_KEY)
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
# With DEBUG off and no key, SECRET_KEY stays empty: Django refuses anything that signs, the system check
# playground.E001 fails `manage.py check/migrate/runserver`, and asgi.py refuses to start.

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves HTTP and WebSockets
    "django.contrib.admin",  # saved scenarios, read-only (playground/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "playground",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "playground.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,  # under ASGI, persistent connections leak across threads; keep them off
        conn_health_checks=True,
    )
}

REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 caps a pool at 100 connections and raises beyond (MaxConnectionsError): a class of 150
                # students joining one process at once needs more (bench/classroom.py)
                "hosts": [{"address": REDIS_URL, "max_connections": 2000}],
                # at least Daphne's websocket timeout (24 h), or viewers silently leave their rooms
                "group_expiry": 86400,
                "capacity": 200,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 86400, "capacity": 200},
        }
    }

# The cache holds the save rate limit's counters (playground/ratelimit.py). Local memory counts per process;
# Redis, when there is one, makes the limit global across Daphne processes.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "playground"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Saved scenarios (share links, imports, the API) per client address: (count, seconds), or None for no limit.
PLAYGROUND_SAVE_RATE = env_rate("PLAYGROUND_SAVE_RATE", "30/m")


def env_number(name, default, kind=int, low=1):
    """A number from the environment, at least `low`; a typo stops the server at startup."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or number != number or number < low:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a {kind.__name__} of at least {low}")
    return number


# Time travel (playground/travel.py; docs/websocket.md "Cost limits"). Checkpoint memory per live run, and what one
# request that re-simulates (seek, step back, finishing the current ms for save/export) may cost: engine events,
# seconds of simulating, growth of the process's memory; over it, `too_costly` (refused up front when an estimate
# says so). A 10-minute 5-node Raft seek from the start is ~0.4 M events: 3 s of CPU, ~20 s on a machine loaded 10x.
PLAYGROUND_CHECKPOINT_MB = env_number("PLAYGROUND_CHECKPOINT_MB", 24)
PLAYGROUND_TRAVEL_MAX_EVENTS = env_number("PLAYGROUND_TRAVEL_MAX_EVENTS", 3_000_000, low=1000)
PLAYGROUND_TRAVEL_MAX_SECONDS = env_number("PLAYGROUND_TRAVEL_MAX_SECONDS", 30.0, float, low=0.1)
PLAYGROUND_TRAVEL_MAX_MB = env_number("PLAYGROUND_TRAVEL_MAX_MB", 96, low=16)
# re-simulations running at once per process (others wait their turn; each client has at most one)
PLAYGROUND_TRAVEL_WORKERS = env_number("PLAYGROUND_TRAVEL_WORKERS", 2)
# `start` builds a scenario with more nodes than this in a thread of its own (a 10,000-node gossip run holds the
# event loop ~2 s otherwise); at most PLAYGROUND_BUILD_WORKERS such builds at once per process, the others queue
PLAYGROUND_BUILD_OFF_LOOP_NODES = env_number("PLAYGROUND_BUILD_OFF_LOOP_NODES", 50, low=0)
PLAYGROUND_BUILD_WORKERS = env_number("PLAYGROUND_BUILD_WORKERS", 2, low=1)
# Scheduled engine events (messages in flight, timers) a live run may hold before it is paused with `too_costly`
# (playground/session.py check_scheduled): ~200 bytes and three GC-tracked objects each. A 1,000-node gossip run (the
# most the page shows) holds 1,100-2,100; two 2,000-node push-pull runs at 50,000 each made full GC passes of
# 0.3-0.8 s in bench/attack.py.
PLAYGROUND_LIVE_MAX_SCHEDULED = env_number("PLAYGROUND_LIVE_MAX_SCHEDULED", 20_000, low=1000)
# The event loop's upkeep (playground/upkeep.py): a 0.5 ms GIL switch interval, and full cyclic GC passes paced
# by the loop instead of whenever a thread allocates (they stalled every session for 100-540 ms). Tests turn it
# off in the pytest process (its loops are short-lived); the servers they start have it on.
PLAYGROUND_GC_PACING = env_bool("PLAYGROUND_GC_PACING", True)
# Benchmarks only (bench/attack.py --watch): log the stack of any event-loop stall longer than this many ms, and
# slow cyclic GC passes (playground/loopwatch.py). 0: off.
PLAYGROUND_LOOP_WATCH_MS = env_number("PLAYGROUND_LOOP_WATCH_MS", 0, low=0)

# "Find a counterexample" (playground/hunting.py; docs/hunt.md): the default and largest budget of one hunt (in
# schedules), its wall-time limit, hunts at once per process (one per client), and the Dask worker processes
# started on the first hunt (0: one per core; 1: no cluster, trials run in the hunt's thread).
PLAYGROUND_HUNT_BUDGET = env_number("PLAYGROUND_HUNT_BUDGET", 100)
PLAYGROUND_HUNT_MAX_BUDGET = env_number("PLAYGROUND_HUNT_MAX_BUDGET", 2000)
PLAYGROUND_HUNT_MAX_SECONDS = env_number("PLAYGROUND_HUNT_MAX_SECONDS", 60.0, float, low=0.1)
PLAYGROUND_HUNT_CONCURRENT = env_number("PLAYGROUND_HUNT_CONCURRENT", 2, low=0)
PLAYGROUND_HUNT_WORKERS = env_number("PLAYGROUND_HUNT_WORKERS", 0, low=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Not the manifest storage: ES modules import each other (and protocol views are imported by name at
    # run time) by plain relative paths, which hashed file names would break.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from static/ when STATIC_ROOT has not been collected (development, tests).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_MAX_AGE = 0 if DEBUG else 300
# Without collectstatic (development, tests) STATIC_ROOT does not exist and the finders serve static/: say nothing.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if env_bool("DJANGO_SECURE_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT")
try:
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
except ValueError:
    raise ImproperlyConfigured("DJANGO_HSTS_SECONDS: a whole number of seconds (e.g. 31536000)") from None
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Whether Daphne may believe X-Forwarded-For (read by playground/serve.py, which starts Daphne).
TRUSTED_PROXY = env_bool("PLAYGROUND_TRUSTED_PROXY")
# Content-Security-Policy of every response (playground/middleware.py): scripts, styles and connections only
# from this origin ('self' covers ws:/wss: to it), no inline script or style, no framing, no plugins.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Who may frame the embed routes (/embed/..., playground/lessons.py): a CSP frame-ancestors source list. Only those
# routes; every other response keeps X-Frame-Options DENY and frame-ancestors 'none'.
PLAYGROUND_EMBED_ANCESTORS = os.environ.get("PLAYGROUND_EMBED_ANCESTORS", "*")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "playground": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO"),
                       "propagate": False},
    },
}
