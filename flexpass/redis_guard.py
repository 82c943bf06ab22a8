"""Redis is a polite front, never the guard: remember when it is down.

The flash-sale throttle, the live-stock coalescing and the API's rate limits
(flexpass.api.throttling) talk to Redis on every request. When Redis is stopped
or unreachable, each call would wait for the socket timeout (2 s in settings)
before failing; this module notes the first failure and lets callers skip Redis
for a few seconds instead, so requests stay fast and PostgreSQL alone keeps
money and stock right. Per process, keyed by the cache location.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

SKIP_SECONDS = 5.0

_down_until: dict[str, float] = {}
_lock = threading.Lock()


def _location() -> str:
    return str(settings.CACHES["default"].get("LOCATION", ""))


def uses_redis() -> bool:
    """True when the default cache is django-redis (full mode); False for local memory."""
    return hasattr(cache, "client") and hasattr(cache.client, "get_client")


def is_down() -> bool:
    return _down_until.get(_location(), 0.0) > time.monotonic()


def mark_down(exc: BaseException) -> None:
    location = _location()
    with _lock:
        first = _down_until.get(location, 0.0) <= time.monotonic()
        _down_until[location] = time.monotonic() + SKIP_SECONDS
    if first:
        logger.warning(
            "redis unreachable (%s): rate limits and live updates skip it for %ss",
            exc.__class__.__name__,
            SKIP_SECONDS,
        )


def reset() -> None:
    """Forget every failure (tests)."""
    _down_until.clear()


def client():
    """The raw redis-py client behind the default cache (full mode only)."""
    return cache.client.get_client(write=True)


def _redis_errors() -> tuple[type[BaseException], ...]:
    """What a dead or hung Redis raises, through redis-py or through django-redis."""
    import redis
    from django_redis.exceptions import ConnectionInterrupted

    return (
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionInterrupted,
        OSError,
    )


REDIS_ERRORS = _redis_errors()
