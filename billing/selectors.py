"""Reads shared by billing's pages, API and admin."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from billing.errors import TopUpNotFound
from billing.models import TopUp, Withdrawal


def topups_for_user(*, user, limit: int | None = None):
    qs = TopUp.objects.filter(user=user).order_by("-id")
    return qs[:limit] if limit else qs


def access_topup(*, user, topup_id) -> TopUp:
    """The user's own top-up, or TopUpNotFound (someone else's looks the same as none)."""
    try:
        return TopUp.objects.get(pk=int(topup_id), user=user)
    except (TopUp.DoesNotExist, TypeError, ValueError) as exc:
        raise TopUpNotFound("No such top-up.") from exc


def topup_by_order_id(order_id: str) -> TopUp | None:
    if not order_id:
        return None
    return TopUp.objects.select_related("user").filter(gateway_order_id=order_id).first()


def day_start(now: datetime | None = None) -> datetime:
    """Midnight today in the site's time zone (Asia/Kolkata): the daily limit resets then."""
    local = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(local.date(), time.min), local.tzinfo)


def topup_total_today(*, user, now: datetime | None = None) -> int:
    """What the user asked to add today, whatever became of it: a failed or expired top-up's
    gateway order can still be paid, and a late capture is credited (reconciliation), so
    leaving those out let a day's top-ups pass the daily limit."""
    start = day_start(now)
    total = (
        TopUp.objects.filter(
            user=user,
            created_at__gte=start,
            created_at__lt=start + timedelta(days=1),
        ).aggregate(total=Sum("amount_paise"))["total"]
        or 0
    )
    return int(total)


def topup_limits(*, user) -> dict[str, int]:
    used = topup_total_today(user=user)
    daily = settings.TOPUP_DAILY_MAX_PAISE
    return {
        "min_paise": settings.TOPUP_MIN_PAISE,
        "max_paise": settings.TOPUP_MAX_PAISE,
        "daily_max_paise": daily,
        "used_today_paise": used,
        "left_today_paise": max(0, daily - used),
    }


def withdrawals_for_user(*, user, limit: int | None = None):
    qs = Withdrawal.objects.filter(user=user).order_by("-id")
    return qs[:limit] if limit else qs
