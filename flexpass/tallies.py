"""Counters in time buckets for the operator dashboard: refusals by kind, vendor API key use.

`tally(series, *fields)` adds one to each field in the current minute's and the
current hour's Redis hash of `series`: one pipelined round trip, no database,
and it never raises (a statistic must not fail the request it counts). Minutes
are kept 2 hours (for "last hour" figures), hours 8 days (for 24-hour charts);
hours are the site's time zone's, like every other chart on the dashboard.
Embedded mode (no Redis) keeps the same buckets in this process's memory.

The callers are the one place each refusal happens (see `REFUSAL_*`), and the
vendor API's key authentication (`api_key_use_record`). support.dashboard reads
them.
"""

import logging
import threading
import time
from collections import Counter
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

MINUTE_TTL = 2 * 3600
HOUR_TTL = 8 * 86400

# Refusal kinds, each recorded at the one place it happens.
REFUSAL_API_THROTTLE = "api_throttle"  # DRF throttles, 429 (flexpass/api/problems.py)
REFUSAL_API_KEY = "apikey"  # the vendor API's per-key window (flexpass/ratelimit.py, by name)
REFUSAL_FLASH_HOLD = "flash_hold"  # flash-sale anti-bot hold throttle (flashsale/throttle.py)
REFUSAL_SIGN_IN = "sign_in"  # allauth's 429s: sign-in, sign-up, code requests (support middleware)

_lock = threading.Lock()
_memory: dict[str, Counter] = {}
_memory_expires: dict[str, float] = {}


def _redis_client():
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):
        return cache.client.get_client(write=True)
    return None


def _minute_key(series: str, minute: int) -> str:
    return f"tally:{series}:m:{minute}"


def _hour_key(series: str, label: str) -> str:
    return f"tally:{series}:h:{label}"


def hour_label(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y%m%d%H")


def tally(series: str, *fields: str, at: datetime | None = None) -> None:
    """Count one of each of `fields` in `series` at `at` (default now). Never raises."""
    at = at or timezone.now()
    keys = (
        (_minute_key(series, int(at.timestamp() // 60)), MINUTE_TTL),
        (_hour_key(series, hour_label(at)), HOUR_TTL),
    )
    try:
        client = _redis_client()
        if client is None:
            _memory_add(keys, fields)
            return
        pipe = client.pipeline(transaction=False)
        for key, ttl in keys:
            full = cache.make_key(key)
            for field in fields:
                pipe.hincrby(full, field, 1)
            pipe.expire(full, ttl)
        pipe.execute()
    except Exception:  # a statistic: a Redis hiccup must not fail the request it counts
        logger.warning("could not count %s %s", series, fields)


def _memory_add(keys, fields) -> None:
    now = time.time()
    with _lock:
        if len(_memory) > 5000:
            for key in [key for key, until in _memory_expires.items() if until < now]:
                _memory.pop(key, None)
                _memory_expires.pop(key, None)
        for key, ttl in keys:
            counts = _memory.setdefault(key, Counter())
            for field in fields:
                counts[field] += 1
            _memory_expires[key] = now + ttl


def _read(keys: list[str]) -> list[dict[str, int]]:
    client = _redis_client()
    if client is None:
        now = time.time()
        with _lock:
            return [
                dict(_memory[key]) if _memory_expires.get(key, 0) >= now else {} for key in keys
            ]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(cache.make_key(key))
    return [
        {field.decode(): int(value) for field, value in found.items()} for found in pipe.execute()
    ]


def tally_hours(series: str, hours: list[datetime]) -> list[dict[str, int]]:
    """The counts of `series` in each of the (local) hours starting at `hours`."""
    return _read([_hour_key(series, hour_label(hour)) for hour in hours])


def tally_minutes(series: str, *, minutes: int, at: datetime | None = None) -> dict[str, int]:
    """The counts of `series` summed over the last `minutes` minutes (the current one included)."""
    now_minute = int((at or timezone.now()).timestamp() // 60)
    total: Counter = Counter()
    for counts in _read([_minute_key(series, now_minute - step) for step in range(minutes)]):
        total.update(counts)
    return dict(total)


def tally_forget_all() -> None:
    """Tests: the memory backend outlives the test's cache."""
    with _lock:
        _memory.clear()
        _memory_expires.clear()


# --- what is counted ------------------------------------------------------------------------


def refusal_record(kind: str) -> None:
    """A request was refused by a throttle or rate limit of `kind` (one of REFUSAL_*)."""
    tally("refusals", kind)


def api_key_use_record(*, key_id: int, refused: bool) -> None:
    """A request authenticated with vendor API key `key_id`; `refused` if its rate limit said 429."""
    if refused:
        tally("apikey", str(key_id), f"{key_id}:429")
    else:
        tally("apikey", str(key_id))
