"""Marketplace reads shared by the pages and the API. Each list is a fixed number of queries."""

from dataclasses import dataclass

from django.db.models import Count, F, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from marketplace.errors import (
    OrderNotFound,
    PassNotFound,
    PlanNotFound,
    PurchaseNotFound,
    ServiceNotFound,
)
from marketplace.models import (
    Category,
    Order,
    Pass,
    PassStatus,
    Plan,
    PlanKind,
    Purchase,
    Service,
    ServiceStatus,
)

SORTS = {
    "popular": "Most popular",
    "price": "Price: low to high",
    "new": "Newest",
}
DEFAULT_SORT = "popular"
MAX_QUERY_LENGTH = 80

# --- catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogFilters:
    q: str = ""
    category: str = ""  # a category slug
    sort: str = DEFAULT_SORT
    kind: str = ""  # a plan kind: show services that sell it

    @classmethod
    def from_params(cls, params) -> "CatalogFilters":
        """Read filters from query parameters; anything unknown falls back to the default."""

        def param(name: str) -> str:  # PostgreSQL text cannot hold a NUL byte: drop it
            return str(params.get(name, "")).replace("\x00", "").strip()

        q = " ".join(param("q").split())[:MAX_QUERY_LENGTH]
        category = param("category")[:40]
        sort = param("sort")
        kind = param("kind")
        return cls(
            q=q,
            category=category,
            sort=sort if sort in SORTS else DEFAULT_SORT,
            kind=kind if kind and kind in PlanKind.values else "",  # .values builds a list
        )

    def cache_parts(self) -> tuple[str, ...]:
        return (self.q.lower(), self.category, self.sort, self.kind)


def _active_plans() -> Prefetch:
    return Prefetch("plans", queryset=Plan.objects.active().order_by("position", "price_paise"))


def catalog_services(*, filters: CatalogFilters) -> QuerySet[Service]:
    """Live services matching `filters`, with vendor, category, active plans and `min_price_paise`.

    Three queries when evaluated (services with joins, plans prefetch), whatever
    the number of services.
    """
    services = (
        Service.objects.live()
        .select_related("vendor", "category")
        .annotate(
            min_price_paise=Min(
                "plans__price_paise",
                filter=Q(plans__is_active=True, plans__kind__in=[PlanKind.TIME, PlanKind.USAGE]),
            )
        )
        .prefetch_related(_active_plans())
    )
    if filters.q:
        for word in filters.q.split()[:5]:
            services = services.filter(
                Q(name__icontains=word)
                | Q(tagline__icontains=word)
                | Q(description__icontains=word)
                | Q(vendor__business_name__icontains=word)
                | Q(category__name__icontains=word)
            )
    if filters.category:
        services = services.filter(category__slug=filters.category)
    if filters.kind:
        services = services.filter(
            pk__in=Plan.objects.active().filter(kind=filters.kind).values("service_id")
        )
    if filters.sort == "price":
        return services.order_by(F("min_price_paise").asc(nulls_last=True), "name", "pk")
    if filters.sort == "new":
        return services.order_by("-created_at", "-pk")
    return services.order_by("-purchases_count", "-created_at", "-pk")


def catalog_categories() -> list[Category]:
    """Categories with `live_count` (live services in each); empty ones included. One query."""
    return list(
        Category.objects.annotate(
            live_count=Count("services", filter=Q(services__status=ServiceStatus.LIVE))
        ).order_by("position", "name")
    )


def service_live(*, slug: str) -> Service:
    """A live service with vendor, category and active plans (three queries)."""
    service = (
        Service.objects.live()
        .select_related("vendor", "category")
        .prefetch_related(_active_plans())
        .filter(slug=slug)
        .first()
    )
    if service is None:
        raise ServiceNotFound("No service is on sale at this address.")
    return service


def plan_live(*, plan_id: int) -> Plan:
    """An active plan of a live service (one query)."""
    plan = (
        Plan.objects.active()
        .select_related("service__vendor", "service__category")
        .filter(pk=plan_id, service__status=ServiceStatus.LIVE)
        .first()
    )
    if plan is None:
        raise PlanNotFound("That plan is not on sale.")
    return plan


def related_services(*, service: Service, limit: int = 3) -> list[Service]:
    return list(
        Service.objects.live()
        .filter(category_id=service.category_id)
        .exclude(pk=service.pk)
        .select_related("vendor", "category")
        .annotate(
            min_price_paise=Min(
                "plans__price_paise",
                filter=Q(plans__is_active=True, plans__kind__in=[PlanKind.TIME, PlanKind.USAGE]),
            )
        )
        .order_by("-purchases_count", "-pk")[:limit]
    )


# --- passes ---------------------------------------------------------------------------------

PASS_TABS = {
    "active": "Active",
    "used_up": "Used up",
    "expired": "Expired",
}


def _passes(owner) -> QuerySet[Pass]:
    return Pass.objects.filter(owner=owner).select_related(
        "plan", "service__vendor", "service__category", "purchase"
    )


def passes_for_owner(*, owner, tab: str = "active") -> QuerySet[Pass]:
    """The owner's passes on one tab. Lazily expires theirs first (one UPDATE each kind).

    "active" lists passes in use and renewals waiting to start (soonest end
    first); "expired" includes revoked passes.
    """
    from marketplace.services.passes import passes_expire

    passes_expire(owner_id=owner.pk)
    passes = _passes(owner)
    if tab == "used_up":
        return passes.filter(status=PassStatus.USED_UP).order_by("-updated_at", "-pk")
    if tab == "expired":
        return passes.filter(status__in=[PassStatus.EXPIRED, PassStatus.REVOKED]).order_by(
            "-expires_at", "-pk"
        )
    return passes.filter(status=PassStatus.ACTIVE).order_by(
        F("expires_at").asc(nulls_last=True), "-pk"
    )


def pass_counts(*, owner) -> dict[str, int]:
    """How many passes sit on each tab (one query; call after passes_for_owner)."""
    row = Pass.objects.filter(owner=owner).aggregate(
        active=Count("pk", filter=Q(status=PassStatus.ACTIVE)),
        used_up=Count("pk", filter=Q(status=PassStatus.USED_UP)),
        expired=Count("pk", filter=Q(status__in=[PassStatus.EXPIRED, PassStatus.REVOKED])),
    )
    return row


def access_pass(*, user, pass_id) -> Pass:
    """The user's own pass (staff may see any), with its status brought up to date."""
    try:
        pass_id = int(pass_id)
    except (TypeError, ValueError):
        raise PassNotFound("No such pass.") from None
    qs = Pass.objects.select_related("plan", "service__vendor", "service__category", "purchase")
    if not user.is_staff:
        qs = qs.filter(owner=user)
    pass_obj = qs.filter(pk=pass_id).first()
    if pass_obj is None:
        raise PassNotFound("No such pass.")
    from marketplace.services.passes import passes_expire

    if pass_obj.effective_status() != pass_obj.status:
        passes_expire(owner_id=pass_obj.owner_id)
        pass_obj.refresh_from_db(fields=["status", "updated_at"])
    return pass_obj


# --- purchases and receipts -----------------------------------------------------------------


def purchases_for_buyer(*, buyer) -> QuerySet[Purchase]:
    return (
        Purchase.objects.filter(buyer=buyer)
        .select_related("plan", "service__category", "vendor", "pass_obj", "order")
        .order_by("-created_at", "-pk")
    )


def access_purchase(*, user, purchase_id) -> Purchase:
    """A purchase its buyer (or staff) may see, with what a receipt shows."""
    try:
        purchase_id = int(purchase_id)
    except (TypeError, ValueError):
        raise PurchaseNotFound("No such receipt.") from None
    qs = Purchase.objects.select_related(
        "buyer__profile", "plan", "service__category", "vendor", "pass_obj", "order", "entry"
    )
    if not user.is_staff:
        qs = qs.filter(buyer=user)
    purchase = qs.filter(pk=purchase_id).first()
    if purchase is None:
        raise PurchaseNotFound("No such receipt.")
    return purchase


def time_left_seconds(pass_obj: Pass, now=None) -> int | None:
    if pass_obj.expires_at is None:
        return None
    return max(0, int((pass_obj.expires_at - (now or timezone.now())).total_seconds()))


# --- orders ---------------------------------------------------------------------------------


def orders_for_buyer(*, buyer) -> QuerySet[Order]:
    return (
        Order.objects.filter(buyer=buyer)
        .select_related("plan", "service")
        .prefetch_related("transitions")
        .order_by("-created_at", "-pk")
    )


def access_order(*, user, order_id) -> Order:
    """The buyer's own order (staff may see any) with its steps and purchase."""
    try:
        order_id = int(order_id)
    except (TypeError, ValueError):
        raise OrderNotFound("No such order.") from None
    qs = Order.objects.select_related(
        "plan", "service__vendor", "service__category", "topup", "purchase__pass_obj"
    ).prefetch_related("transitions")
    if not user.is_staff:
        qs = qs.filter(buyer=user)
    order = qs.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound("No such order.")
    return order
