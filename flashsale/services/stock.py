"""Stock, per-user allowances and refusal counters: the only code that moves them.

Every function here runs inside the caller's transaction (`atomic(savepoint=False)`
semantics: they never open their own) except `counter_bump`, which records a
refusal after the refused transaction rolled back.

Lock order, everywhere: hold row -> allowance rows -> waitlist rows -> item row.
The item row is the hot one, so it is always taken last, just before commit.
"""

import random

from django.db import connection
from django.db.models import F

from flashsale import live
from flashsale.errors import InvalidQuantity, RestockRefused
from flashsale.models import (
    EventKind,
    FlashSale,
    InventoryEvent,
    Product,
    PurchaseAllowance,
    SaleCounter,
    SaleItem,
)

MAX_UNITS = 1_000_000


def event_append(
    *, item_id: int, kind: str, delta: int, hold=None, metadata=None, acting_user=None
) -> InventoryEvent:
    return InventoryEvent.objects.create(
        item_id=item_id,
        kind=kind,
        delta=delta,
        hold=hold,
        metadata=metadata or {},
        acting_user=acting_user,
    )


def stock_take(*, item_id: int, quantity: int) -> bool:
    """Take `quantity` units if that many are available. One conditional UPDATE decides."""
    taken = SaleItem.objects.filter(pk=item_id, available__gte=quantity).update(
        available=F("available") - quantity
    )
    return taken == 1


def stock_put_back(*, item_id: int, quantity: int) -> None:
    """Return units to the pool (the CHECK constraint refuses going above total)."""
    SaleItem.objects.filter(pk=item_id).update(available=F("available") + quantity)


# --- per-user allowance ---------------------------------------------------------------------

_ALLOWANCE_TAKE_SQL = """
INSERT INTO {table} (item_id, user_id, taken) VALUES (%s, %s, %s)
ON CONFLICT (item_id, user_id) DO UPDATE SET taken = {table}.taken + EXCLUDED.taken
WHERE {table}.taken + EXCLUDED.taken <= %s
RETURNING taken
"""


def allowance_take(*, item_id: int, user_id: int, quantity: int, limit: int) -> bool:
    """Count `quantity` more units against the user's limit for the item, if it fits.

    One upsert (PostgreSQL and SQLite): a first hold inserts the row, a later
    one adds to it only while `taken + quantity <= limit`. Two concurrent holds
    by one person serialize on the row, so they cannot pass the limit together.
    """
    if quantity > limit:
        return False
    sql = _ALLOWANCE_TAKE_SQL.format(table=PurchaseAllowance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [item_id, user_id, quantity, limit])
        return cursor.fetchone() is not None


def allowance_give_back(*, item_id: int, user_id: int, quantity: int) -> None:
    PurchaseAllowance.objects.filter(item_id=item_id, user_id=user_id, taken__gte=quantity).update(
        taken=F("taken") - quantity
    )


# --- refusal counters -----------------------------------------------------------------------

_COUNTER_BUMP_SQL = """
INSERT INTO {table} (item_id, name, shard, value) VALUES (%s, %s, %s, %s)
ON CONFLICT (item_id, name, shard) DO UPDATE SET value = {table}.value + EXCLUDED.value
"""


def counter_bump(*, item_id: int, name: str, by: int = 1) -> None:
    """Add to a refusal counter (autocommit, one of SaleCounter.SHARDS rows)."""
    sql = _COUNTER_BUMP_SQL.format(table=SaleCounter._meta.db_table)
    shard = random.randrange(SaleCounter.SHARDS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [item_id, name, shard, by])


# --- items ----------------------------------------------------------------------------------


def _validate_units(quantity, *, what: str, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(f"The {what} must be a whole number.", field=field)
    if quantity < 1 or quantity > MAX_UNITS:
        raise InvalidQuantity(f"The {what} must be between 1 and {MAX_UNITS:,}.", field=field)
    return quantity


LIMIT, PRICE = "per_user_limit", "sale_price_paise"  # `field` of a refusal: the form field


def item_terms_check(*, product, plan, sale_price_paise, per_user_limit, total=None) -> None:
    """What a sale item may sell, and on what terms: the one rule for adding and editing
    (`total`, the opening stock, only when adding). A refusal names its `field`.

    A plan item sells one pass per hold (per-customer limit 1): a pass belongs to
    one person, and checkout makes one pass per hold. Only plans bought up front
    (time and usage passes) can go on sale; metered plans bill per session.
    """
    if (product is None) == (plan is None):
        raise InvalidQuantity("A sale item sells either a product or a plan.", field="plan")
    if plan is not None and not plan.is_purchasable:
        raise InvalidQuantity(
            "Metered plans are billed per session and cannot go on sale.", field="plan"
        )
    if isinstance(per_user_limit, bool) or not isinstance(per_user_limit, int):
        raise InvalidQuantity("The per-customer limit must be a whole number.", field=LIMIT)
    if per_user_limit < 1:
        raise InvalidQuantity("The per-customer limit must be at least 1.", field=LIMIT)
    if plan is not None and per_user_limit != 1:
        raise InvalidQuantity("Passes sell one per customer: set the limit to 1.", field=LIMIT)
    if isinstance(sale_price_paise, bool) or not isinstance(sale_price_paise, int):
        raise InvalidQuantity("The sale price must be a whole number of paise.", field=PRICE)
    if sale_price_paise <= 0:
        raise InvalidQuantity("The sale price must be more than zero.", field=PRICE)
    if total is not None:
        _validate_units(total, what="stock", field="total")


def item_terms_change(*, item: SaleItem, **terms) -> SaleItem:
    """Change an item's price, per-customer limit or position (staff, from the admin).

    Stock is not a term: it moves only through restocks and holds. A hold pays
    the price it was taken at (Hold.unit_price_paise): a change reaches new holds.
    """
    unknown = set(terms) - {"sale_price_paise", "per_user_limit", "position"}
    if unknown:
        raise TypeError(f"not an item term: {sorted(unknown)}")
    merged = {
        "sale_price_paise": item.sale_price_paise,
        "per_user_limit": item.per_user_limit,
        **terms,
    }
    item_terms_check(
        product=item.product,
        plan=item.plan,
        sale_price_paise=merged["sale_price_paise"],
        per_user_limit=merged["per_user_limit"],
    )
    if terms:
        SaleItem.objects.filter(pk=item.pk).update(**terms)
        for name, value in terms.items():
            setattr(item, name, value)
    return item


def item_create(
    *,
    sale: FlashSale,
    product: Product | None = None,
    plan=None,
    sale_price_paise: int,
    total: int,
    per_user_limit: int = 2,
    position: int = 0,
    acting_user=None,
) -> SaleItem:
    """Put `total` units of a product (or a marketplace plan) in `sale`.

    The caller holds a transaction. The terms follow `item_terms_check`.
    """
    item_terms_check(
        product=product,
        plan=plan,
        sale_price_paise=sale_price_paise,
        per_user_limit=per_user_limit,
        total=total,
    )
    item = SaleItem.objects.create(
        sale=sale,
        product=product,
        plan=plan,
        sale_price_paise=sale_price_paise,
        total=total,
        available=total,
        per_user_limit=per_user_limit,
        position=position,
    )
    event_append(
        item_id=item.pk,
        kind=EventKind.RESTOCK,
        delta=total,
        metadata={"initial": True, "quantity": total},
        acting_user=acting_user,
    )
    return item


def item_restock(*, item: SaleItem, quantity: int, acting_user=None, now=None) -> SaleItem:
    """Add `quantity` units: people on the waitlist are offered them first, in order.

    The caller holds a transaction.
    """
    from flashsale.services.waitlist import waitlist_offer

    _validate_units(quantity, what="restock quantity")
    if item.sale.phase(now) in ("ended", "cancelled"):
        raise RestockRefused("This sale is over; restocking it would sell nothing.")
    event_append(
        item_id=item.pk,
        kind=EventKind.RESTOCK,
        delta=quantity,
        metadata={"quantity": quantity},
        acting_user=acting_user,
    )
    offered = waitlist_offer(item=item, units=quantity, now=now)
    SaleItem.objects.filter(pk=item.pk).update(
        total=F("total") + quantity, available=F("available") + (quantity - offered)
    )
    live.stock_changed(item_id=item.pk, sale_id=item.sale_id)
    item.refresh_from_db(fields=["total", "available"])
    return item
