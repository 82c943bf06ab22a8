"""A generic sliding-window rate limit: Redis sorted set + Lua in full mode, memory otherwise.

`window_take(name, limit=, window_seconds=)` records one request and returns 0,
or, when the window is full, the seconds until a slot frees (for Retry-After).
Redis errors fail open to the per-process window: a limiter outage must not
take the API down with it.
"""

import threading
import time
import uuid
from collections import defaultdict, deque

from django.core.cache import cache

from flexpass.tallies import refusal_record

SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then return math.max(1, tonumber(oldest[2]) + window - now) end
  return window
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""

_lock = threading.Lock()
_local: dict[str, deque] = defaultdict(deque)
_scripts: dict[int, object] = {}


def _redis_client():
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):
        return cache.client.get_client(write=True)
    return None


def _local_take(name: str, limit: int, now_ms: int, window_ms: int) -> int:
    with _lock:
        window = _local[name]
        while window and window[0] <= now_ms - window_ms:
            window.popleft()
        if len(window) >= limit:
            return int(window[0] + window_ms - now_ms) or 1
        window.append(now_ms)
        return 0


def window_take(name: str, *, limit: int, window_seconds: int) -> int:
    """Record one hit on `name`; 0 if allowed, else whole seconds to wait (>= 1)."""
    now_ms = int(time.time() * 1000)
    window_ms = window_seconds * 1000
    wait_ms = None
    client = _redis_client()
    if client is not None:
        try:
            script = _scripts.get(id(client))
            if script is None:
                script = _scripts[id(client)] = client.register_script(SLIDING_WINDOW_LUA)
            wait_ms = int(
                script(
                    keys=[cache.make_key(f"ratelimit:{name}")],
                    args=[now_ms, window_ms, uuid.uuid4().hex, limit],
                )
            )
        except Exception:  # fail open to this process's window
            wait_ms = None
    if wait_ms is None:
        wait_ms = _local_take(name, limit, now_ms, window_ms)
    if wait_ms > 0:
        refusal_record(name.partition(":")[0])  # the dashboard's blocks by kind ("apikey")
    return 0 if wait_ms <= 0 else max(1, -(-wait_ms // 1000))


def reset_local() -> None:
    with _lock:
        _local.clear()
