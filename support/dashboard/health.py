"""System health for the dashboard: dependencies, the task queue, periodic jobs, webhooks, ledger.

Reuses flexpass.health's readiness checks (database, cache, channel layer,
broker, each timed). A periodic job is late when it has not reported for more
than twice its interval plus a minute (jobs report through flexpass.jobs).
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from flexpass.health import run_readiness_checks
from flexpass.jobs import job_last_run

GRACE_SECONDS = 60


def _interval_seconds(schedule) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return schedule.run_every.total_seconds()


def broker_queue_length() -> int | None:
    """Messages waiting in the Celery queue (Redis broker), or None in embedded mode."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    from flexpass.celery import app

    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        return int(client.llen(app.conf.task_default_queue or "celery"))


def jobs(*, now: float | None = None) -> list[dict]:
    """Every beat entry: interval, seconds since it last reported, and ok / late / never."""
    now = now or time.time()
    rows = []
    for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items()):
        interval = _interval_seconds(entry["schedule"])
        last = job_last_run(name)
        age = None if last is None else max(0.0, now - last)
        if age is None:
            state = "never"
        elif age > 2 * interval + GRACE_SECONDS:
            state = "late"
        else:
            state = "ok"
        rows.append(
            {
                "name": name,
                "task": entry["task"],
                "interval_seconds": int(interval),
                "age_seconds": None if age is None else int(age),
                "state": state,
            }
        )
    return rows


def webhooks(*, now=None) -> dict:
    """Webhook backlogs: gateway events received but not processed, and vendor webhooks
    in the outbox still waiting for delivery (pending) or given up on (failed)."""
    from billing.models import WebhookEvent
    from marketplace.models import WebhookDelivery, WebhookDeliveryStatus

    now = now or timezone.now()
    incoming = WebhookEvent.objects.filter(
        signature_valid=True, processed_at__isnull=True
    ).aggregate(count=Count("pk"), oldest=Min("received_at"))
    outgoing = WebhookDelivery.objects.filter(
        status__in=[WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.FAILED]
    ).aggregate(
        pending=Count("pk", filter=Q(status=WebhookDeliveryStatus.PENDING)),
        failed=Count("pk", filter=Q(status=WebhookDeliveryStatus.FAILED)),
        oldest=Min("created_at", filter=Q(status=WebhookDeliveryStatus.PENDING)),
    )

    def age(moment):
        return int((now - moment).total_seconds()) if moment else None

    return {
        "backlog": incoming["count"] + outgoing["pending"],
        "incoming": incoming["count"],
        "incoming_oldest_age_seconds": age(incoming["oldest"]),
        "outgoing_pending": outgoing["pending"],
        "outgoing_failed": outgoing["failed"],
        "outgoing_oldest_age_seconds": age(outgoing["oldest"]),
    }


def health(*, now=None) -> dict:
    from wallet.selectors import ledger_health

    checks = run_readiness_checks()
    labels = {
        "database": "Database",
        "cache": "Cache (Redis)",
        "channel_layer": "Channel layer",
        "broker": "Celery broker",
    }
    for name, check in checks.items():
        check["label"] = labels.get(name, name.replace("_", " ").capitalize())
    try:
        queue_length = broker_queue_length()
        queue_error = None
    except Exception as exc:  # the broker being down is a finding, not a crash
        queue_length, queue_error = None, f"{type(exc).__name__}: {exc}"
    job_rows = jobs()
    return {
        "checks": checks,
        "all_ok": all(check["ok"] for check in checks.values()),
        "mode": "embedded" if settings.EMBEDDED else "full",
        "queue_length": queue_length,
        "queue_error": queue_error,
        "jobs": job_rows,
        "jobs_late": sum(1 for row in job_rows if row["state"] == "late"),
        "webhooks": webhooks(now=now),
        "ledger": ledger_health(),
    }
