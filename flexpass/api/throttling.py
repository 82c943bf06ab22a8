"""DRF's rate limits, failing open while Redis (their store) is unreachable.

A rate limit is politeness, not a guard: PostgreSQL keeps money and stock right
on its own. DRF's cache throttles raise when the cache does, which turned a
Redis outage into a 500 on every API call - a buyer could hold a flash-sale
unit (its throttle already fails open) but not pay for it. These classes let
the request through instead and skip Redis for a few seconds
(flexpass.redis_guard), so an outage costs one socket timeout, not one per call.
"""

from rest_framework import throttling

from flexpass import redis_guard


class FailOpen:
    def allow_request(self, request, view) -> bool:
        if redis_guard.is_down():
            return True
        try:
            return super().allow_request(request, view)
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.mark_down(exc)
            return True


class AnonRateThrottle(FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpen, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FailOpen, throttling.ScopedRateThrottle):
    pass
