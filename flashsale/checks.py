"""Recompute stock from the append-only inventory events and compare (check_flash_stock)."""

from django.db.models import Q, Sum

from flashsale.models import (
    EventKind,
    Hold,
    HoldStatus,
    InventoryEvent,
    PurchaseAllowance,
    SaleItem,
)

OPEN_OR_SOLD = [HoldStatus.ACTIVE, HoldStatus.CONFIRMED]  # active includes overdue-not-returned


def stock_discrepancies(*, sale_id: int | None = None) -> tuple[int, list[str]]:
    """(items checked, one line per disagreement). Four aggregate queries in all."""
    items = SaleItem.objects.order_by("pk")
    if sale_id is not None:
        items = items.filter(sale_id=sale_id)
    items = list(items.values_list("pk", "total", "available"))
    ids = [pk for pk, _, _ in items]

    sums = {
        row["item_id"]: row
        for row in InventoryEvent.objects.filter(item_id__in=ids)
        .values("item_id")
        .annotate(
            deltas=Sum("delta"),
            restocked=Sum("delta", filter=Q(kind=EventKind.RESTOCK)),
        )
    }
    held = {
        row["item_id"]: row["units"]
        for row in Hold.objects.filter(item_id__in=ids, status__in=OPEN_OR_SOLD)
        .values("item_id")
        .annotate(units=Sum("quantity"))
    }
    per_user = {
        (row["item_id"], row["user_id"]): row["units"]
        for row in Hold.objects.filter(item_id__in=ids, status__in=OPEN_OR_SOLD)
        .values("item_id", "user_id")
        .annotate(units=Sum("quantity"))
    }

    problems = []
    for pk, total, available in items:
        row = sums.get(pk, {})
        from_events = row.get("deltas") or 0
        restocked = row.get("restocked") or 0
        if available != from_events:
            problems.append(f"item {pk}: available {available} but events say {from_events}")
        if total != restocked:
            problems.append(f"item {pk}: total {total} but restocks add up to {restocked}")
        if available != total - held.get(pk, 0):
            problems.append(
                f"item {pk}: available {available} but total {total} less "
                f"{held.get(pk, 0)} held or sold is {total - held.get(pk, 0)}"
            )
    allowances = {
        (item_id, user_id): taken
        for item_id, user_id, taken in PurchaseAllowance.objects.filter(
            item_id__in=ids
        ).values_list("item_id", "user_id", "taken")
    }
    for key in sorted(set(allowances) | set(per_user)):
        if allowances.get(key, 0) != per_user.get(key, 0):
            problems.append(
                f"item {key[0]}: user {key[1]} allowance {allowances.get(key, 0)} but holds "
                f"say {per_user.get(key, 0)}"
            )
    return len(items), problems
