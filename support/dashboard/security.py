"""The security panel: locks held, refusals by kind over time, failed sign-ins and lockouts,
one-time-code abuse, webhook signature failures, throttle and rate-limit blocks by kind
over time, API key usage by key.

Blocks and key usage come from flexpass.tallies (Redis hashes per minute and hour,
written where each refusal happens and where the vendor API authenticates a key):
one pipelined Redis round trip each, no query."""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from flexpass import tallies
from support.models import SecurityEvent, SecurityEventKind
from support.services.security import locked_accounts

HOURS = 24
CODE_KINDS = (
    SecurityEventKind.LOGIN_CODE_REJECTED,
    SecurityEventKind.VERIFICATION_CODE_REJECTED,
    SecurityEventKind.RESET_CODE_REJECTED,
)


def advisory_locks() -> dict:
    """Locks held right now: flexpass.locks keys in Redis (with time left) and PostgreSQL's."""
    redis_locks = None
    if hasattr(cache, "iter_keys"):
        redis_locks = []
        for key in cache.iter_keys("lock:*"):
            if key.endswith(":lock"):
                continue
            redis_locks.append({"key": key.removeprefix("lock:"), "ttl": cache.ttl(key)})
            if len(redis_locks) >= 50:
                break
    postgres = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            postgres = cursor.fetchone()[0]
    return {"redis": redis_locks, "postgres": postgres}


BLOCK_LABELS = {
    tallies.REFUSAL_API_THROTTLE: "API throttle (429)",
    tallies.REFUSAL_API_KEY: "Vendor API key rate limit",
    tallies.REFUSAL_FLASH_HOLD: "Flash-sale hold throttle",
    tallies.REFUSAL_SIGN_IN: "Sign-in / code rate limit",
}


def _last_hours(now) -> list:
    """The last HOURS hours in the site's time zone, oldest first, the current one last
    (like TruncHour's: IST hours start at :30 UTC)."""
    start = timezone.localtime(now - timedelta(hours=HOURS - 1)).replace(
        minute=0, second=0, microsecond=0
    )
    return [start + timedelta(hours=step) for step in range(HOURS)]


def blocks_over_time(*, now=None) -> dict:
    """Throttle and rate-limit refusals per hour and kind over the last day."""
    now = now or timezone.now()
    hours = _last_hours(now)
    series: dict[str, list[int]] = {}
    for position, counts in enumerate(tallies.tally_hours("refusals", hours)):
        for kind, count in counts.items():
            label = BLOCK_LABELS.get(kind, kind.replace("_", " ").capitalize())
            series.setdefault(label, [0] * HOURS)[position] += count
    return {
        "labels": [hour.strftime("%H:00") for hour in hours],
        "series": [{"label": label, "data": data} for label, data in sorted(series.items())],
        "totals": {label: sum(data) for label, data in sorted(series.items())},
        "total": sum(sum(data) for data in series.values()),
    }


def events_over_time(*, now=None) -> dict:
    """Refusals per hour and kind over the last day: sign-in failures, lockouts, wrong codes,
    webhook signature failures (two queries)."""
    from billing.models import WebhookEvent

    now = now or timezone.now()
    hours = _last_hours(now)
    start = hours[0]
    index = {hour: position for position, hour in enumerate(hours)}
    series: dict[str, list[int]] = {}
    labels = dict(SecurityEventKind.choices)
    rows = (
        SecurityEvent.objects.filter(created_at__gte=start)
        .exclude(kind=SecurityEventKind.ACCOUNT_UNLOCKED)
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        position = index.get(row["hour"])
        if position is None:
            continue
        series.setdefault(labels[row["kind"]], [0] * HOURS)[position] += row["n"]
    webhook_rows = (
        WebhookEvent.objects.filter(signature_valid=False, received_at__gte=start)
        .annotate(hour=TruncHour("received_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in webhook_rows:
        position = index.get(row["hour"])
        if position is not None:
            series.setdefault("Webhook signature failures", [0] * HOURS)[position] += row["n"]
    return {
        "labels": [hour.strftime("%H:00") for hour in hours],
        "series": [{"label": label, "data": data} for label, data in sorted(series.items())],
        "totals": {label: sum(data) for label, data in series.items()},
    }


def failed_logins(*, now=None, limit: int = 10) -> list[dict]:
    now = now or timezone.now()
    return list(
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.LOGIN_FAILED, created_at__gte=now - timedelta(hours=HOURS)
        )
        .exclude(email="")
        .values("email")
        .annotate(failures=Count("pk"), last=Max("created_at"), ips=Count("ip", distinct=True))
        .order_by("-failures", "-last")[:limit]
    )


def code_abuse(*, now=None, limit: int = 10) -> list[dict]:
    """People entering wrong one-time codes, most first (3 or more is flagged)."""
    now = now or timezone.now()
    return list(
        SecurityEvent.objects.filter(
            kind__in=CODE_KINDS, created_at__gte=now - timedelta(hours=HOURS)
        )
        .values("email", "kind")
        .annotate(rejected=Count("pk"), last=Max("created_at"))
        .order_by("-rejected", "-last")[:limit]
    )


def webhook_failures(*, now=None, limit: int = 5) -> dict:
    from billing.models import WebhookEvent

    now = now or timezone.now()
    failures = WebhookEvent.objects.filter(
        signature_valid=False, received_at__gte=now - timedelta(hours=HOURS)
    )
    return {
        "count": failures.count(),
        "latest": list(
            failures.order_by("-id").values(
                "id", "gateway", "event_type", "remote_addr", "received_at"
            )[:limit]
        ),
    }


def throttle_rows(*, limit: int = 5) -> list[dict]:
    """Flash-sale refusals by item (all time): anti-bot throttle blocks and oversell attempts."""
    from flashsale.models import SaleCounter, SaleItem
    from flashsale.selectors import item_related

    rows = list(
        SaleCounter.objects.values("item_id", "name")
        .annotate(total=Sum("value"))
        .filter(total__gt=0)
        .order_by("-total", "item_id")[:limit]
    )
    items = SaleItem.objects.select_related(*item_related()).in_bulk(
        [row["item_id"] for row in rows]
    )
    for row in rows:
        item = items.get(row["item_id"])
        row["item_name"] = item.name if item else f"Item #{row['item_id']}"
    return rows


def _spark(values: list[int], *, width: int = 96, height: int = 22) -> list[dict]:
    """Bars of a tiny inline chart (one per hour), scaled to the busiest hour; an empty
    hour is a 1-pixel tick, so the day's frame shows even for a key used once."""
    top = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = []
    for position, value in enumerate(values):
        tall = max(1.0, round(value / top * height, 1)) if value else 1
        bars.append(
            {"x": round(position * step, 1), "y": round(height - tall, 1), "h": tall, "n": value}
        )
    return bars


def api_keys(*, now=None, limit: int = 20) -> dict:
    """Vendor API keys, live and recently revoked: requests in the current rate window (the
    per-key sliding window's own count), requests and 429s over the last hour and day (with
    an hourly chart), last use, status."""
    from django.conf import settings
    from django.db.models import Q

    from flexpass.ratelimit import _local, _redis_client
    from marketplace.models import ApiKey

    now = now or timezone.now()
    keys = list(
        ApiKey.objects.select_related("vendor")
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gte=now - timedelta(days=7)))
        .order_by(models_nulls_last("last_used_at"), "-id")[:limit]
    )
    window = settings.VENDOR_API_RATE_WINDOW_SECONDS
    since_ms = int((now.timestamp() - window) * 1000)
    client = _redis_client()
    if client is not None and keys:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.zcount(cache.make_key(f"ratelimit:apikey:{key.pk}"), since_ms, "+inf")
        counts = [int(count) for count in pipe.execute()]
    else:
        counts = [
            sum(1 for at in _local.get(f"apikey:{key.pk}", ()) if at > since_ms) for key in keys
        ]
    hours = _last_hours(now)
    by_hour = tallies.tally_hours("apikey", hours) if keys else []
    last_hour = tallies.tally_minutes("apikey", minutes=60, at=now) if keys else {}
    rows = []
    for key, used in zip(keys, counts, strict=True):
        hourly = [counts_in_hour.get(str(key.pk), 0) for counts_in_hour in by_hour]
        if key.revoked_at:
            state = "revoked"
        elif key.expires_at and key.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        rows.append(
            {
                "id": key.pk,
                "vendor": key.vendor.business_name,
                "masked": key.masked,
                "name": key.name,
                "mode": key.mode,
                "state": state,
                "last_used_at": key.last_used_at,
                "window_requests": used,
                "hour_requests": last_hour.get(str(key.pk), 0),
                "hour_refused": last_hour.get(f"{key.pk}:429", 0),
                "day_requests": sum(hourly),
                "day_refused": sum(row.get(f"{key.pk}:429", 0) for row in by_hour),
                "spark": _spark(hourly),
            }
        )
    return {
        "available": True,
        "keys": rows,
        "limit": settings.VENDOR_API_RATE_LIMIT,
        "window_seconds": window,
    }


def models_nulls_last(field: str):
    from django.db.models import F

    return F(field).desc(nulls_last=True)


def security(*, now=None) -> dict:
    now = now or timezone.now()

    over_time = events_over_time(now=now)
    labels = dict(SecurityEventKind.choices)
    return {
        "locks": advisory_locks(),
        "over_time": over_time,
        "failed_total": over_time["totals"].get(labels[SecurityEventKind.LOGIN_FAILED], 0),
        "code_total": sum(over_time["totals"].get(labels[kind], 0) for kind in CODE_KINDS),
        "failed_logins": failed_logins(now=now),
        "locked": locked_accounts(now=now),
        "code_abuse": code_abuse(now=now),
        "webhook_failures": webhook_failures(now=now),
        "throttle": throttle_rows(),
        "blocks": blocks_over_time(now=now),
        "api_keys": api_keys(now=now),
    }
