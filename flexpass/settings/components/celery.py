"""Celery: Redis broker in full mode, eager in embedded mode. The beat schedule lives here."""

from datetime import timedelta

import environ

env = environ.Env()
_redis = env.str("REDIS_URL", default="")
_embedded = not (env.str("DATABASE_URL", default="") or _redis)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_redis or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = _embedded
CELERY_TASK_EAGER_PROPAGATES = _embedded
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Kolkata"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Every job is safe to run twice and safe to run late. Apps add their jobs here;
# in embedded mode flexpass.ticker runs the same schedule on the server loop.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "heartbeat": {"task": "flexpass.tasks.heartbeat", "schedule": timedelta(seconds=60)},
    "idempotency-purge": {
        "task": "flexpass.tasks.idempotency_purge",
        "schedule": timedelta(hours=1),
    },
    "wallet-expire-reservations": {
        "task": "wallet.tasks.reservations_expire",
        "schedule": timedelta(seconds=60),
    },
    "wallet-seal-ledger": {"task": "wallet.tasks.ledger_seal", "schedule": timedelta(seconds=30)},
    "wallet-check-ledger": {"task": "wallet.tasks.ledger_check", "schedule": timedelta(minutes=10)},
    "billing-reconcile-topups": {
        "task": "billing.tasks.topups_reconcile",
        "schedule": timedelta(minutes=2),
    },
}
