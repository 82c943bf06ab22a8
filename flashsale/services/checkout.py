"""Checkout: pay for a hold from the wallet, confirm it, grant what was bought. Once.

One money_transaction does it all: the hold flips `active -> confirmed` by a
conditional UPDATE (only while `expires_at > now`), the money moves in one
journal entry, the order and its inventory event are written. A double click
or a retry finds the hold confirmed and gets the same order back; a checkout
racing the expiry job has exactly one winner, because both flip the same row
from `active` and PostgreSQL lets only one of them see it still active.
If the wallet cannot pay, everything rolls back and the hold stays active.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from flashsale import live
from flashsale.errors import HoldClosed, HoldExpired, HoldNotFound, SaleNotLive
from flashsale.models import (
    EventKind,
    FlashOrder,
    FlashPayment,
    Hold,
    HoldStatus,
    SaleItem,
)
from flashsale.selectors import item_related
from flashsale.services.holds import hold_expire
from flashsale.services.stock import event_append
from flexpass.money import percent_of
from wallet.models import AccountKind, EntryKind
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    platform_account,
    vendor_payable_account,
    wallet_ensure,
)

CATEGORY = "flash sale"


def platform_fee(amount_paise: int) -> int:
    """The platform's cut of a vendor's flash-sale item (flexpass.money rounding)."""
    return percent_of(amount_paise, Decimal(settings.FLASH_PLATFORM_FEE_PERCENT))


def hold_checkout(
    *, user, hold_id: int, request_key: str | None = None, now=None
) -> tuple[FlashOrder, bool]:
    """Pay for `hold_id` from the user's wallet. Returns (order, created).

    Raises HoldNotFound (not the user's), HoldExpired (its time ran out: the
    units go back now if no job has returned them yet), HoldClosed (released),
    InsufficientFunds (nothing changes; the hold stays active until it expires).
    `request_key` is kept on the order, so a caller can tell its own retry from
    another request for the same hold.
    """
    now = now or timezone.now()
    try:
        order, created = _checkout(user=user, hold_id=hold_id, request_key=request_key, now=now)
    except HoldExpired:
        hold_expire(hold_id=hold_id, now=now)  # lazy expiry: no waiting for the beat job
        raise
    if created and FlashPayment.objects.filter(hold_id=hold_id).exists():
        from flashsale.services.payments import payments_close_for_hold

        # Paid from the wallet after all: a card payment still open gives its wallet part back.
        payments_close_for_hold(hold_id=hold_id, reason="Paid from your wallet instead.")
    return order, created


@money_transaction
def _checkout(*, user, hold_id: int, request_key: str | None, now) -> tuple[FlashOrder, bool]:
    hold = Hold.objects.select_related(*item_related("item__")).filter(pk=hold_id).first()
    if hold is None or hold.user_id != user.pk:
        raise HoldNotFound(f"You have no hold #{hold_id}.")
    if hold.is_open(now):  # (one that ran out is answered as expired, its units back)
        refuse_if_taken_off(hold)
    order = hold_confirm_and_pay(
        user=user, hold=hold, paid_at=now, now=now, request_key=request_key
    )
    if order is None:
        return _already_resolved(hold, now), False
    return order, True


def refuse_if_taken_off(hold: Hold) -> None:
    """A hold on a sale staff cancelled or put back to draft is not paid for.

    Its void runs after the admin's save (a task); this covers the moments
    before it, or a void that failed.
    """
    if hold.sale_taken_off:
        raise SaleNotLive(
            "This sale was taken off, so this hold cannot be paid; nothing was charged."
        )


def hold_confirm_and_pay(
    *, user, hold: Hold, paid_at, now, payment=None, request_key: str | None = None
) -> FlashOrder | None:
    """Flip the hold `active -> confirmed` and pay its price from the available balance.

    The hold is confirmed only if it is still active (nobody expired, released
    or confirmed it) and it had not run out at `paid_at`: now for a wallet
    checkout, the moment the gateway part was captured for a mixed payment
    (`payment`). The flip is one conditional UPDATE on the hold row, the same
    row the expiry job flips, so exactly one of them wins. Returns the order,
    or None when the flip found nothing to confirm (nothing was written).
    The caller holds a money_transaction.
    """
    confirmed = Hold.objects.filter(
        pk=hold.pk, status=HoldStatus.ACTIVE, expires_at__gt=paid_at
    ).update(status=HoldStatus.CONFIRMED, resolved_at=now)
    if not confirmed:
        return None

    item: SaleItem = hold.item
    amount = hold.amount_paise
    if item.plan_id:
        entry, fee, purchase = _pay_for_plan(user=user, hold=hold, item=item, amount=amount)
    else:
        entry, fee = _pay_for_product(user=user, hold=hold, item=item, amount=amount)
        purchase = None
    order = FlashOrder.objects.create(
        hold=hold,
        user=user,
        item=item,
        quantity=hold.quantity,
        unit_price_paise=hold.unit_price_paise,
        amount_paise=amount,
        fee_paise=fee,
        entry=entry,
        purchase=purchase,
        payment=payment,
        request_key=request_key,
        created_at=now,
    )
    metadata = {"user": user.pk, "order": order.pk, "amount_paise": amount}
    if payment is not None:
        metadata["payment"] = payment.pk
    event_append(
        item_id=item.pk, kind=EventKind.SALE_CONFIRMED, delta=0, hold=hold, metadata=metadata
    )
    live.stock_changed(item_id=item.pk, sale_id=item.sale_id)
    return order


def _already_resolved(hold: Hold, now) -> FlashOrder:
    hold.refresh_from_db(fields=["status"])
    if hold.status == HoldStatus.CONFIRMED:
        order = FlashOrder.objects.filter(hold=hold).first()
        if order is not None:
            return order  # a double click or a retry: the first checkout's order
    if hold.status == HoldStatus.RELEASED:
        raise HoldClosed("You released this hold. Hold the item again if it is still in stock.")
    raise HoldExpired("Your hold expired before checkout; its units went back to the sale.")


def _pay_for_product(*, user, hold: Hold, item: SaleItem, amount: int):
    """One entry: buyer -amount; platform revenue +amount, or vendor +share and platform +fee."""
    wallet = wallet_ensure(user=user)
    vendor = item.product.vendor
    fee = platform_fee(amount) if vendor else amount
    legs = [Leg(wallet.available, -amount)]
    if vendor and amount - fee:
        legs.append(Leg(vendor_payable_account(vendor), amount - fee))
    if fee:
        legs.append(Leg(platform_account(AccountKind.PLATFORM_REVENUE), fee))
    entry = entry_post(
        kind=EntryKind.PURCHASE,
        legs=legs,
        memo=f"Flash sale: {item.name}" + (f" × {hold.quantity}" if hold.quantity > 1 else ""),
        category=CATEGORY,
        idempotency_key=f"flashsale:hold:{hold.pk}:checkout",
        metadata={
            "hold": hold.pk,
            "item": item.pk,
            "sale": item.sale_id,
            "quantity": hold.quantity,
        },
        acting_user=user,
    )
    return entry, fee if vendor else 0


def _pay_for_plan(*, user, hold: Hold, item: SaleItem, amount: int):
    """A marketplace plan: the marketplace's own purchase service, at the sale price.

    purchase_record charges the price it is given, splits it with the
    marketplace fee and creates the Purchase and its Pass; the plan is
    re-checked for sale first (service live, plan active, not the buyer's
    own). One unit per hold for passes: a pass is personal.
    """
    from marketplace.services import plan_for_sale, purchase_record

    plan = plan_for_sale(plan_id=item.plan_id, buyer=user)
    wallet = wallet_ensure(user=user)
    purchase = purchase_record(
        buyer=user,
        plan=plan,
        payer_account=wallet.available,
        idempotency_key=f"flashsale-hold-{hold.pk}",
        price_paise=amount,
    )
    if purchase.price_paise != amount:  # the marketplace changed how it prices: refuse
        raise HoldClosed("This pass cannot be sold at the flash price right now.")
    return purchase.entry, purchase.fee_paise, purchase
