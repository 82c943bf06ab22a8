"""Vendor platform: API keys, rate limits, access-check cache, usage ingest, webhooks out."""

import os
from datetime import timedelta

import environ

from .celery import CELERY_BEAT_SCHEDULE

env = environ.Env()

# Per API key sliding window (flexpass.ratelimit): requests per window.
VENDOR_API_RATE_LIMIT = env.int("VENDOR_API_RATE_LIMIT", default=600)
VENDOR_API_RATE_WINDOW_SECONDS = env.int("VENDOR_API_RATE_WINDOW_SECONDS", default=60)
# Each server process keeps a used key's row this long (0: look it up on every request):
# a revocation reaches the other processes within it (marketplace.services.keys).
VENDOR_API_KEY_CACHE_SECONDS = env.int("VENDOR_API_KEY_CACHE_SECONDS", default=5)
# Access checks are served from the cache; every change we make to a pass drops
# the entry on commit, the TTL bounds staleness from paths that do not (expiry is
# recomputed from expires_at on every read anyway).
VENDOR_ACCESS_CACHE_SECONDS = env.int("VENDOR_ACCESS_CACHE_SECONDS", default=30)
USAGE_BATCH_MAX = env.int("USAGE_BATCH_MAX", default=1000)
USAGE_FUTURE_TOLERANCE_SECONDS = env.int("USAGE_FUTURE_TOLERANCE_SECONDS", default=300)

# Webhooks out. Targets resolving to loopback/link-local/private addresses are
# refused unless this is on (test settings turn it on through the env default).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool(
    "WEBHOOK_ALLOW_PRIVATE_TARGETS",
    default=os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".test"),
)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Backoff: base * 2**attempt seconds (with +-25 % jitter), capped; after this
# many attempts (about 3 days in total) the delivery is marked failed.
WEBHOOK_BACKOFF_BASE_SECONDS = env.int("WEBHOOK_BACKOFF_BASE_SECONDS", default=30)
WEBHOOK_BACKOFF_CAP_SECONDS = env.int("WEBHOOK_BACKOFF_CAP_SECONDS", default=6 * 3600)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=20)

CELERY_BEAT_SCHEDULE.update(
    {
        "vendor-webhooks-deliver-due": {
            "task": "marketplace.vendor_api.tasks.webhooks_deliver_due",
            "schedule": timedelta(minutes=1),
        },
    }
)

# The vendor API's tasks live outside marketplace/tasks.py; make workers import them.
CELERY_IMPORTS = (*globals().get("CELERY_IMPORTS", ()), "marketplace.vendor_api.tasks")

# Metered sessions (marketplace.services.sessions).
SESSION_BLOCK_SECONDS = env.int("SESSION_BLOCK_SECONDS", default=300)
SESSION_BLOCK_CALLS = env.int("SESSION_BLOCK_CALLS", default=100)
SESSION_HEARTBEAT_TIMEOUT_SECONDS = env.int("SESSION_HEARTBEAT_TIMEOUT_SECONDS", default=120)
SESSION_LOW_BALANCE_MINUTES = env.int("SESSION_LOW_BALANCE_MINUTES", default=10)
# How long a user's session grant (consent for a vendor to start one session) is valid.
SESSION_GRANT_SECONDS = env.int("SESSION_GRANT_SECONDS", default=900)
CELERY_BEAT_SCHEDULE.update(
    {
        "vendor-sessions-close-stale": {
            "task": "marketplace.vendor_api.tasks.sessions_close_stale",
            "schedule": timedelta(minutes=1),
        },
    }
)
