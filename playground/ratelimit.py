"""A per-client limit on creating saved scenarios (POST /api/scenarios, POST /import, the WebSocket `save`).

Anyone may create scenarios (no accounts), so without a limit anyone could fill the database. Each client
address gets `settings.PLAYGROUND_SAVE_RATE` = (count, seconds) creations per fixed window of `seconds`
(default 30 a minute; None turns the limit off). The counters live in Django's cache: the default local-memory
cache counts per process, so with several Daphne processes the limit is per process unless CACHES is shared
(settings.py uses Redis when REDIS_URL is set).

Fixed windows are the simplest thing that bounds the rate (at most 2x `count` across a window boundary) and
cost one cache round trip. Wall-clock time is right here: this is about real clients, not simulated time.
"""

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "playground:save-rate"


class RateLimited(Exception):
    """Too many creations from one client: answer 429 (HTTP) or an `error` (WebSocket), retry in `retry_after` s."""

    code = "rate_limited"

    def __init__(self, count, seconds, retry_after):
        self.count, self.seconds, self.retry_after = count, seconds, retry_after
        self.message = (f"too many saved scenarios from your address ({count} per {_period(seconds)}): "
                        f"try again in {retry_after} s")
        super().__init__(self.message)


def _period(seconds):
    return {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")


def client_key(address):
    """The bucket of a client address: the address itself, or its /64 for IPv6 (one host's usual share).

    Behind a reverse proxy every client has the proxy's address: run Daphne with --proxy-headers so that the
    ASGI scope (and so REMOTE_ADDR and the WebSocket's client) carries the real one.
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return str(address)[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)


def _keys(address, now):
    rate = settings.PLAYGROUND_SAVE_RATE
    if not rate:
        return None
    count, seconds = rate
    window = int(now // seconds)
    retry_after = max(1, math.ceil((window + 1) * seconds - now))
    return f"{KEY_PREFIX}:{client_key(address)}:{seconds}:{window}", count, seconds, retry_after


def _hit(key, count, seconds, retry_after, add, incr):
    if add(key, 1, timeout=seconds + 1):
        return
    try:
        used = incr(key)
    except ValueError:  # expired between add and incr: this is the first hit of a fresh window
        add(key, 1, timeout=seconds + 1)
        return
    if used > count:
        raise RateLimited(count, seconds, retry_after)


def save_rate_check(address, now=None):
    """Count one creation for `address`; raise RateLimited if it is over the limit (HTTP views)."""
    spec = _keys(address, time.time() if now is None else now)
    if spec is not None:
        _hit(*spec, cache.add, cache.incr)


async def asave_rate_check(address, now=None):
    """The same, from async code (the WebSocket session)."""
    spec = _keys(address, time.time() if now is None else now)
    if spec is None:
        return
    key, count, seconds, retry_after = spec
    if await cache.aadd(key, 1, timeout=seconds + 1):
        return
    try:
        used = await cache.aincr(key)
    except ValueError:
        await cache.aadd(key, 1, timeout=seconds + 1)
        return
    if used > count:
        raise RateLimited(count, seconds, retry_after)
