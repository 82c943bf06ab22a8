"""Anti-bot throttle for holds: a sliding window per account and per client IP.

At most FLASH_HOLDS_PER_USER holds per account and FLASH_HOLDS_PER_IP per IP in
FLASH_THROTTLE_WINDOW_SECONDS. One Lua script checks both windows and, only if
both have room, records the hold in both: atomic, one round trip. A hold that
is then refused (sold out, limit, sale over) gives its slot back, so the window
counts holds people actually got, not attempts: a customer told "sold out"
twice can still take a unit that comes back a minute later.

When Redis is unreachable the throttle **fails open** to a per-process window
(the same algorithm in memory). Failing closed would turn a Redis outage into
a sale nobody can buy from; failing open is safe because the throttle is only
politeness: PostgreSQL alone keeps stock from being oversold, and the per-user
limit per item (PurchaseAllowance) still caps what one account can hold. The
per-process window keeps most of the protection while Redis is away. Embedded
mode (local-memory cache, one process) always uses the in-memory window.
"""

import ipaddress
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from flexpass import redis_guard
from flexpass.tallies import REFUSAL_FLASH_HOLD, refusal_record

SLIDING_WINDOW_LUA = """
-- KEYS: one sorted set per window. ARGV: now_ms, window_ms, member, then one limit per key.
-- Returns 0 and records `member` in every window when all have room; otherwise
-- returns how many milliseconds until the fullest window frees a slot.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local member = ARGV[3]
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local free_at = window
    if oldest[2] then free_at = tonumber(oldest[2]) + window - now end
    if free_at > wait then wait = free_at end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
end
return 0
"""

_script = None
_script_client = None


@dataclass(frozen=True)
class Slot:
    """One recorded hold in the windows; `release()` gives it back."""

    keys: tuple[str, ...]
    member: str
    in_redis: bool

    def release(self) -> None:
        if not self.in_redis:
            _local.release(self.keys, self.member)
            return
        if redis_guard.is_down():
            return  # the slot ages out of the window on its own
        try:
            pipe = redis_guard.client().pipeline(transaction=False)
            for key in self.keys:
                pipe.zrem(key, self.member)
            pipe.execute()
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.mark_down(exc)


class Throttled(Exception):
    def __init__(self, retry_after: int, scope: str):
        super().__init__(f"throttled for {retry_after}s ({scope})")
        self.retry_after = retry_after
        self.scope = scope


class _LocalWindows:
    """The same sliding window in this process's memory (embedded mode, Redis down)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[str, deque[tuple[float, str]]] = defaultdict(deque)

    def take(self, keys, limits, member, now_ms, window_ms) -> int:
        with self._lock:
            wait = 0
            for key, limit in zip(keys, limits, strict=True):
                window = self._windows[key]
                while window and window[0][0] <= now_ms - window_ms:
                    window.popleft()
                if len(window) >= limit:
                    free_at = window[0][0] + window_ms - now_ms if window else window_ms
                    wait = max(wait, free_at)
            if wait > 0:
                return int(wait)
            for key in keys:
                self._windows[key].append((now_ms, member))
            return 0

    def release(self, keys, member) -> None:
        with self._lock:
            for key in keys:
                window = self._windows.get(key)
                if window:
                    self._windows[key] = deque(item for item in window if item[1] != member)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


_local = _LocalWindows()


def _redis_take(keys, limits, member, now_ms, window_ms) -> int:
    global _script, _script_client
    client = redis_guard.client()
    if _script is None or _script_client is not client:
        _script, _script_client = client.register_script(SLIDING_WINDOW_LUA), client
    return int(_script(keys=list(keys), args=[now_ms, window_ms, member, *limits]))


def hold_slot_take(*, user_id: int, ip: str) -> Slot:
    """Record one hold for the account and the IP, or raise Throttled with the wait."""
    window_ms = settings.FLASH_THROTTLE_WINDOW_SECONDS * 1000
    names = (f"flash:throttle:user:{user_id}", f"flash:throttle:ip:{network_of(ip)}")
    limits = (settings.FLASH_HOLDS_PER_USER, settings.FLASH_HOLDS_PER_IP)
    member = uuid.uuid4().hex
    now_ms = int(time.time() * 1000)
    wait_ms = None
    if redis_guard.uses_redis() and not redis_guard.is_down():
        keys = tuple(cache.make_key(name) for name in names)
        try:
            wait_ms = _redis_take(keys, limits, member, now_ms, window_ms)
            in_redis = True
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.mark_down(exc)
    if wait_ms is None:
        keys, in_redis = names, False
        wait_ms = _local.take(keys, limits, member, now_ms, window_ms)
    if wait_ms > 0:
        refusal_record(REFUSAL_FLASH_HOLD)  # the operator dashboard's blocks by kind
        user_full = _is_full(keys[0], limits[0], in_redis, now_ms, window_ms)
        raise Throttled(
            retry_after=max(1, -(-wait_ms // 1000)), scope="account" if user_full else "ip"
        )
    return Slot(keys=keys, member=member, in_redis=in_redis)


def _is_full(key, limit, in_redis, now_ms, window_ms) -> bool:
    """Which window refused (for the message): the account's, or else the IP's."""
    if not in_redis:
        window = _local._windows.get(key, ())
        return sum(1 for score, _ in window if score > now_ms - window_ms) >= limit
    try:
        return redis_guard.client().zcount(key, now_ms - window_ms + 1, "+inf") >= limit
    except redis_guard.REDIS_ERRORS:
        return True


@contextmanager
def hold_slot(*, user_id: int, ip: str) -> Iterator[Slot]:
    """Take a slot for the block's hold; give it back if the block raises."""
    slot = hold_slot_take(user_id=user_id, ip=ip)
    try:
        yield slot
    except BaseException:
        slot.release()
        raise


def throttle_reset() -> None:
    """Forget the in-memory windows (tests; Redis windows go with the cache keys)."""
    _local.clear()


# --- the client's IP ------------------------------------------------------------------------


def network_of(ip: str) -> str:
    """What one 'IP' is for the per-IP window: the address for IPv4, its /64 for IPv6.

    One IPv6 subscriber gets a whole /64 (and often more): counted per address,
    anyone could take every unit by cycling through their own addresses.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def client_ip(request) -> str:
    """The address the hold is counted against, with proxies handled explicitly.

    FLASH_TRUSTED_PROXY_COUNT = 0 (default): REMOTE_ADDR; X-Forwarded-For is
    ignored because anyone can send it. With N proxies of ours in front, each
    appending what it saw, the client is the Nth entry from the right; entries
    further left were written by the client and are not trusted. A header
    shorter than N means the request did not come through our proxies: fall
    back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = settings.FLASH_TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return remote
    candidate = hops[-trusted]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
