"""Mixed payment for a hold: the wallet pays what it has, UPI/card (a top-up) the rest.

The marketplace's mixed-payment machine does the work (marketplace.services.orders):
the same states and recorded steps, the wallet part reserved, the gateway part
a billing top-up credited exactly once. FLASH_FLOW only says where the rows
live (FlashPayment) and what fulfilling means: confirm the hold and pay its
price from the available balance, exactly like a wallet checkout.

The rule between a payment in flight and the hold's two minutes:

* The payment window is the hold's: a payment's `expires_at` is the hold's,
  and an uncaptured payment past it ends `expired` (wallet part released).
* A capture recorded before the hold ran out wins the unit: fulfilment
  confirms the hold if it is still active and `expires_at > captured_at`,
  even when it runs a moment after the expiry (the buyer's return, a page,
  the job). The expiry side leaves such a hold alone (hold_expire skips a
  hold whose pending payment was captured in time) and syncs it instead.
* A capture recorded after the hold ran out (or after it was released or
  paid another way) buys nothing: the payment ends `cancelled`, the whole
  amount - the released wallet part and the card money - stays in the
  buyer's wallet, and they get a notification saying so.
* Both sides flip the same hold row from `active` with a conditional UPDATE,
  so a capture racing the expiry job has exactly one winner; a webhook
  delivered twice credits once (billing) and fulfils once (the payment row
  is locked and moves only from payment_pending).
"""

from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from billing.models import TopUpStatus
from flashsale.errors import HoldClosed, HoldExpired, HoldNotFound, PaymentNotFound, SaleNotLive
from flashsale.models import FlashPayment, Hold, HoldStatus
from flashsale.selectors import item_related, payment_access
from flashsale.services.checkout import hold_confirm_and_pay, refuse_if_taken_off
from flashsale.services.holds import hold_expire
from flexpass.money import format_rupees
from marketplace.errors import OrderNotFound, PriceChanged
from marketplace.models import ORDER_OPEN_STATES, OrderStatus
from marketplace.services import orders
from marketplace.services.purchases import clean_idempotency_key
from support.models import NotificationKind
from support.services import notify
from wallet.errors import IdempotencyConflict
from wallet.services import money_transaction

S = OrderStatus


def _fulfil_hold(payment: FlashPayment) -> str:
    """FLASH_FLOW's fulfilment: confirm the hold if the capture came in time, then pay.

    A refusal (the hold ran out, was released, or its sale was taken off while the
    buyer was paying by card) cancels the payment and leaves the money in the wallet.
    """
    hold = Hold.objects.select_related(*item_related("item__")).get(pk=payment.hold_id)
    if hold.sale_taken_off:
        raise SaleNotLive("This sale was taken off before your UPI/card payment arrived.")
    now = timezone.now()
    paid_at = payment.topup.captured_at or now
    order = hold_confirm_and_pay(
        user=payment.buyer, hold=hold, paid_at=paid_at, now=now, payment=payment
    )
    if order is not None:
        return f"Order {order.number}"
    hold.refresh_from_db(fields=["status"])
    if hold.status == HoldStatus.CONFIRMED:
        raise HoldClosed("This hold was already paid for.")
    if hold.status == HoldStatus.RELEASED:
        raise HoldClosed("You released this hold before the payment arrived.")
    raise HoldExpired("Your hold ran out before the UPI/card payment arrived.")


def _on_cancelled(payment: FlashPayment) -> None:
    """A paid payment that bought nothing: tell the buyer where the money is."""
    back = payment.wallet_part_paise + payment.topup.amount_paise  # held part + card charge
    notify(
        user=payment.buyer_id,
        kind=NotificationKind.FLASH_PAYMENT_RETURNED,
        title=f"{format_rupees(back)} is back in your wallet",
        body=payment.failure_reason,
        url=reverse("flashsale:payment", args=[payment.pk]),
        dedupe_key=f"flashpay:{payment.pk}:cancelled",
    )


FLASH_FLOW = orders.OrderFlow(
    model=FlashPayment, fulfil=_fulfil_hold, key_prefix="flashpay", on_cancelled=_on_cancelled
)


def hold_pay_mixed(
    *, user, hold_id: int, idempotency_key: str, expected_amount_paise=None, now=None
) -> FlashPayment:
    """Pay for a hold with what the wallet has plus UPI/card for the rest.

    Reserves the wallet part and opens a top-up for the gateway part (at
    least the smallest top-up; anything over stays in the wallet). The price
    is always the server's: `expected_amount_paise`, when given, must match
    it (PriceChanged otherwise). The same key returns the same payment, and
    a hold has at most one open payment: a second request (a double click,
    another tab) gets that one. Returns the payment in payment_pending (or
    payment_failed when the gateway refused). Refusals: HoldNotFound,
    HoldExpired (the units go back now), HoldClosed (released or paid),
    OrderNotNeeded (the wallet covers it: use hold_checkout), and the plan
    refusals of the marketplace for pass items.
    """
    key = clean_idempotency_key(idempotency_key)
    now = now or timezone.now()
    for attempt in (1, 2):
        try:
            payment = _payment_open(
                user=user, hold_id=hold_id, key=key, expected=expected_amount_paise, now=now
            )
            break
        except HoldExpired:
            hold_expire(hold_id=hold_id, now=now)  # lazy expiry: the units go back now
            raise
        except IntegrityError:
            if attempt == 2:  # a concurrent open won: the second pass returns its payment
                raise
    if payment.status == S.FUNDS_RESERVED:  # new, or a retry after a crash between steps
        payment = orders.order_request_payment(order=payment, flow=FLASH_FLOW)
    return payment


@money_transaction
def _payment_open(*, user, hold_id: int, key: str, expected, now) -> FlashPayment:
    existing = FlashPayment.objects.filter(buyer=user, idempotency_key=key).first()
    if existing is not None:
        if existing.hold_id != hold_id:
            raise IdempotencyConflict("This idempotency key was already used for another hold.")
        return existing
    hold = Hold.objects.select_related(*item_related("item__")).filter(pk=hold_id).first()
    if hold is None or hold.user_id != user.pk:
        raise HoldNotFound(f"You have no hold #{hold_id}.")
    if hold.status == HoldStatus.CONFIRMED:
        raise HoldClosed("This hold is already paid for.")
    if hold.status == HoldStatus.RELEASED:
        raise HoldClosed("You released this hold. Hold the item again if it is still in stock.")
    if not hold.is_open(now):
        raise HoldExpired("Your hold expired before checkout; its units went back to the sale.")
    refuse_if_taken_off(hold)
    open_payment = (
        FlashPayment.objects.filter(hold=hold, status__in=ORDER_OPEN_STATES).order_by("-pk").first()
    )
    if open_payment is not None:
        return open_payment  # one open payment per hold: a second click continues the first
    item = hold.item
    price = hold.amount_paise
    if expected is not None and expected != price:
        raise PriceChanged(
            f"This hold costs {format_rupees(price)}. Check the amount and try again.",
            price_paise=price,
        )
    if item.plan_id:
        from marketplace.services import plan_for_sale

        plan_for_sale(plan_id=item.plan_id, buyer=user)  # refuse now, not after the payment
    return orders.order_open_split(
        flow=FLASH_FLOW,
        buyer=user,
        price_paise=price,
        key=key,
        expires_at=hold.expires_at,
        fields={"hold": hold},
        note=f"{item.name} × {hold.quantity}" if hold.quantity > 1 else item.name,
        now=now,
    )


def payment_sync(*, payment_id: int, now=None) -> FlashPayment:
    """Bring a payment up to date with its top-up and the clock. Safe any time, any number."""
    return orders.order_sync(order_id=payment_id, now=now, flow=FLASH_FLOW)


def payment_note_return(
    *, user, payment_id, gateway_order_id: str, payment_ref: str, signature: str
) -> FlashPayment:
    """The buyer came back from checkout (browser or app): verify the signed payment, sync."""
    payment = payment_access(user=user, payment_id=payment_id)
    try:
        return orders.order_note_return(
            buyer=user,
            order_id=payment.pk,
            gateway_order_id=gateway_order_id,
            payment_id=payment_ref,
            signature=signature,
            flow=FLASH_FLOW,
        )
    except OrderNotFound as exc:
        raise PaymentNotFound(str(exc)) from None


def payment_cancel(*, user, payment_id) -> FlashPayment:
    """The buyer gives up on paying by card: the held wallet part goes back; the hold runs on."""
    payment = payment_access(user=user, payment_id=payment_id)
    return orders.order_close(
        order_id=payment.pk,
        to_status=S.CANCELLED,
        reason="Cancelled by you. Nothing was charged.",
        flow=FLASH_FLOW,
    )


def payments_close_for_hold(
    *, hold_id: int, reason: str = "You released the hold. Nothing was charged."
) -> int:
    """The hold was released or paid otherwise: cancel its open payments (wallet parts back).

    A card payment captured meanwhile stays in the wallet, as the rule says.
    """
    ids = list(
        FlashPayment.objects.filter(hold_id=hold_id, status__in=ORDER_OPEN_STATES).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        if payment_sync(payment_id=pk).status not in ORDER_OPEN_STATES:
            continue  # captured meanwhile: cancelled by the sync, the money in the wallet
        orders.order_close(
            order_id=pk,
            to_status=S.CANCELLED,
            reason=reason,
            flow=FLASH_FLOW,
        )
    return len(ids)


def payments_sync_due(*, now=None, limit: int = 500) -> dict[str, int]:
    """The periodic job: fulfil captured payments, fail failed ones, expire overdue ones."""
    return orders.orders_sync_due(now=now, limit=limit, flow=FLASH_FLOW)


def payments_sync_captured(*, hold_ids, now=None) -> int:
    """Fulfil the captured payments of these holds now (the expiry path calls this first)."""
    ids = list(
        FlashPayment.objects.filter(
            hold_id__in=list(hold_ids),
            status=S.PAYMENT_PENDING,
            topup__status=TopUpStatus.CAPTURED,
        ).values_list("pk", flat=True)
    )
    return sum(payment_sync(payment_id=pk, now=now).status == S.FULFILLED for pk in ids)
