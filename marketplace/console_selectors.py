"""Reads for the vendor console (/vendor/): earnings, passes and usage, deliveries, keys.

Every function is scoped to one vendor and runs a fixed number of queries,
whatever the vendor's size (lists are paginated or capped). Earnings come from
the ledger: the postings on the vendor's payable account, so the figures are
exactly what the vendor was credited (purchases, metered sessions, flash sales)
minus what refunds took back.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import BigIntegerField, Count, F, Min, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from marketplace.models import (
    ApiKey,
    MeteredSession,
    Pass,
    Plan,
    PlanKind,
    Purchase,
    Refund,
    Service,
    UsageEvent,
    VendorProfile,
    WebhookDelivery,
    WebhookEndpoint,
)
from wallet.models import AccountKind, EntryKind, LedgerAccount, Posting
from wallet.services import vendor_payable_account

EARNINGS_DAYS = 30
CHART_HEIGHT = 48  # of the 50-unit-high viewBox; one unit of margin at the top and bottom
PASSES_PAGE_SIZE = 20
USAGE_RECENT = 20
DELIVERIES_PAGE_SIZE = 25
OTHER = "Other (flash sales, adjustments)"


def mask_email(email: str) -> str:
    """'asha.k@example.com' -> 'a•••k@example.com': enough to recognise, not to contact."""
    local, _, domain = email.partition("@")
    shown = local[:1] + "•••" if len(local) <= 2 else f"{local[0]}•••{local[-1]}"
    return f"{shown}@{domain}" if domain else shown


# --- earnings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayBar:
    day: date
    paise: int
    height: float  # percent of the tallest day
    x: float  # left edge in the chart's 0 0 100 50 viewBox
    width: float
    y: float
    h: float  # drawn height; a sliver for an empty day


@dataclass(frozen=True)
class ServiceShare:
    name: str
    paise: int
    percent: float  # of the largest service, for the bar


@dataclass(frozen=True)
class HeldEarnings:
    """The vendor's share of sales still inside the refund window, less what refunds took."""

    paise: int
    first_release_at: datetime | None  # when the oldest held sale leaves the window

    def of(self, payable_paise: int) -> int:
        """Held out of this payable: never more than it (money moved before a refund)."""
        return min(self.paise, max(payable_paise, 0))


def earnings_held(
    *, vendor: VendorProfile, now=None, excluding_purchase: int | None = None
) -> HeldEarnings:
    """What `earnings_to_wallet` will not move yet. One query.

    `excluding_purchase`: held for the vendor's other sales (a refund of that one).
    """
    now = now or timezone.now()
    hold = timedelta(hours=settings.EARNINGS_HOLD_HOURS)
    taken_back = (
        Refund.objects.filter(purchase=OuterRef("pk"))
        .values("purchase")
        .annotate(total=Sum("vendor_reversed_paise"))
        .values("total")
    )
    sales = (
        Purchase.objects.filter(vendor=vendor, created_at__gt=now - hold)
        .exclude(refunded_paise=F("price_paise"))  # refunded in full: nothing left to hold
        .exclude(pk=excluding_purchase)
        .aggregate(
            share=Sum(F("vendor_share_paise") - Coalesce(Subquery(taken_back), 0)),
            oldest=Min("created_at"),
        )
    )
    if (sales["share"] or 0) <= 0:
        return HeldEarnings(paise=0, first_release_at=None)
    return HeldEarnings(paise=sales["share"], first_release_at=sales["oldest"] + hold)


@dataclass(frozen=True)
class Earnings:
    payable_paise: int
    held: HeldEarnings  # part of the payable that cannot be moved yet
    total_paise: int  # over the window
    days: list[DayBar]
    by_service: list[ServiceShare]
    since: date
    until: date

    @property
    def held_paise(self) -> int:
        return self.held.of(self.payable_paise)

    @property
    def movable_paise(self) -> int:
        return max(self.payable_paise - self.held_paise, 0)

    @property
    def is_empty(self) -> bool:
        return not any(bar.paise for bar in self.days)


def _payable(vendor: VendorProfile) -> LedgerAccount:
    return vendor_payable_account(vendor.user)


def vendor_earnings(
    *, vendor: VendorProfile, days: int = EARNINGS_DAYS, today: date | None = None
) -> Earnings:
    """Payable balance, earnings per day and per service over the last `days` days.

    Four queries: the payable account, postings per day, postings per service, and
    the held earnings (earnings_held).
    A posting's service is the purchase's (purchases carry it in the entry's
    metadata), the refunded purchase's, or the metered session's plan's.
    """
    tz = timezone.get_current_timezone()
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(since, time.min), tz)
    payable = _payable(vendor)
    # Money the vendor moved to their wallet left the payable but is not negative earnings.
    postings = Posting.objects.filter(account=payable, created_at__gte=start).exclude(
        entry__kind=EntryKind.EARNINGS
    )

    per_day = dict(
        postings.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(total=Sum("amount_paise"))
        .values_list("day", "total")
    )
    tallest = max([v for v in per_day.values() if v > 0], default=0)
    bars = []
    for i in range(days):
        day = since + timedelta(days=i)
        paise = per_day.get(day, 0)
        height = round(100 * max(paise, 0) / tallest, 2) if tallest else 0.0
        drawn = max(round(CHART_HEIGHT * height / 100, 3), 0.6)
        bars.append(
            DayBar(
                day=day,
                paise=paise,
                height=height,
                x=round(100 * i / days + 0.15 * 100 / days, 3),
                width=round(0.7 * 100 / days, 3),
                y=round(CHART_HEIGHT + 1 - drawn, 3),
                h=drawn,
            )
        )

    by_service = _earnings_by_service(postings)
    largest = max([s for _, s in by_service if s > 0], default=0)
    shares = [
        ServiceShare(
            name=name,
            paise=paise,
            percent=round(100 * max(paise, 0) / largest, 1) if largest else 0.0,
        )
        for name, paise in by_service
    ]
    return Earnings(
        payable_paise=payable.balance_paise,
        held=earnings_held(vendor=vendor),
        total_paise=sum(per_day.values()),
        days=bars,
        by_service=shares,
        since=since,
        until=today,
    )


@dataclass(frozen=True)
class EarningsMoveRow:
    entry_id: int
    amount_paise: int
    created_at: datetime
    by_staff: bool


def vendor_earnings_moves(*, vendor: VendorProfile, limit: int = 5) -> list[EarningsMoveRow]:
    """The vendor's latest moves from payable to wallet, newest first. One query."""
    rows = (
        Posting.objects.filter(
            account__owner_id=vendor.user_id,
            account__kind=AccountKind.VENDOR_PAYABLE,
            entry__kind=EntryKind.EARNINGS,
        )
        .select_related("entry")
        .order_by("-pk")[:limit]
    )
    return [
        EarningsMoveRow(
            entry_id=p.entry_id,
            amount_paise=-p.amount_paise,
            created_at=p.entry.created_at,
            by_staff=p.entry.acting_user_id not in (None, vendor.user_id),
        )
        for p in rows
    ]


def _earnings_by_service(postings) -> list[tuple[str, int]]:
    """[(service name, paise)], largest first; postings with no service go under OTHER."""

    def metadata_int(key: str):
        # purchases: {"service"}, refunds: {"purchase"}, metered sessions: {"session"}
        return Cast(KeyTextTransform(key, "entry__metadata"), BigIntegerField())

    refunded = Purchase.objects.filter(pk=OuterRef("purchase_ref")).values("service_id")[:1]
    session = MeteredSession.objects.filter(pk=OuterRef("session_ref")).values("plan__service_id")
    rows = (
        postings.annotate(
            service_ref=metadata_int("service"),
            purchase_ref=metadata_int("purchase"),
            session_ref=metadata_int("session"),
        )
        .annotate(
            service_id=Coalesce(
                "service_ref",
                Subquery(refunded),
                Subquery(session[:1]),
                output_field=BigIntegerField(),
            )
        )
        .values("service_id")
        .annotate(total=Sum("amount_paise"))
        .values_list("service_id", "total")
    )
    totals = dict(rows)
    names = dict(
        Service.objects.filter(pk__in=[pk for pk in totals if pk is not None]).values_list(
            "pk", "name"
        )
    )
    result = [(names.get(pk, OTHER) if pk else OTHER, paise) for pk, paise in totals.items()]
    merged: dict[str, int] = {}
    for name, paise in result:
        merged[name] = merged.get(name, 0) + paise
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))


# --- overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    services: dict  # counts by status
    active_passes: int
    usage_today: int
    failed_deliveries: int
    live_keys: int


def vendor_overview(*, vendor: VendorProfile) -> Overview:
    """Headline counts for the console's first page (five small queries)."""
    now = timezone.now()
    counts = Service.objects.filter(vendor=vendor).aggregate(
        live=Count("pk", filter=Q(status="live")),
        draft=Count("pk", filter=Q(status="draft")),
        paused=Count("pk", filter=Q(status="paused")),
    )
    start_of_day = timezone.make_aware(
        datetime.combine(timezone.localdate(), time.min), timezone.get_current_timezone()
    )
    return Overview(
        services=counts,
        active_passes=Pass.objects.usable(now)
        .filter(service__vendor=vendor, is_test=False)
        .count(),
        usage_today=UsageEvent.objects.filter(
            vendor=vendor, created_at__gte=start_of_day
        ).aggregate(total=Coalesce(Sum("units"), 0))["total"],
        failed_deliveries=WebhookDelivery.objects.filter(
            endpoint__vendor=vendor, status="failed"
        ).count(),
        live_keys=ApiKey.objects.usable(now).filter(vendor=vendor).count(),
    )


# --- services and plans -------------------------------------------------------------------


def vendor_services(*, vendor: VendorProfile) -> list[Service]:
    """The vendor's services with their plans (two queries)."""
    return list(
        Service.objects.filter(vendor=vendor)
        .select_related("category")
        .prefetch_related("plans")
        .order_by("name", "pk")
    )


def vendor_service(*, vendor: VendorProfile, service_id: int) -> Service:
    """One of the vendor's services with its plans, for its row in the list (two queries)."""
    return (
        Service.objects.filter(vendor=vendor, pk=service_id)
        .select_related("category")
        .prefetch_related("plans")
        .get()
    )


# --- passes and usage ---------------------------------------------------------------------


def vendor_active_passes(*, vendor: VendorProfile, page: int = 1) -> Page:
    """Passes usable right now on the vendor's services, soonest to end first (two queries)."""
    passes = (
        Pass.objects.usable()
        .filter(service__vendor=vendor)
        .select_related("owner", "plan", "service")
        .order_by("expires_at", "-pk")
    )
    return Paginator(passes, PASSES_PAGE_SIZE).get_page(page)


def vendor_recent_usage(*, vendor: VendorProfile, limit: int = USAGE_RECENT) -> list[UsageEvent]:
    return list(
        UsageEvent.objects.filter(vendor=vendor)
        .select_related("pass_obj__owner", "pass_obj__plan", "pass_obj__service")
        .order_by("-pk")[:limit]
    )


def pass_time_left(pass_obj: Pass, now=None) -> timedelta | None:
    if pass_obj.expires_at is None:
        return None
    return max(pass_obj.expires_at - (now or timezone.now()), timedelta(0))


# --- webhooks -----------------------------------------------------------------------------


def vendor_endpoints(*, vendor: VendorProfile) -> list[WebhookEndpoint]:
    return list(
        WebhookEndpoint.objects.filter(vendor=vendor).annotate(
            failed=Count("deliveries", filter=Q(deliveries__status="failed")),
            delivered=Count("deliveries", filter=Q(deliveries__status="delivered")),
        )
    )


def vendor_deliveries(
    *, vendor: VendorProfile, endpoint_id: int | None = None, status: str = "", page: int = 1
) -> Page:
    """The delivery log, newest first, each with its attempts (three queries a page)."""
    deliveries = (
        WebhookDelivery.objects.filter(endpoint__vendor=vendor)
        .select_related("endpoint")
        .prefetch_related("log")
        .order_by("-pk")
    )
    if endpoint_id:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status:
        deliveries = deliveries.filter(status=status)
    result = Paginator(deliveries, DELIVERIES_PAGE_SIZE).get_page(page)
    result.object_list = list(result.object_list)
    for delivery in result.object_list:
        attempts = delivery.log.all()  # prefetched, oldest first
        delivery.last_attempt = attempts[len(attempts) - 1] if attempts else None
    return result


# --- keys ---------------------------------------------------------------------------------


def vendor_keys(*, vendor: VendorProfile) -> list[ApiKey]:
    return list(ApiKey.objects.filter(vendor=vendor).order_by("revoked_at", "-pk"))


def vendor_test_plans(*, vendor: VendorProfile) -> list[Plan]:
    """Plans a test pass can be minted on (time and usage)."""
    return list(
        Plan.objects.filter(service__vendor=vendor, kind__in=[PlanKind.TIME, PlanKind.USAGE])
        .select_related("service")
        .order_by("service__name", "position", "pk")
    )
