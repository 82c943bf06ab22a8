"""Pass bookkeeping: expiry (job and lazily on read) and "expiring soon" notices.

Correctness never waits for these: `Pass.objects.usable()` and
`Pass.effective_status()` read the clock. The job only makes the stored
status catch up, and is safe to run twice and late.
"""

from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from flexpass.realtime import broadcast_on_commit, user_group
from marketplace.models import (
    Pass,
    PassNotification,
    PassNotificationKind,
    PassStatus,
    PlanKind,
    Service,
)
from marketplace.services.usage import access_cache_drop_many_on_commit
from marketplace.services.webhooks import webhook_events_record
from support.services import notify

EXPIRE_BATCH = 1000


def _expire_overdue(*, now, owner_id: int | None, limit: int) -> int:
    """Expire up to `limit` overdue passes and write one pass.expired event each.

    One UPDATE .. RETURNING: a pass is in the returned rows only for the statement
    that moved it from active to expired. A concurrent run (the job and a lazy read,
    two jobs) waits on the row lock, re-checks `status = 'active'` on the committed
    row and skips it, so every pass yields exactly one event, written in the same
    transaction as its status change.
    """
    table = Pass._meta.db_table
    where = "status = %s AND expires_at <= %s"
    params: list = [PassStatus.ACTIVE, now]
    if owner_id is not None:
        where += " AND owner_id = %s"
        params.append(owner_id)
    # savepoint=False: inside a caller's transaction (a page read) this adds no
    # statements; on its own it is a transaction of its own.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, updated_at = %s "
                f"WHERE id IN (SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT %s) "
                f"AND status = %s AND expires_at <= %s "
                f"RETURNING id, token, service_id, plan_id, purchase_id, owner_id, expires_at, "
                f"is_test",
                [PassStatus.EXPIRED, now, *params, limit, PassStatus.ACTIVE, now],
            )
            rows = cursor.fetchall()
        if not rows:
            return 0
        vendors = dict(
            Service.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "vendor_id")
        )
        events = []
        tokens = []
        for pk, token, service_id, plan_id, purchase_id, _owner, expires_at, is_test in rows:
            tokens.append(token)
            if isinstance(expires_at, str):  # SQLite hands RETURNING values back raw (UTC)
                expires_at = parse_datetime(expires_at).replace(tzinfo=UTC)
            events.append(
                (
                    vendors[service_id],
                    "pass.expired",
                    {
                        "pass_id": pk,
                        "plan_id": plan_id,
                        "service_id": service_id,
                        "purchase_id": purchase_id,
                        "expired_at": expires_at,
                        "test": bool(is_test),
                    },
                )
            )
        webhook_events_record(events)
        access_cache_drop_many_on_commit(tokens)
    return len(rows)


def passes_expire(*, now=None, owner_id: int | None = None) -> int:
    """Mark passes whose time is up as expired and spent usage passes as used up.

    Conditional UPDATEs (status still active), so a run racing with another or
    with a refund's revocation changes nothing twice; every expired pass gets
    exactly one `pass.expired` webhook event, in the transaction that expired it.
    `owner_id` limits it to one person's passes (the lazy expiry done when their
    passes are read).
    """
    now = now or timezone.now()
    count = 0
    while True:
        done = _expire_overdue(now=now, owner_id=owner_id, limit=EXPIRE_BATCH)
        count += done
        if done < EXPIRE_BATCH:
            break
    used_up = Pass.objects.filter(status=PassStatus.ACTIVE, units_left=0)
    if owner_id is not None:
        used_up = used_up.filter(owner_id=owner_id)
    count += used_up.update(status=PassStatus.USED_UP, updated_at=now)
    return count


def passes_notify_expiring(*, now=None) -> int:
    """Record one "expiring soon" notice per time pass ending within the window.

    A pass already followed by a renewal (a pass on the same plan starting when
    it ends) gets no notice. The unique (pass, kind) constraint makes a second
    or racing run record nothing; the holder's browser hears about new notices
    after commit. Returns how many notices were recorded.
    """
    now = now or timezone.now()
    horizon = now + timedelta(minutes=settings.PASS_EXPIRING_SOON_MINUTES)
    renewal = Pass.objects.filter(
        owner_id=OuterRef("owner_id"),
        plan_id=OuterRef("plan_id"),
        status=PassStatus.ACTIVE,
        starts_at__gte=OuterRef("expires_at"),
    )
    notified = PassNotification.objects.filter(
        pass_obj_id=OuterRef("pk"), kind=PassNotificationKind.EXPIRING_SOON
    )
    due = (
        Pass.objects.usable(now)
        .filter(kind=PlanKind.TIME, expires_at__lte=horizon)
        .exclude(Exists(renewal))
        .exclude(Exists(notified))
        .select_related("service")
        .order_by("expires_at")
    )
    created = 0
    for pass_obj in due[:1000]:
        try:
            with transaction.atomic():
                PassNotification.objects.create(
                    pass_obj=pass_obj,
                    user_id=pass_obj.owner_id,
                    kind=PassNotificationKind.EXPIRING_SOON,
                    created_at=now,
                )
                broadcast_on_commit(
                    user_group(pass_obj.owner_id),
                    {
                        "type": "pass.expiring",
                        "pass_id": pass_obj.pk,
                        "service": pass_obj.service.name,
                        "expires_at": pass_obj.expires_at.isoformat(),
                    },
                )
                notify(
                    user=pass_obj.owner_id,
                    kind="pass_expiring",
                    title=f"Your {pass_obj.service.name} pass ends soon",
                    url=f"/services/{pass_obj.service.slug}/",
                    dedupe_key=f"pass_expiring:{pass_obj.pk}",
                )
        except IntegrityError:
            continue  # another run recorded it first
        created += 1
    return created
