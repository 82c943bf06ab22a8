"""Flash sales: hold length, anti-bot throttle, waitlist, live-stock coalescing, fees.

All values come from the environment; the defaults are the product's promises
(2-minute holds, at most 2 holds per account and per IP in 10 minutes).
"""

from datetime import timedelta

import environ

from .celery import CELERY_BEAT_SCHEDULE

env = environ.Env()

# How long a hold keeps its units out of stock before it expires.
FLASH_HOLD_SECONDS = env.int("FLASH_HOLD_SECONDS", default=120)
# Anti-bot sliding window (Redis + Lua): holds per account and per client IP.
FLASH_HOLDS_PER_USER = env.int("FLASH_HOLDS_PER_USER", default=2)
FLASH_HOLDS_PER_IP = env.int("FLASH_HOLDS_PER_IP", default=2)
FLASH_THROTTLE_WINDOW_SECONDS = env.int("FLASH_THROTTLE_WINDOW_SECONDS", default=600)
# The client IP is REMOTE_ADDR unless this many proxies we run sit in front:
# then it is the Nth address from the right of X-Forwarded-For (what our
# outermost proxy saw). Anything a client writes further left is ignored.
FLASH_TRUSTED_PROXY_COUNT = env.int("FLASH_TRUSTED_PROXY_COUNT", default=0)
# Stock that comes back while people wait is held for the first in line this long.
FLASH_WAITLIST_PRIORITY_SECONDS = env.int("FLASH_WAITLIST_PRIORITY_SECONDS", default=90)
# Live stock: at most one broadcast per item per interval (it carries the stock
# read when it is sent, so skipped intermediate numbers never leave a stale bar).
FLASH_BROADCAST_INTERVAL_SECONDS = env.float("FLASH_BROADCAST_INTERVAL_SECONDS", default=0.4)
# A vendor's flash-sale item pays the vendor this percentage less.
FLASH_PLATFORM_FEE_PERCENT = env.str("FLASH_PLATFORM_FEE_PERCENT", default="10")
# The expiry job: how often and how many holds per run (it is also applied lazily).
FLASH_EXPIRY_JOB_SECONDS = env.int("FLASH_EXPIRY_JOB_SECONDS", default=30)
FLASH_EXPIRY_BATCH = env.int("FLASH_EXPIRY_BATCH", default=500)
# Lazy expiry on the way through a page, an API read or a hold takes at most this many
# (each is its own transaction): after a storm with beat stopped, a read must not spend
# seconds returning hundreds of units; the next reads (or the job) take the rest.
FLASH_LAZY_EXPIRY_BATCH = env.int("FLASH_LAZY_EXPIRY_BATCH", default=50)

CELERY_BEAT_SCHEDULE.setdefault(
    "flashsale-expire-holds",
    {
        "task": "flashsale.tasks.holds_expire",
        "schedule": timedelta(seconds=FLASH_EXPIRY_JOB_SECONDS),
    },
)
