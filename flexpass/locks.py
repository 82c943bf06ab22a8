"""The one lock helper: a polite, fast refusal in front of PostgreSQL, never the guard.

django-redis gives `cache.lock()` (a redis-py Lock). Local memory has none, so
embedded mode falls back to an `add()` spin lock with compare-and-delete on
release. Correctness of money and stock never depends on this lock.
"""

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class LockNotAcquired(Exception):
    pass


@contextmanager
def lock(key: str, *, timeout: float = 10, blocking_timeout: float = 0) -> Iterator[None]:
    """Hold `key` for at most `timeout` seconds; wait up to `blocking_timeout` to get it.

    With Redis unreachable the lock steps aside (logs and proceeds): nothing may
    depend on it for correctness.
    """
    key = f"lock:{key}"
    if hasattr(cache, "lock"):
        redis_lock = cache.lock(key, timeout=timeout, blocking_timeout=blocking_timeout, sleep=0.05)
        try:
            acquired = redis_lock.acquire(blocking=blocking_timeout > 0)
        except RedisError:
            # Redis is down: this lock is only a polite front, PostgreSQL still decides.
            logger.warning("lock %s skipped: Redis unavailable", key)
            yield
            return
        if not acquired:
            raise LockNotAcquired(key)
        try:
            yield
        finally:
            # Expired while held: nothing of ours is left to release.
            with suppress(Exception):
                redis_lock.release()
        return

    token = uuid.uuid4().hex
    deadline = time.monotonic() + blocking_timeout
    while not cache.add(key, token, timeout=timeout):
        if time.monotonic() >= deadline:
            raise LockNotAcquired(key)
        time.sleep(0.05)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)
