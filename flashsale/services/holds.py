"""Holds: take units for two minutes, give them back on release or expiry.

Exactly once, by conditional UPDATEs on the hold's status in the same
transaction as the stock change: `active -> released` only while
`expires_at > now`, `active -> expired` only once `expires_at <= now`,
`active -> confirmed` (checkout) only while `expires_at > now`. Whoever flips the
status does the stock work; everyone else sees 0 rows and does nothing.
"""

import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import F
from django.utils import timezone

from billing.models import TopUpStatus
from flashsale import live, throttle
from flashsale.errors import (
    HoldClosed,
    HoldExpired,
    HoldNotFound,
    HoldThrottled,
    InvalidQuantity,
    ItemNotFound,
    PerUserLimitReached,
    SaleNotLive,
    SoldOut,
)
from flashsale.models import (
    CounterName,
    EventKind,
    FlashPayment,
    FlashSale,
    Hold,
    HoldStatus,
    Product,
    SaleItem,
    SaleStatus,
)
from flashsale.selectors import hold_access, item_related
from flashsale.services import hold_sql
from flashsale.services.stock import (
    allowance_give_back,
    allowance_take,
    counter_bump,
    event_append,
    stock_put_back,
    stock_take,
)
from flashsale.services.waitlist import waitlist_offer
from flexpass import rows
from flexpass.errors import DomainError, RetryLater
from marketplace.models import OrderStatus
from wallet.services import money_transaction

logger = logging.getLogger(__name__)


def _validate_quantity(quantity, item: SaleItem) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity("The quantity must be a whole number.")
    if quantity < 1:
        raise InvalidQuantity("The quantity must be at least 1.")
    if quantity > item.per_user_limit:
        raise InvalidQuantity(f"At most {item.per_user_limit} per customer for {item.name}.")
    if quantity > item.total:
        raise InvalidQuantity(f"This sale has only {item.total} of {item.name}.")
    return quantity


# --- create ---------------------------------------------------------------------------------


def hold_create(
    *,
    user,
    item_id: int,
    quantity: int,
    client_ip: str = "",
    request_key: str | None = None,
    now=None,
) -> tuple[Hold, bool]:
    """Hold `quantity` units of an item for FLASH_HOLD_SECONDS. Returns (hold, created).

    Never oversells: the units are taken by one conditional UPDATE in the same
    transaction as the hold and its event, whatever Redis is doing. A repeat
    of the same `request_key` returns the first hold (created=False). Refusals:
    SaleNotLive, InvalidQuantity, SoldOut (counted as an oversell attempt
    blocked), PerUserLimitReached, HoldThrottled (counted as a throttle block).
    """
    now = now or timezone.now()
    item = _item_for_hold(item_id, now)
    try:
        return _hold_create(
            user=user,
            item=item,
            quantity=quantity,
            client_ip=client_ip,
            request_key=request_key,
            now=now,
        )
    except DomainError as exc:
        # A repeat of a request that already got its hold gets that hold, whatever
        # changed since (sold out, throttled, sale over). Looked up only here, so
        # first requests - all of a storm - pay nothing for it.
        if request_key:
            first = _hold_for_key(user=user, request_key=request_key, item=item, quantity=quantity)
            if first is not None:
                return first, False
        # Counted once a refusal is final: a repeat that got its first hold is none.
        if isinstance(exc, SoldOut):
            counter_bump(item_id=item.pk, name=CounterName.OVERSELL_BLOCKED)
        elif isinstance(exc, HoldThrottled):
            counter_bump(item_id=item.pk, name=CounterName.THROTTLE_BLOCKED)
        raise


_ITEM_FOR_HOLD_SQL = """
SELECT i.id, i.sale_id, i.product_id, i.plan_id, i.sale_price_paise, i.total, i.available,
       i.per_user_limit, s.name, s.starts_at, s.ends_at, s.status, p.name,
       EXISTS (SELECT 1 FROM {hold} h
               WHERE h.item_id = i.id AND h.status = %s AND h.expires_at <= %s)
FROM {item} i
JOIN {sale} s ON s.id = i.sale_id
LEFT JOIN {product} p ON p.id = i.product_id
WHERE i.id = %s AND s.status <> %s
"""


def _item_for_hold(item_id: int, now) -> SaleItem:
    """The item with what the hold path reads (sale window, price, name, whether any of
    its holds are overdue) in one hand-written query: this runs for every request of a
    storm, and building the same query with the ORM costs more CPU than the database
    spends answering it. Other fields load lazily if anyone asks (Model.from_db)."""
    if not 0 < item_id <= rows.MAX_ID:
        raise ItemNotFound(f"There is no sale item #{item_id}.")
    sql = _ITEM_FOR_HOLD_SQL.format(
        hold=Hold._meta.db_table,
        item=SaleItem._meta.db_table,
        sale=FlashSale._meta.db_table,
        product=Product._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [HoldStatus.ACTIVE, now, item_id, SaleStatus.DRAFT])
        row = cursor.fetchone()
    if row is None:
        raise ItemNotFound(f"There is no sale item #{item_id}.")
    (pk, sale_id, product_id, plan_id, price, total, available, limit) = row[:8]
    sale_name, starts_at, ends_at, status, product_name, has_overdue = row[8:]
    db = connection.alias
    item = SaleItem.from_db(
        db,
        ["id", "sale_id", "product_id", "plan_id", "sale_price_paise", "total", "available",
         "per_user_limit"],
        [pk, sale_id, product_id, plan_id, price, total, available, limit],
    )  # fmt: skip
    item.sale = FlashSale.from_db(
        db, ["id", "name", "starts_at", "ends_at", "status"],
        [sale_id, sale_name, _aware(starts_at), _aware(ends_at), status],
    )  # fmt: skip
    if product_id is not None:
        item.product = Product.from_db(db, ["id", "name"], [product_id, product_name])
    item.has_overdue = has_overdue
    return item


def _aware(value):
    """A datetime read by raw SQL: PostgreSQL's are aware; SQLite's (embedded mode) come
    back naive, in UTC, because from_db skips the backend's converters."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, UTC)


def _hold_create(*, user, item, quantity, client_ip, request_key, now) -> tuple[Hold, bool]:
    if not item.sale.is_live(now):
        raise SaleNotLive(_not_live_message(item, now))
    _validate_quantity(quantity, item)
    if item.available < quantity and not (item.has_overdue and _expire_overdue_for(item, now)):
        # Sold out before we even try: no throttle slot, no transaction.
        raise SoldOut(_sold_out_message(item, item.available))
    try:
        slot = throttle.hold_slot_take(user_id=user.pk, ip=client_ip)
    except throttle.Throttled as exc:
        raise HoldThrottled(_throttle_message(exc), retry_after=exc.retry_after) from None
    try:
        hold, created = _hold_create_checked(
            user=user, item=item, quantity=quantity, request_key=request_key, now=now
        )
    except BaseException:
        slot.release()  # a refused hold does not count against the window
        raise
    if not created:
        slot.release()  # a concurrent repeat: the first request's hold, nothing new
    return hold, created


def _hold_create_checked(*, user, item, quantity, request_key, now) -> tuple[Hold, bool]:
    for attempt in (1, 2):
        try:
            hold = _hold_insert(
                user=user, item=item, quantity=quantity, request_key=request_key, now=now
            )
            return hold, True
        except SoldOut:
            # Someone took the last units since we read; overdue holds may free some.
            if attempt == 1 and _expire_overdue_for(item, now):
                continue
            raise
        except PerUserLimitReached:
            # Units of the user's own expired holds come back lazily: retry once.
            if attempt == 1 and _expire_overdue_for(item, now, user_id=user.pk):
                continue
            raise
        except IntegrityError:
            # A twin request under the same key won the unique (user, request_key) index.
            # Asked of the table, not the error text: SQLite's names the columns only.
            if not request_key:
                raise
            first = _hold_for_key(user=user, request_key=request_key, item=item, quantity=quantity)
            if first is None:
                raise
            return first, False
    raise AssertionError("unreachable")  # pragma: no cover


def _hold_insert(*, user, item: SaleItem, quantity: int, request_key, now) -> Hold:
    """Take the units and write the hold, its event and the allowance: all or nothing.

    PostgreSQL does it in one statement (hold_sql); other databases (SQLite in
    embedded mode) in one transaction of four. Same rules, same errors.
    """
    if connection.vendor == "postgresql" and hold_sql.ENABLED:
        hold = hold_sql.hold_insert(
            user=user, item=item, quantity=quantity, request_key=request_key, now=now
        )
        if hold is hold_sql.SOLD_OUT:
            raise SoldOut(_sold_out_message(item, None))
        if hold is hold_sql.OVER_LIMIT:
            raise _limit_reached(item)
        live.stock_changed(item_id=item.pk, sale_id=item.sale_id)
        return hold
    return _hold_insert_steps(
        user=user, item=item, quantity=quantity, request_key=request_key, now=now
    )


def _limit_reached(item: SaleItem) -> PerUserLimitReached:
    return PerUserLimitReached(
        f"You already hold or bought the most allowed ({item.per_user_limit}) of {item.name}."
    )


@money_transaction
def _hold_insert_steps(*, user, item: SaleItem, quantity: int, request_key, now) -> Hold:
    if not allowance_take(
        item_id=item.pk, user_id=user.pk, quantity=quantity, limit=item.per_user_limit
    ):
        raise _limit_reached(item)
    hold = Hold.objects.create(
        item=item,
        user=user,
        quantity=quantity,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.FLASH_HOLD_SECONDS),
        request_key=request_key or None,
        unit_price_paise=item.sale_price_paise,
    )
    event_append(
        item_id=item.pk,
        kind=EventKind.HOLD_CREATED,
        delta=-quantity,
        hold=hold,
        metadata={"user": user.pk},
    )
    # Last, so the hot row stays locked only from here to the commit.
    if not stock_take(item_id=item.pk, quantity=quantity):
        raise SoldOut(_sold_out_message(item, None))
    live.stock_changed(item_id=item.pk, sale_id=item.sale_id)
    return hold


def _hold_for_key(*, user, request_key: str, item: SaleItem, quantity: int) -> Hold | None:
    from wallet.errors import IdempotencyConflict

    # Asked for every refused request of a storm (1,900 of 2,000 when 100 units sell),
    # almost always in vain: plain SQL on the unique index (flexpass.rows) answers that
    # for a tenth of what building the ORM query costs.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Hold._meta.db_table} WHERE user_id = %s AND request_key = %s",
            [user.pk, request_key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    first = Hold.objects.get(pk=row[0])
    if first is not None and (first.item_id != item.pk or first.quantity != quantity):
        raise IdempotencyConflict("This Idempotency-Key was used for a different hold.")
    return first


def _not_live_message(item: SaleItem, now) -> str:
    phase = item.sale.phase(now)
    if phase == "upcoming":
        return f"{item.sale.name} starts at {timezone.localtime(item.sale.starts_at):%H:%M}."
    if phase == "ended":
        return f"{item.sale.name} has ended."
    return f"{item.sale.name} is not open."


def _sold_out_message(item: SaleItem, available: int | None) -> str:
    if available:
        return f"Only {available} of {item.name} left."
    return f"{item.name} just sold out. Join the waitlist to get the next one back."


def _throttle_message(exc: throttle.Throttled) -> str:
    minutes = max(1, round(exc.retry_after / 60))
    if exc.scope == "account":
        who, limit = "this account", settings.FLASH_HOLDS_PER_USER
    else:
        who, limit = "your network", settings.FLASH_HOLDS_PER_IP
    return (
        f"Too many holds from {who}: at most {limit} in "
        f"{settings.FLASH_THROTTLE_WINDOW_SECONDS // 60} minutes. "
        f"Try again in about {minutes} minute{'s' if minutes != 1 else ''}."
    )


# --- give units back ------------------------------------------------------------------------


def _units_return(
    *, hold: Hold, item: SaleItem, kind: str, now, acting_user=None, reason: str = ""
) -> None:
    """After a hold flipped to released/expired: its units go to the waitlist or stock.

    The caller holds the transaction in which it flipped the status.
    """
    allowance_give_back(item_id=item.pk, user_id=hold.user_id, quantity=hold.quantity)
    metadata = {"user": hold.user_id}
    if acting_user is not None and acting_user.pk != hold.user_id:
        metadata["by_staff"] = acting_user.pk
    if reason:
        metadata["reason"] = reason[:200]
    event_append(
        item_id=item.pk,
        kind=kind,
        delta=hold.quantity,
        hold=hold,
        metadata=metadata,
        acting_user=acting_user,
    )
    offered = waitlist_offer(item=item, units=hold.quantity, now=now)
    if hold.quantity - offered:
        stock_put_back(item_id=item.pk, quantity=hold.quantity - offered)
    live.stock_changed(item_id=item.pk, sale_id=item.sale_id)


@money_transaction
def hold_expire(*, hold_id: int, now=None) -> bool:
    """Expire one overdue hold and return its units. False if it was not overdue and active."""
    now = now or timezone.now()
    hold = Hold.objects.select_related(*item_related("item__")).filter(pk=hold_id).first()
    if hold is None:
        return False
    # A card payment captured before the hold ran out wins the unit (see
    # services/payments.py): its hold is left for the payment to confirm.
    captured_in_time = FlashPayment.objects.filter(
        hold_id=hold_id,
        status=OrderStatus.PAYMENT_PENDING,
        topup__status=TopUpStatus.CAPTURED,
        topup__captured_at__lt=F("hold__expires_at"),
    ).values("hold_id")
    flipped = (
        Hold.objects.filter(pk=hold_id, status=HoldStatus.ACTIVE, expires_at__lte=now)
        .exclude(pk__in=captured_in_time)
        .update(status=HoldStatus.EXPIRED, resolved_at=now)
    )
    if not flipped:
        return False  # confirmed, released, expired by someone else, or paid in time
    _units_return(hold=hold, item=hold.item, kind=EventKind.HOLD_EXPIRED, now=now)
    return True


def hold_for_owner(*, user, hold_id: int) -> Hold:
    """The user's hold as the page and the API show it (HoldNotFound otherwise).

    One whose time ran out is settled first, as the job would (lazy expiry): a
    card payment captured in time confirms it, else it expires.
    """
    hold = hold_access(user=user, hold_id=hold_id)
    if hold.status == HoldStatus.ACTIVE and not hold.is_open():
        _settle([hold.pk], timezone.now())
        hold = hold_access(user=user, hold_id=hold_id)
    return hold


def _settle(hold_ids: list[int], now) -> int:
    """Overdue holds: confirmed if their card payment was captured in time, else
    expired (units back). Returns how many expired."""
    from flashsale.services.payments import payments_sync_captured

    payments_sync_captured(hold_ids=hold_ids, now=now)
    with live.batched():
        return sum(hold_expire(hold_id=pk, now=now) for pk in hold_ids)


def holds_expire_overdue(
    *, item_ids=None, user_id: int | None = None, now=None, limit: int | None = None
) -> int:
    """Expire overdue holds (all, or of some items / one user). Safe to run twice and late.

    The beat job calls it for everything (FLASH_EXPIRY_BATCH a run); pages and the
    hold path call it for the items they show or take, so stock is right even with
    beat stopped, FLASH_LAZY_EXPIRY_BATCH at a time (the default `limit`).
    """
    now = now or timezone.now()
    overdue = Hold.objects.overdue(now)
    if item_ids is not None:
        overdue = overdue.filter(item_id__in=list(item_ids))
    if user_id is not None:
        overdue = overdue.filter(user_id=user_id)
    ids = list(
        overdue.order_by("expires_at", "pk").values_list("pk", flat=True)[
            : limit or settings.FLASH_LAZY_EXPIRY_BATCH
        ]
    )
    if not ids:
        return 0
    return _settle(ids, now)


def _expire_overdue_for(item: SaleItem, now, user_id: int | None = None) -> bool:
    """Lazy expiry on the hold path. True if any units came back (re-reads stock)."""
    if not holds_expire_overdue(item_ids=[item.pk], user_id=user_id, now=now):
        return False
    item.available = SaleItem.objects.values_list("available", flat=True).get(pk=item.pk)
    return True


def hold_release(*, user, hold_id: int, acting_user=None, reason: str = "", now=None) -> Hold:
    """Give a hold's units back before it expires. Releasing twice is harmless.

    `user` must own the hold; staff void someone's hold with `hold_void`.
    Releasing a hold that has run out expires it (its units come back) and
    raises HoldExpired.
    """
    now = now or timezone.now()
    try:
        hold = _hold_release(
            user=user, hold_id=hold_id, acting_user=acting_user, reason=reason, now=now
        )
    except HoldExpired:
        hold_expire(hold_id=hold_id, now=now)
        raise
    from flashsale.services.payments import payments_close_for_hold

    payments_close_for_hold(hold_id=hold.pk)  # a card payment still open gives its wallet part back
    return hold


@money_transaction
def _hold_release(*, user, hold_id: int, acting_user, reason: str, now) -> Hold:
    hold = Hold.objects.select_related(*item_related("item__")).filter(pk=hold_id).first()
    if hold is None or (hold.user_id != user.pk and acting_user is None):
        raise HoldNotFound(f"You have no hold #{hold_id}.")
    flipped = Hold.objects.filter(pk=hold_id, status=HoldStatus.ACTIVE, expires_at__gt=now).update(
        status=HoldStatus.RELEASED, resolved_at=now
    )
    if not flipped:
        hold.refresh_from_db(fields=["status", "resolved_at"])
        if hold.status == HoldStatus.RELEASED:
            return hold
        if hold.status == HoldStatus.CONFIRMED:
            raise HoldClosed("This hold is already paid for; it cannot be released.")
        raise HoldExpired("This hold has already expired; its units went back to the sale.")
    _units_return(
        hold=hold,
        item=hold.item,
        kind=EventKind.HOLD_RELEASED,
        now=now,
        acting_user=acting_user or user,
        reason=reason,
    )
    hold.status, hold.resolved_at = HoldStatus.RELEASED, now
    return hold


def hold_void(*, hold_id: int, acting_user, reason: str = "") -> Hold:
    """Staff release someone's active hold (the admin's "Void hold" action), audited."""
    if acting_user is None or not acting_user.is_staff:
        raise HoldNotFound("Only staff can void someone else's hold.")
    hold = Hold.objects.filter(pk=hold_id).select_related("user").first()
    if hold is None:
        raise HoldNotFound(f"There is no hold #{hold_id}.")
    return hold_release(
        user=hold.user, hold_id=hold_id, acting_user=acting_user, reason=reason or "voided by staff"
    )


def sale_holds_void(*, sale_id: int, acting_user, reason: str, taken_off_at=None) -> int:
    """Staff took a sale off (cancelled, or back to draft): its open holds end now.

    Each is voided like the admin's action does it (units back, open card payment
    cancelled), so nobody checks out of a sale that is no longer on. A checkout
    racing this flips the same hold row: one of them wins. Run later (a task),
    it does nothing if the sale is on again, and ends only holds taken before
    `taken_off_at`. Returns how many; raises the first error worth a retry after
    trying every hold.
    """
    if FlashSale.objects.filter(pk=sale_id, status=SaleStatus.PUBLISHED).exists():
        return 0  # put back on sale meanwhile: its holds are wanted again
    holds = Hold.objects.filter(item__sale_id=sale_id, status=HoldStatus.ACTIVE)
    if taken_off_at is not None:
        holds = holds.filter(created_at__lte=taken_off_at)
    voided, failure = 0, None
    with live.batched():
        for hold_id in list(holds.order_by("pk").values_list("pk", flat=True)):
            try:
                hold_void(hold_id=hold_id, acting_user=acting_user, reason=reason)
            except RetryLater as exc:  # the database was busy: the retry tries it again
                failure = failure or exc
            except DomainError:
                pass  # paid or overdue meanwhile: the checkout or the job has it
            except Exception as exc:  # noqa: BLE001 - one hold's trouble must not keep the rest open
                logger.exception("sale %s: could not void hold %s", sale_id, hold_id)
                failure = failure or exc
            else:
                voided += 1
    if failure is not None:
        raise failure
    return voided
