"""Who is active: a request or an open socket within ACTIVITY_WINDOW_SECONDS.

Recorded without touching the database, so it costs pages and the API one
Redis round trip and never shows up in their query counts:

* a sorted set `activity:now` (user id -> last time seen): "active now" is a
  ZCOUNT over the window, "active today" a ZCOUNT since midnight;
* a set per hour `activity:hour:<YYYYmmddHH>` (kept 8 days): "active over the
  day" is one SCARD per hour.

Callers: every request by a signed-in person (support.middleware, through
`activity_touch_throttled`: at most one write per person per 30-second slot in
each process) and the sockets when they connect and ping. Embedded mode (no
Redis) keeps the same data in this process's memory: embedded mode promises
one process.
"""

import logging
import threading
import time
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)
_HOUR_TTL = 8 * 86400
_NOW_KEEP = 2 * 86400

TOUCH_SLOT_SECONDS = 30
_RECENT_MAX = 20_000

_memory_lock = threading.Lock()
_memory_now: dict[int, float] = {}
_memory_hours: dict[str, set[int]] = {}
_recent: dict[int, int] = {}  # user id -> the 30-second slot of their last recorded touch


def _redis():
    try:
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    except Exception:  # not a django-redis cache (embedded mode)
        return None


def _hour_label(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H")


def _now_key() -> str:
    return cache.make_key("activity:now")


def _hour_key(label: str) -> str:
    return cache.make_key(f"activity:hour:{label}")


def activity_touch(user_id: int | None, *, now: datetime | None = None) -> None:
    """Record that `user_id` is active at `now` (default: now). Never raises."""
    if not user_id:
        return
    now = now or timezone.now()
    stamp = now.timestamp()
    label = _hour_label(now)
    client = _redis()
    if client is None:
        with _memory_lock:
            _memory_now[user_id] = max(stamp, _memory_now.get(user_id, 0))
            _memory_hours.setdefault(label, set()).add(user_id)
        return
    try:
        pipe = client.pipeline(transaction=False)
        pipe.zadd(_now_key(), {str(user_id): stamp}, gt=True)
        pipe.zremrangebyscore(_now_key(), 0, time.time() - _NOW_KEEP)
        pipe.sadd(_hour_key(label), str(user_id))
        pipe.expire(_hour_key(label), _HOUR_TTL)
        pipe.execute()
    except Exception:  # activity is a statistic: a Redis hiccup must not fail a request
        logger.warning("could not record activity of user %s", user_id, exc_info=True)


def activity_touch_throttled(user_id: int) -> bool:
    """`activity_touch`, at most once per user per TOUCH_SLOT_SECONDS slot in this process.

    Slots are counted from the epoch, so every hour (in any time zone whose offset
    is a whole number of half-minutes: all of them) starts a new slot and the first
    request of an hour always reaches that hour's set. Returns whether it wrote.
    A race between two threads costs at most one extra write.
    """
    slot = int(time.time() // TOUCH_SLOT_SECONDS)
    if _recent.get(user_id) == slot:
        return False
    if len(_recent) >= _RECENT_MAX:
        _recent.clear()  # cheaper than an LRU; costs one extra write per person
    _recent[user_id] = slot
    activity_touch(user_id)
    return True


def active_users_since(since: datetime) -> int:
    """How many users were active at or after `since`."""
    client = _redis()
    if client is None:
        with _memory_lock:
            return sum(1 for stamp in _memory_now.values() if stamp >= since.timestamp())
    return client.zcount(_now_key(), since.timestamp(), "+inf")


def active_users_by_hour(hours: list[datetime]) -> list[int]:
    """Distinct active users in each of the hours starting at `hours`."""
    labels = [_hour_label(hour) for hour in hours]
    client = _redis()
    if client is None:
        with _memory_lock:
            return [len(_memory_hours.get(label, ())) for label in labels]
    pipe = client.pipeline(transaction=False)
    for label in labels:
        pipe.scard(_hour_key(label))
    return [int(count) for count in pipe.execute()]


def activity_summary(*, window_seconds: int, now: datetime | None = None) -> dict:
    """Active now, active today and the hourly series for today (local time) so far."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = [midnight + timedelta(hours=step) for step in range(local.hour + 1)]
    return {
        "now": active_users_since(now - timedelta(seconds=window_seconds)),
        "today": active_users_since(midnight),
        "labels": [hour.strftime("%H:00") for hour in hours],
        "by_hour": active_users_by_hour(hours),
    }


def activity_forget_all() -> None:
    """Tests: start from nobody active (the memory backend outlives the test's cache)."""
    with _memory_lock:
        _memory_now.clear()
        _memory_hours.clear()
    _recent.clear()
