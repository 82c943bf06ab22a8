"""Buying a plan: one journal entry, one Purchase, one Pass, rewards once.

`pass_purchase` is the wallet-only door; the mixed-payment order's fulfilment
(marketplace.services.orders) goes through the same `purchase_record`, so a
purchase gets its rewards and its receipt email exactly once, whichever door
it came through.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

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
from marketplace.models import Pass, PassStatus, Plan, PlanKind, Purchase, Service
from marketplace.services import usage as vendor_events
from support.services import notify
from wallet import lock_objects as wallet_locks
from wallet.errors import IdempotencyConflict
from wallet.models import AccountKind, EntryKind, LedgerAccount
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    platform_account,
    vendor_payable_account,
    wallet_ensure,
)

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
    plan = (
        Plan.objects.select_related("service__vendor__user", "service__category")
        .filter(pk=plan_id)
        .first()
    )
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
    return plan


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
        latest_end = (
            Pass.objects.filter(
                owner=buyer, plan=plan, status=PassStatus.ACTIVE, expires_at__gt=now
            )
            .aggregate(latest=Max("expires_at"))
            .get("latest")
        )
        starts_at = max(now, latest_end) if latest_end else now
        return starts_at, starts_at + timedelta(hours=plan.duration_hours)
    expires_at = now + timedelta(days=plan.validity_days) if plan.validity_days else None
    return now, expires_at


def purchase_record(
    *,
    buyer,
    plan: Plan,
    payer_account: LedgerAccount,
    idempotency_key: str,
    order=None,
) -> Purchase:
    """Debit the price from `payer_account` and create the Purchase and its Pass.

    The caller holds a money_transaction and has checked the plan with
    plan_for_sale. One journal entry: payer -price, vendor payable +share,
    platform revenue +fee. Accounts are locked by entry_post (pk order); the
    service row's counter is touched after them, so every purchase takes its
    locks in the same order. The same key returns the first purchase.
    """
    service: Service = plan.service
    price = plan.price_paise
    fee, share = fee_split(price)
    legs = [Leg(payer_account, -price)]
    if share:
        legs.append(Leg(vendor_payable_account(service.vendor.user), share))
    if fee:
        legs.append(Leg(platform_account(AccountKind.PLATFORM_REVENUE), fee))
    now = timezone.now()
    # The payer's row first, alone: it serialises this buyer's purchases (so a
    # renewal sees the pass bought just before it) while the shared rows - the
    # platform revenue account, the vendor's payable - are locked only from
    # entry_post to the commit, with as little work as possible in between.
    # A lock out of pk order can deadlock; PostgreSQL then aborts one side and
    # money_transaction retries it.
    wallet_locks.accounts_for_update([payer_account.pk])
    starts_at, expires_at = _pass_window(buyer=buyer, plan=plan, now=now)
    units = plan.units if plan.kind == PlanKind.USAGE else None
    entry = entry_post(
        kind=EntryKind.PURCHASE,
        legs=legs,
        memo=f"{service.name} · {plan.name}",
        category=service.category.name,
        idempotency_key=f"purchase:{buyer.pk}:{idempotency_key}",
        metadata={"plan": plan.pk, "service": service.pk, "order": order.pk if order else None},
        acting_user=buyer,
    )
    # A racing twin with the same key that committed first makes entry_post hand
    # back its entry; inserting our Purchase then breaks the (buyer, key) unique
    # constraint and money_transaction retries, finding the twin's purchase.
    purchase = Purchase.objects.create(
        buyer=buyer,
        plan=plan,
        service=service,
        vendor=service.vendor,
        price_paise=price,
        fee_paise=fee,
        vendor_share_paise=share,
        entry=entry,
        order=order,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    Pass.objects.create(
        purchase=purchase,
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
    Service.objects.filter(pk=service.pk).update(purchases_count=F("purchases_count") + 1)
    vendor_events.purchase_event_record(purchase=purchase, event_type="pass.purchased")

    rewards.rewards_on_purchase(purchase=purchase)
    notify(
        user=buyer,
        kind="purchase_receipt",
        title=f"Receipt {purchase.number}: {service.name} · {plan.name}",
        url=f"/receipts/{purchase.pk}/",
    )
    purchase_id = purchase.pk
    # robust: a failing email must never turn a committed purchase into an error page.
    transaction.on_commit(lambda: _receipt_email_later(purchase_id), robust=True)
    return purchase


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
    existing = Purchase.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None:
        if existing.plan_id != plan.pk:
            raise IdempotencyConflict("This idempotency key was already used for another plan.")
        return existing
    fresh = plan_for_sale(plan_id=plan.pk, buyer=buyer)
    if expected_price_paise is not None and expected_price_paise != fresh.price_paise:
        raise PriceChanged(
            "The price of this plan has changed. Check the new price and try again.",
            price_paise=fresh.price_paise,
        )
    wallet = wallet_ensure(user=buyer)
    return purchase_record(
        buyer=buyer, plan=fresh, payer_account=wallet.available, idempotency_key=key
    )
