"""Reads shared by the pages, the API, the consumer and the admin.

`access_*` functions fetch one thing the caller may see (someone else's hold is
"not found", never "forbidden": its id tells nothing). Stock reads call
`services.holds_expire_overdue` first where the page shows stock, so an
expired hold's units are back before anyone looks.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMinute
from django.utils import timezone

from flashsale.errors import (
    HoldNotFound,
    ItemNotFound,
    OrderNotFound,
    PaymentNotFound,
    SaleNotFound,
)
from flashsale.models import (
    CounterName,
    EventKind,
    FlashOrder,
    FlashPayment,
    FlashSale,
    Hold,
    InventoryEvent,
    SaleCounter,
    SaleItem,
    WaitlistEntry,
    WaitlistStatus,
)

LOW_STOCK_PERCENT = 20
# What an item's name, price and seller need, for a product or a marketplace plan.
ITEM_RELATED = ("sale", "product__vendor__profile", "plan__service__vendor")


def item_related(prefix: str = "") -> list[str]:
    return [prefix + path for path in ITEM_RELATED]


def stock_state(available: int, total: int) -> str:
    if available <= 0:
        return "sold_out"
    if total and available * 100 <= total * LOW_STOCK_PERCENT:
        return "low"
    return "in_stock"


def stock_row(item_id: int, available: int, total: int) -> dict:
    """What a stock bar needs: the same shape on the page, in the API and over the socket."""
    return {
        "id": item_id,
        "available": available,
        "total": total,
        "percent": round(100 * available / total) if total else 0,
        "state": stock_state(available, total),
    }


def item_stock_row(item_id: int) -> dict | None:
    row = SaleItem.objects.filter(pk=item_id).values_list("available", "total").first()
    return stock_row(item_id, *row) if row else None


def sale_stock_rows(sale_id: int) -> list[dict] | None:
    """Every item's stock in one query; None when the sale does not exist or is a draft."""
    rows = list(
        SaleItem.objects.filter(sale_id=sale_id)
        .exclude(sale__status="draft")
        .order_by("position", "pk")
        .values_list("pk", "available", "total")
    )
    if not rows and not FlashSale.objects.filter(pk=sale_id).exclude(status="draft").exists():
        return None
    return [stock_row(*row) for row in rows]


# --- sales and items ------------------------------------------------------------------------


def _items_prefetch() -> Prefetch:
    return Prefetch(
        "items",
        queryset=SaleItem.objects.select_related(*item_related()).order_by("position", "pk"),
    )


def storefront_sales(*, now: datetime | None = None) -> list[FlashSale]:
    """Published sales not yet ended, with their items: two queries."""
    now = now or timezone.now()
    return list(FlashSale.objects.storefront(now).prefetch_related(_items_prefetch()))


def sale_access(*, sale_id: int) -> FlashSale:
    sale = (
        FlashSale.objects.exclude(status="draft")
        .prefetch_related(_items_prefetch())
        .filter(pk=sale_id)
        .first()
    )
    if sale is None:
        raise SaleNotFound(f"There is no flash sale #{sale_id}.")
    return sale


def item_access(*, item_id: int) -> SaleItem:
    item = (
        SaleItem.objects.select_related(*item_related())
        .exclude(sale__status="draft")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise ItemNotFound(f"There is no sale item #{item_id}.")
    return item


# --- holds, orders, waitlist ----------------------------------------------------------------


def _with_open_payment(holds):
    """Annotate `open_payment_pk`: the hold's mixed payment still open, in the same query."""
    from marketplace.models import ORDER_OPEN_STATES

    open_payments = FlashPayment.objects.filter(
        hold=OuterRef("pk"), status__in=ORDER_OPEN_STATES
    ).order_by("-pk")
    return holds.annotate(open_payment_pk=Subquery(open_payments.values("pk")[:1]))


def hold_access(*, user, hold_id: int) -> Hold:
    hold = (
        _with_open_payment(Hold.objects.select_related(*item_related("item__"), "order"))
        .filter(pk=hold_id, user=user)
        .first()
    )
    if hold is None:
        raise HoldNotFound(f"You have no hold #{hold_id}.")
    return hold


def user_open_holds(*, user, now: datetime | None = None) -> list[Hold]:
    if not user.is_authenticated:
        return []
    return list(
        Hold.objects.active(now)
        .filter(user=user)
        .select_related(*item_related("item__"))
        .order_by("expires_at")
    )


def user_holds(*, user, limit: int = 50) -> list[Hold]:
    return list(
        _with_open_payment(Hold.objects.filter(user=user))
        .select_related(*item_related("item__"), "order")
        .order_by("-created_at", "-pk")[:limit]
    )


def order_access(*, user, order_id: int) -> FlashOrder:
    order = (
        FlashOrder.objects.select_related(*item_related("item__"), "hold", "entry", "payment")
        .filter(pk=order_id, user=user)
        .first()
    )
    if order is None:
        raise OrderNotFound(f"You have no order #{order_id}.")
    return order


def payment_access(*, user, payment_id) -> FlashPayment:
    """The user's own mixed payment (someone else's is not found)."""
    try:
        payment_id = int(payment_id)
    except (TypeError, ValueError):
        raise PaymentNotFound("No such payment.") from None
    payment = (
        FlashPayment.objects.select_related("topup", *item_related("hold__item__"), "order")
        .filter(pk=payment_id, buyer=user)
        .first()
    )
    if payment is None:
        raise PaymentNotFound("No such payment.")
    return payment


def hold_open_payment(*, hold: Hold) -> FlashPayment | None:
    """The hold's mixed payment still waiting for its card part, if any."""
    from marketplace.models import ORDER_OPEN_STATES

    return (
        FlashPayment.objects.select_related("topup")
        .filter(hold=hold, status__in=ORDER_OPEN_STATES)
        .order_by("-pk")
        .first()
    )


def user_waitlist_positions(*, user, item_ids) -> dict[int, int]:
    """{item_id: 1-based place in line} for the listed items the user waits for. Two queries."""
    item_ids = list(item_ids)
    if not user.is_authenticated or not item_ids:
        return {}
    mine = list(
        WaitlistEntry.objects.filter(
            user=user, item_id__in=item_ids, status=WaitlistStatus.WAITING
        ).values_list("item_id", "created_at", "pk")
    )
    if not mine:
        return {}
    ahead_or_me = Q()
    for item_id, created_at, pk in mine:
        ahead_or_me |= Q(item_id=item_id) & (
            Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lte=pk)
        )
    rows = (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING)
        .filter(ahead_or_me)
        .values("item_id")
        .annotate(place=Count("pk"))
    )
    return {row["item_id"]: row["place"] for row in rows}


# --- metrics (admin) ------------------------------------------------------------------------


@dataclass
class ItemFigures:
    item: SaleItem
    total: int
    available: int
    pending_holds: int
    pending_units: int
    confirmed_units: int
    expired_units: int
    released_units: int
    oversell_blocked: int
    throttle_blocked: int


@dataclass
class SaleFigures:
    holds_created: int
    holds_expired: int
    holds_released: int
    confirmed_orders: int
    units_sold: int
    oversell_blocked: int
    throttle_blocked: int
    revenue_paise: int
    items: list[ItemFigures]


def sale_figures(*, sale: FlashSale | None = None, now: datetime | None = None) -> SaleFigures:
    """Holds, orders and refusals for one sale (or all), from events, holds and counters."""
    now = now or timezone.now()
    items = SaleItem.objects.select_related(*item_related()).order_by("sale_id", "position", "pk")
    if sale is not None:
        items = items.filter(sale=sale)
    items = list(items)
    item_ids = [item.pk for item in items]

    events = {
        (row["item_id"], row["kind"]): (row["n"], row["units"])
        for row in InventoryEvent.objects.filter(item_id__in=item_ids)
        .values("item_id", "kind")
        .annotate(n=Count("pk"), units=Coalesce(Sum("delta"), 0))
    }
    pending = {
        row["item_id"]: (row["n"], row["units"])
        for row in Hold.objects.active(now)
        .filter(item_id__in=item_ids)
        .values("item_id")
        .annotate(n=Count("pk"), units=Sum("quantity"))
    }
    confirmed = {
        row["item_id"]: (row["n"], row["units"], row["paid"])
        for row in FlashOrder.objects.filter(item_id__in=item_ids)
        .values("item_id")
        .annotate(n=Count("pk"), units=Sum("quantity"), paid=Sum("amount_paise"))
    }
    counters = {
        (row["item_id"], row["name"]): row["value"]
        for row in SaleCounter.objects.filter(item_id__in=item_ids)
        .values("item_id", "name")
        .annotate(value=Sum("value"))
    }

    figures = []
    for item in items:
        figures.append(
            ItemFigures(
                item=item,
                total=item.total,
                available=item.available,
                pending_holds=pending.get(item.pk, (0, 0))[0],
                pending_units=pending.get(item.pk, (0, 0))[1],
                confirmed_units=confirmed.get(item.pk, (0, 0, 0))[1],
                expired_units=events.get((item.pk, EventKind.HOLD_EXPIRED), (0, 0))[1],
                released_units=events.get((item.pk, EventKind.HOLD_RELEASED), (0, 0))[1],
                oversell_blocked=counters.get((item.pk, CounterName.OVERSELL_BLOCKED), 0),
                throttle_blocked=counters.get((item.pk, CounterName.THROTTLE_BLOCKED), 0),
            )
        )

    def count(kind):
        return sum(n for (_, k), (n, _) in events.items() if k == kind)

    return SaleFigures(
        holds_created=count(EventKind.HOLD_CREATED),
        holds_expired=count(EventKind.HOLD_EXPIRED),
        holds_released=count(EventKind.HOLD_RELEASED),
        confirmed_orders=sum(row[0] for row in confirmed.values()),
        units_sold=sum(row[1] for row in confirmed.values()),
        oversell_blocked=sum(f.oversell_blocked for f in figures),
        throttle_blocked=sum(f.throttle_blocked for f in figures),
        revenue_paise=sum(row[2] for row in confirmed.values()),
        items=figures,
    )


def sold_vs_expired_per_minute(
    *, sale: FlashSale | None = None, now: datetime | None = None, minutes: int = 60
) -> dict:
    """Units sold and units expired per minute over the last `minutes`, zeros included."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes - 1)
    events = InventoryEvent.objects.filter(
        kind__in=[EventKind.SALE_CONFIRMED, EventKind.HOLD_EXPIRED], created_at__gte=start
    )
    if sale is not None:
        events = events.filter(item__sale=sale)
    rows = (
        events.annotate(minute=TruncMinute("created_at"))
        .values("minute", "kind")
        .annotate(units=Coalesce(Sum("hold__quantity"), 0))
    )
    sold: dict[datetime, int] = {}
    expired: dict[datetime, int] = {}
    for row in rows:
        target = sold if row["kind"] == EventKind.SALE_CONFIRMED else expired
        minute = row["minute"].replace(second=0, microsecond=0)
        target[minute] = target.get(minute, 0) + row["units"]
    labels, sold_series, expired_series = [], [], []
    for step in range(minutes):
        minute = start + timedelta(minutes=step)
        labels.append(timezone.localtime(minute).strftime("%H:%M"))
        sold_series.append(sold.get(minute, 0))
        expired_series.append(expired.get(minute, 0))
    return {"labels": labels, "sold": sold_series, "expired": expired_series}
