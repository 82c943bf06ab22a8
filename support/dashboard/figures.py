"""The operator dashboard's business figures, read from the ledger and the apps' tables.

Definitions (what each number means, so it can be checked against the books):

* Revenue = money that reached the platform revenue ledger account(s): the net
  of their postings per day in the site's time zone (fees on purchases and
  flash-sale orders, minus reversals). By category = the journal entry's
  category (the service category for purchases, "flash-sale" for flash orders).
* Gross sales = the price of marketplace purchases (Purchase.price_paise).
* Wallet float = the sum of every user's available + reserved balance (money
  the platform holds for users); vendor payables are shown beside it.
* Pending withdrawals = withdrawals still under review, and their amount.

About a dozen queries whatever the data size (tests pin the bound).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from support.activity import activity_summary
from support.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    AgentStatus,
    Conversation,
    ConversationKind,
    CsatRating,
)

CHART_DAYS = 30


def _midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Window:
    today: object
    start_today: datetime
    start_7: datetime
    start_30: datetime


def window(now=None) -> Window:
    now = now or timezone.now()
    today = timezone.localdate(now)
    return Window(
        today=today,
        start_today=_midnight(today),
        start_7=_midnight(today - timedelta(days=6)),
        start_30=_midnight(today - timedelta(days=CHART_DAYS - 1)),
    )


def _label(category: str) -> str:
    return category.replace("-", " ").replace("_", " ").strip().capitalize() or "Other"


def revenue(*, now=None) -> dict:
    """Platform revenue today / 7 d / 30 d, per day and per category (one query)."""
    from wallet.models import AccountKind, Posting

    span = window(now)
    rows = (
        Posting.objects.filter(
            account__kind=AccountKind.PLATFORM_REVENUE,
            entry__created_at__gte=span.start_30,
        )
        .annotate(day=TruncDate("entry__created_at"))
        .values("day", "entry__category")
        .annotate(total=Sum("amount_paise"))
        .order_by()
    )
    days = [span.today - timedelta(days=CHART_DAYS - 1 - offset) for offset in range(CHART_DAYS)]
    index = {day: position for position, day in enumerate(days)}
    series: dict[str, list[int]] = {}
    today = last_7 = last_30 = 0
    for row in rows:
        if row["day"] not in index:
            continue
        category = row["entry__category"] or "other"
        series.setdefault(category, [0] * CHART_DAYS)[index[row["day"]]] += row["total"]
        last_30 += row["total"]
        if row["day"] >= span.today - timedelta(days=6):
            last_7 += row["total"]
        if row["day"] == span.today:
            today += row["total"]
    ordered = sorted(series.items(), key=lambda item: (-sum(item[1]), item[0]))
    return {
        "today_paise": today,
        "d7_paise": last_7,
        "d30_paise": last_30,
        "labels": [day.strftime("%d %b") for day in days],
        "by_day": [
            {"category": category, "label": _label(category), "data": data}
            for category, data in ordered
        ],
        "by_category": [
            {"category": category, "label": _label(category), "total": sum(data)}
            for category, data in ordered
        ],
    }


def purchases(*, now=None) -> dict:
    """Marketplace purchases and gross sales today / 7 d / 30 d (one query)."""
    from marketplace.models import Purchase

    span = window(now)
    figures = Purchase.objects.filter(created_at__gte=span.start_30).aggregate(
        today=Count("pk", filter=Q(created_at__gte=span.start_today)),
        d7=Count("pk", filter=Q(created_at__gte=span.start_7)),
        d30=Count("pk"),
        gross_today=Coalesce(Sum("price_paise", filter=Q(created_at__gte=span.start_today)), 0),
        gross_7=Coalesce(Sum("price_paise", filter=Q(created_at__gte=span.start_7)), 0),
        gross_30=Coalesce(Sum("price_paise"), 0),
    )
    return figures


def top_services(*, now=None, limit: int = 5) -> list[dict]:
    """The services that sold most over 30 days, by gross sales (one query)."""
    from marketplace.models import Purchase

    span = window(now)
    return list(
        Purchase.objects.filter(created_at__gte=span.start_30)
        .values("service_id", "service__name", "service__category__name")
        .annotate(
            purchases=Count("pk"),
            gross_paise=Sum("price_paise"),
            fee_paise=Sum("fee_paise"),
        )
        .order_by("-gross_paise", "service__name")[:limit]
    )


def balances() -> dict:
    """Wallet float (users' available + reserved) and vendor payables (one query)."""
    from wallet.models import AccountKind, LedgerAccount

    figures = LedgerAccount.objects.aggregate(
        available=Coalesce(Sum("balance_paise", filter=Q(kind=AccountKind.USER_AVAILABLE)), 0),
        reserved=Coalesce(Sum("balance_paise", filter=Q(kind=AccountKind.USER_RESERVED)), 0),
        payable=Coalesce(Sum("balance_paise", filter=Q(kind=AccountKind.VENDOR_PAYABLE)), 0),
    )
    figures["float"] = figures["available"] + figures["reserved"]
    return figures


def withdrawals_pending() -> dict:
    from billing.models import Withdrawal, WithdrawalStatus

    return Withdrawal.objects.filter(status=WithdrawalStatus.REQUESTED).aggregate(
        count=Count("pk"), amount_paise=Coalesce(Sum("amount_paise"), 0)
    )


def flash_summary(*, now=None) -> dict:
    """Live and upcoming sales, holds running now, today's orders, refusals (four queries)."""
    from flashsale.models import FlashOrder, FlashSale, Hold, SaleCounter, SaleStatus

    now = now or timezone.now()
    span = window(now)
    sales = FlashSale.objects.filter(status=SaleStatus.PUBLISHED).aggregate(
        live=Count("pk", filter=Q(starts_at__lte=now, ends_at__gt=now)),
        upcoming=Count("pk", filter=Q(starts_at__gt=now)),
    )
    holds = Hold.objects.active(now).aggregate(
        count=Count("pk"), units=Coalesce(Sum("quantity"), 0)
    )
    orders = FlashOrder.objects.filter(created_at__gte=span.start_today).aggregate(
        count=Count("pk"),
        units=Coalesce(Sum("quantity"), 0),
        amount_paise=Coalesce(Sum("amount_paise"), 0),
    )
    counters = dict(
        SaleCounter.objects.values("name").annotate(total=Sum("value")).values_list("name", "total")
    )
    return {
        "live": sales["live"],
        "upcoming": sales["upcoming"],
        "holds": holds["count"],
        "held_units": holds["units"],
        "orders_today": orders["count"],
        "units_today": orders["units"],
        "sales_today_paise": orders["amount_paise"],
        "oversell_blocked": counters.get("oversell_blocked", 0),
        "throttle_blocked": counters.get("throttle_blocked", 0),
    }


def support_summary(*, now=None) -> dict:
    """The support queue and CSAT per agent over 30 days (three queries)."""
    now = now or timezone.now()
    span = window(now)
    queue = Conversation.objects.filter(
        kind=ConversationKind.SUPPORT, status__in=ACTIVE_STATUSES
    ).aggregate(open=Count("pk"), waiting=Count("pk", filter=Q(assignee__isnull=True)))
    agents_online = AgentProfile.objects.filter(
        status=AgentStatus.ONLINE,
        last_seen_at__gte=now - timedelta(seconds=settings.SUPPORT_PRESENCE_SECONDS),
    ).count()
    ratings = list(
        CsatRating.objects.filter(created_at__gte=span.start_30)
        .values("agent_id", "agent__email", "agent__profile__display_name")
        .annotate(average=Avg("score"), ratings=Count("pk"))
        .order_by("-average", "-ratings")
    )
    for row in ratings:
        row["name"] = (
            row["agent__profile__display_name"]
            or (row["agent__email"] or "Unassigned").split("@")[0]
        )
        row["average"] = round(float(row["average"]), 2)
    total = sum(row["ratings"] for row in ratings)
    overall = (
        round(sum(row["average"] * row["ratings"] for row in ratings) / total, 2) if total else None
    )
    return {
        "open": queue["open"],
        "waiting": queue["waiting"],
        "agents_online": agents_online,
        "csat": ratings,
        "csat_overall": overall,
        "csat_count": total,
    }


def overview(*, now=None) -> dict:
    now = now or timezone.now()
    return {
        "now": now,
        "revenue": revenue(now=now),
        "purchases": purchases(now=now),
        "top_services": top_services(now=now),
        "balances": balances(),
        "withdrawals": withdrawals_pending(),
        "flash": flash_summary(now=now),
        "support": support_summary(now=now),
        "active": activity_summary(window_seconds=settings.ACTIVITY_WINDOW_SECONDS, now=now),
    }
