"""Pass bookkeeping: expiry (job and lazily on read) and "expiring soon" notices.

Correctness never waits for these: `Pass.objects.usable()` and
`Pass.effective_status()` read the clock. The job only makes the stored
status catch up, and is safe to run twice and late.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from flexpass.realtime import broadcast_on_commit, user_group
from marketplace.models import (
    Pass,
    PassNotification,
    PassNotificationKind,
    PassStatus,
    PlanKind,
)
from support.services import notify


def passes_expire(*, now=None, owner_id: int | None = None) -> int:
    """Mark passes whose time is up as expired and spent usage passes as used up.

    Conditional UPDATEs (status still active), so a run racing with another or
    with a refund's revocation changes nothing twice. `owner_id` limits it to
    one person's passes (the lazy expiry done when their passes are read).
    """
    now = now or timezone.now()
    expired = Pass.objects.overdue(now)
    used_up = Pass.objects.filter(status=PassStatus.ACTIVE, units_left=0)
    if owner_id is not None:
        expired = expired.filter(owner_id=owner_id)
        used_up = used_up.filter(owner_id=owner_id)
    count = expired.update(status=PassStatus.EXPIRED, updated_at=now)
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
