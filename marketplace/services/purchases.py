"""Buying a plan: one journal entry, one Purchase, one Pass, rewards once.

`pass_purchase` is the wallet-only door; the mixed-payment order's fulfilment
(marketplace.services.orders) goes through the same `purchase_record`, so a
purchase gets its rewards and its receipt email exactly once, whichever door
it came through.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from flexpass import rows
from flexpass.money import percent_of
from marketplace import rewards
from marketplace.errors import (
    InvalidIdempotencyKey,
    OwnServiceRefused,
    PlanNotFound,
    PlanNotPurchasable,
    PlanUnavailable,
    PriceChanged,
    ServiceUnavailable,
)
from marketplace.models import (
    Category,
    Pass,
    PassStatus,
    Plan,
    PlanKind,
    Purchase,
    Service,
    VendorProfile,
    WebhookEndpoint,
)
from marketplace.services import usage as vendor_events
from marketplace.terms import plan_terms
from support.services import notify
from wallet.errors import IdempotencyConflict
from wallet.models import AccountKind, EntryKind, LedgerAccount
from wallet.services import Leg, accounts_open, entry_post, money_transaction

MAX_KEY_LENGTH = 255


def clean_idempotency_key(idempotency_key) -> str:
    key = str(idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey("An idempotency key of 1 to 255 characters is required.")
    return key


def plan_for_sale(*, plan_id: int, buyer=None) -> Plan:
    """The plan as the database has it now (price included), checked to be on sale.

    Raises PlanNotFound, ServiceUnavailable (draft or paused service),
    PlanUnavailable (plan switched off), PlanNotPurchasable (metered) and
    OwnServiceRefused (a vendor buying from themself).
    """
    plan = _plan_loaded(plan_id)
    _check_on_sale(plan, buyer=buyer)
    return plan


# The plan with its service, vendor, vendor's user and category, as select_related would
# load them, plus whether this buyer already bought under this key and whether the vendor
# listens for webhooks. Plain SQL (flexpass.rows): it runs on every purchase, and the
# ORM took longer to build this query than PostgreSQL took to answer it.
_PLAN_MODELS = (Plan, Service, VendorProfile, User, Category)


@cache
def _plan_sql() -> str:
    table = {model: model._meta.db_table for model in (*_PLAN_MODELS, Purchase, WebhookEndpoint)}
    columns = ", ".join(
        rows.select_list(model, alias) for model, alias in zip(_PLAN_MODELS, "psvuc", strict=True)
    )
    return (
        f"SELECT {columns},"
        f" (SELECT e.id FROM {table[Purchase]} e WHERE e.buyer_id = %s AND e.idempotency_key = %s),"
        f" EXISTS (SELECT 1 FROM {table[WebhookEndpoint]} w WHERE w.vendor_id = v.id AND w.is_active)"
        f" FROM {table[Plan]} p"
        f" JOIN {table[Service]} s ON s.id = p.service_id"
        f" JOIN {table[VendorProfile]} v ON v.id = s.vendor_id"
        f" JOIN {table[User]} u ON u.id = v.user_id"
        f" JOIN {table[Category]} c ON c.id = s.category_id"
        " WHERE p.id = %s"
    )


def _plan_loaded(plan_id: int, *, buyer_id: int | None = None, key: str = "") -> Plan | None:
    """The plan (service, vendor and category attached), or None. The plan also carries
    `earlier_purchase_id` (this buyer's purchase under `key`, if any) and
    `vendor_has_webhooks`."""
    if not 0 < plan_id <= rows.MAX_ID:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_plan_sql(), [buyer_id, key, plan_id])
        row = cursor.fetchone()
    if row is None:
        return None
    (plan, service, vendor, vendor_user, category), (earlier, webhooks) = rows.instances(
        row, *_PLAN_MODELS
    )
    vendor.user, service.vendor, service.category, plan.service = (
        vendor_user,
        vendor,
        category,
        service,
    )
    plan.earlier_purchase_id, plan.vendor_has_webhooks = earlier, bool(webhooks)
    return plan


def _check_on_sale(plan: Plan | None, *, buyer) -> None:
    if plan is None:
        raise PlanNotFound("That plan does not exist.")
    if not plan.service.is_live:
        raise ServiceUnavailable(f"{plan.service.name} is not on sale right now.")
    if not plan.is_active:
        raise PlanUnavailable(f"The {plan.name} plan is no longer on sale.")
    if not plan.is_purchasable:
        raise PlanNotPurchasable(
            "Metered plans are billed per session while you use the service; there is "
            "nothing to buy up front."
        )
    if buyer is not None and plan.service.vendor.user_id == buyer.pk:
        raise OwnServiceRefused("You cannot buy a pass for your own service.")


def fee_split(price_paise: int) -> tuple[int, int]:
    """(platform fee, vendor share) of a price; the fee rounds half-up (flexpass.money)."""
    fee = percent_of(price_paise, settings.MARKETPLACE_PLATFORM_FEE_PERCENT)
    return fee, price_paise - fee


def _pass_window(*, buyer, plan: Plan, now):
    """When a new pass on `plan` starts and ends.

    A time pass bought while the buyer still holds one on the same plan (a
    renewal) starts when the last of those ends, so renewing early loses nothing.
    """
    if plan.kind == PlanKind.TIME:
        with connection.cursor() as cursor:  # plain SQL: on every purchase (flexpass.rows)
            cursor.execute(
                f"SELECT MAX(expires_at) FROM {Pass._meta.db_table}"
                " WHERE owner_id = %s AND plan_id = %s AND status = %s AND expires_at > %s",
                [buyer.pk, plan.pk, PassStatus.ACTIVE, now],
            )
            latest_end = rows.datetime_value(cursor.fetchone()[0])
        starts_at = max(now, latest_end) if latest_end else now
        return starts_at, starts_at + timedelta(hours=plan.duration_hours)
    expires_at = now + timedelta(days=plan.validity_days) if plan.validity_days else None
    return now, expires_at


@dataclass(frozen=True)
class PurchaseAccounts:
    """The ledger accounts a purchase and its cashback touch, read together."""

    available: LedgerAccount  # the buyer's
    pending: LedgerAccount  # the buyer's cashback, waiting out the refund window
    vendor_payable: LedgerAccount
    revenue: LedgerAccount
    cashback: LedgerAccount


def purchase_accounts(*, buyer, vendor_user) -> PurchaseAccounts:
    """The five accounts in one query (any not opened yet is opened).

    A plain read: entry_post locks what it must.
    """
    return PurchaseAccounts(
        **accounts_open(
            {
                "available": (buyer, AccountKind.USER_AVAILABLE),
                "pending": (buyer, AccountKind.USER_PENDING),
                "vendor_payable": (vendor_user, AccountKind.VENDOR_PAYABLE),
                "revenue": (None, AccountKind.PLATFORM_REVENUE),
                "cashback": (None, AccountKind.PLATFORM_CASHBACK),
            }
        )
    )


def purchase_record(
    *,
    buyer,
    plan: Plan,
    idempotency_key: str,
    payer_account: LedgerAccount | None = None,
    accounts: PurchaseAccounts | None = None,
    order=None,
    price_paise: int | None = None,
) -> Purchase:
    """Debit the price from `payer_account` (the buyer's available balance by default)
    and create the Purchase and its Pass.

    The price is the plan's unless `price_paise` says otherwise: the price an
    order was agreed at, or a flash sale's.

    The caller holds a money_transaction and has checked the plan with
    plan_for_sale. One journal entry: payer -price, vendor payable +share,
    platform revenue +fee, and the pending cashback (platform cashback -c,
    buyer pending +c; see marketplace.rewards). entry_post locks the payer's row (the shared rows
    move just before the commit), which serialises this buyer's purchases: the
    renewal window is read after it, so it sees the pass bought just before.
    The same key returns the first purchase.
    """
    service: Service = plan.service
    accounts = accounts or purchase_accounts(buyer=buyer, vendor_user=service.vendor.user)
    payer_account = payer_account or accounts.available
    price = plan.price_paise if price_paise is None else price_paise
    fee, share = fee_split(price)
    legs = [Leg(payer_account, -price)]
    if share:
        legs.append(Leg(accounts.vendor_payable, share))
    if fee:
        legs.append(Leg(accounts.revenue, fee))
    legs += rewards.cashback_legs(
        price_paise=price, pending=accounts.pending, platform_cashback=accounts.cashback
    )
    entry = entry_post(
        kind=EntryKind.PURCHASE,
        legs=legs,
        memo=f"{service.name} · {plan.name}",
        category=service.category.name,
        idempotency_key=f"purchase:{buyer.pk}:{idempotency_key}",
        metadata={"plan": plan.pk, "service": service.pk, "order": order.pk if order else None},
        acting_user=buyer,
    )
    now = timezone.now()
    starts_at, expires_at = _pass_window(buyer=buyer, plan=plan, now=now)
    units = plan.units if plan.kind == PlanKind.USAGE else None
    # A racing twin with the same key that committed first makes entry_post hand
    # back its entry; inserting our Purchase then breaks the (buyer, key) unique
    # constraint and money_transaction retries, finding the twin's purchase.
    purchase = Purchase(
        buyer=buyer,
        plan=plan,
        service=service,
        vendor=service.vendor,
        price_paise=price,
        fee_paise=fee,
        vendor_share_paise=share,
        plan_terms=plan_terms(plan)[:120],
        entry=entry,
        order=order,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    rows.insert(purchase)
    pass_obj = Pass(
        purchase=purchase,  # also caches purchase.pass_obj for the receipt
        owner=buyer,
        plan=plan,
        service=service,
        kind=plan.kind,
        starts_at=starts_at,
        expires_at=expires_at,
        units_total=units,
        units_left=units,
        created_at=now,
        updated_at=now,
    )
    rows.insert(pass_obj)
    # pass_purchase's plan query already asked whether the vendor has an active
    # webhook endpoint; without one there is no outbox row to write.
    if getattr(plan, "vendor_has_webhooks", True):
        vendor_events.purchase_event_record(
            purchase=purchase, event_type="pass.purchased", pass_obj=pass_obj
        )
    rewards.rewards_on_purchase(purchase=purchase)
    notify(
        user=buyer,
        kind="purchase_receipt",
        title=f"Receipt {purchase.number}: {service.name} · {plan.name}",
        url=f"/receipts/{purchase.pk}/",
    )
    purchase_id, service_id = purchase.pk, service.pk
    # robust: a failing email must never turn a committed purchase into an error page.
    transaction.on_commit(lambda: _receipt_email_later(purchase_id), robust=True)
    # The popularity counter is one hot row per service: bumped after the commit,
    # on its own, it never holds up the other buyers of the service.
    transaction.on_commit(lambda: _purchases_count_bump(service_id), robust=True)
    return purchase


def _purchases_count_bump(service_id: int) -> None:
    with connection.cursor() as cursor:  # plain SQL: after every purchase, nothing to build
        cursor.execute(
            f"UPDATE {Service._meta.db_table} SET purchases_count = purchases_count + 1"
            " WHERE id = %s",
            [service_id],
        )


def _receipt_email_later(purchase_id: int) -> None:
    from marketplace.tasks import receipt_email_send

    receipt_email_send.delay(purchase_id)


@money_transaction
def pass_purchase(
    *, buyer, plan: Plan, idempotency_key: str, expected_price_paise: int | None = None
) -> Purchase:
    """Buy `plan` from the buyer's wallet. Safe to call twice with the same key.

    The price always comes from the database. `expected_price_paise`, when
    given, is what the buyer was shown: a different server price raises
    PriceChanged and charges nothing. Raises InsufficientFunds when the wallet
    cannot pay (see marketplace.services.orders for paying the rest by gateway).
    """
    key = clean_idempotency_key(idempotency_key)
    fresh = _plan_loaded(plan.pk, buyer_id=buyer.pk, key=key)  # "was this key used?" too
    if fresh is None or fresh.earlier_purchase_id is not None:
        existing = (
            Purchase.objects.select_related("plan", "service__vendor", "pass_obj")
            .filter(buyer=buyer, idempotency_key=key)
            .first()
        )
        if existing is not None:
            if existing.plan_id != plan.pk:
                raise IdempotencyConflict("This idempotency key was already used for another plan.")
            return existing
    _check_on_sale(fresh, buyer=buyer)
    if expected_price_paise is not None and expected_price_paise != fresh.price_paise:
        raise PriceChanged(
            "The price of this plan has changed. Check the new price and try again.",
            price_paise=fresh.price_paise,
        )
    return purchase_record(buyer=buyer, plan=fresh, idempotency_key=key)
