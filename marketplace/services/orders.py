"""Mixed payment: the wallet pays what it has (reserved), the gateway pays the rest.

The order's state machine never skips a state, and every step is an
OrderTransition row with its time:

    created -> funds_reserved -> payment_pending -> paid -> fulfilled
    failures: payment_failed, cancelled, expired (from any open state);
    paid -> cancelled only when the pass can no longer be delivered
    (service paused meanwhile, or the wallet money was spent elsewhere),
    in which case the gateway money stays in the buyer's wallet.

The gateway part is a billing top-up: when it is captured, billing credits the
buyer's available balance exactly once. Billing knows nothing about orders, so
an order learns about the capture by looking at its TopUp's status - when the
buyer comes back from checkout, when a page or the API asks, and in the
periodic job (orders_sync_due). Fulfilment then releases the reserved part and
buys the pass from the available balance through purchase_record, all in one
transaction, so rewards and receipts happen exactly once per order.
"""

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import services as billing_services
from billing.models import TopUpStatus
from flexpass.errors import DomainError
from flexpass.money import format_rupees
from marketplace.errors import (
    IllegalOrderTransition,
    OrderClosed,
    OrderNotFound,
    OrderNotNeeded,
    PriceChanged,
)
from marketplace.models import (
    ORDER_OPEN_STATES,
    Order,
    OrderStatus,
    OrderTransition,
    Plan,
)
from marketplace.services.purchases import clean_idempotency_key, plan_for_sale, purchase_record
from wallet import lock_objects as wallet_locks
from wallet.errors import IdempotencyConflict, ReservationClosed
from wallet.models import ReservationStatus
from wallet.services import money_transaction, reservation_create, reservation_void, wallet_ensure

logger = logging.getLogger(__name__)

S = OrderStatus
# Every legal edge. "" is "no state yet". Anything not listed is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({S.CREATED}),
    S.CREATED: frozenset({S.FUNDS_RESERVED, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED}),
    S.FUNDS_RESERVED: frozenset({S.PAYMENT_PENDING, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED}),
    S.PAYMENT_PENDING: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED}),
    S.PAID: frozenset({S.FULFILLED, S.CANCELLED}),
    S.FULFILLED: frozenset(),
    S.PAYMENT_FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
FINAL_STATES = frozenset(s for s, targets in TRANSITIONS.items() if s and not targets)
# The reservation outlives the order a little, so the order (not the wallet's
# own expiry job) is what releases it.
RESERVATION_GRACE = timedelta(minutes=30)


def order_transition(*, order: Order, to_status: str, note: str = "") -> Order:
    """Move `order` one step and record it. The caller holds a transaction.

    Raises IllegalOrderTransition for an edge the machine does not have, and
    OrderClosed when the order moved meanwhile (a conditional UPDATE decides,
    so two racing steps cannot both happen).
    """
    from_status = order.status
    if to_status not in TRANSITIONS.get(from_status, frozenset()):
        raise IllegalOrderTransition(
            f"An order cannot go from {from_status or 'nothing'} to {to_status}.",
            from_status=from_status,
            to_status=to_status,
        )
    now = timezone.now()
    moved = Order.objects.filter(pk=order.pk, status=from_status).update(
        status=to_status, updated_at=now
    )
    if moved != 1:
        raise OrderClosed("This order changed meanwhile. Reload to see where it is.")
    OrderTransition.objects.create(
        order=order, from_status=from_status, to_status=to_status, note=note[:200], created_at=now
    )
    order.status, order.updated_at = to_status, now
    return order


def _lock(order_id: int) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("buyer", "topup", "plan")
        .get(pk=order_id)
    )


def _release(order: Order, *, expired: bool = False) -> None:
    """Give the reserved wallet part back (if still held). The caller holds the order lock."""
    if order.reservation_id is None:
        return
    reservation = wallet_locks.reservation_for_update(order.reservation_id)
    if reservation.status != ReservationStatus.PENDING:
        return  # the wallet's own expiry released it already
    with contextlib.suppress(ReservationClosed):
        reservation_void(
            reservation=reservation,
            expired=expired,
            memo=f"Released: order {order.number} {'expired' if expired else 'closed'}",
        )


# --- opening an order -----------------------------------------------------------------------


@money_transaction
def _order_open(*, buyer, plan: Plan, key: str, expected_price_paise: int | None) -> Order:
    existing = Order.objects.filter(buyer=buyer, idempotency_key=key).first()
    if existing is not None:
        if existing.plan_id != plan.pk:
            raise IdempotencyConflict("This idempotency key was already used for another plan.")
        return existing
    fresh = plan_for_sale(plan_id=plan.pk, buyer=buyer)
    price = fresh.price_paise
    if expected_price_paise is not None and expected_price_paise != price:
        raise PriceChanged(
            "The price of this plan has changed. Check the new price and try again.",
            price_paise=price,
        )
    wallet = wallet_ensure(user=buyer)
    # Hold the wallet's row while we split the price, so the split stays true.
    available = wallet_locks.accounts_for_update([wallet.available_id])[wallet.available_id]
    if available.balance_paise >= price:
        raise OrderNotNeeded("Your wallet covers this purchase: pay from the wallet instead.")
    wallet_part = max(0, available.balance_paise)
    gateway_part = price - wallet_part
    now = timezone.now()
    order = Order.objects.create(
        buyer=buyer,
        plan=fresh,
        service=fresh.service,
        price_paise=price,
        wallet_part_paise=wallet_part,
        gateway_part_paise=gateway_part,
        gateway_charge_paise=max(gateway_part, settings.TOPUP_MIN_PAISE),
        status="",
        idempotency_key=key,
        expires_at=now + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES),
        created_at=now,
        updated_at=now,
    )
    order_transition(order=order, to_status=S.CREATED, note=f"{fresh.service.name} · {fresh.name}")
    if wallet_part:
        wallet.available = available
        reservation = reservation_create(
            wallet=wallet,
            amount_paise=wallet_part,
            purpose="order",
            idempotency_key=f"order:{order.pk}:reserve",
            expires_at=order.expires_at + RESERVATION_GRACE,
            memo=f"Held for order {order.number}",
        )
        Order.objects.filter(pk=order.pk).update(reservation=reservation)
        order.reservation = reservation
        note = f"{format_rupees(wallet_part)} held from the wallet"
    else:
        note = "Nothing to hold: the wallet is empty"
    order_transition(order=order, to_status=S.FUNDS_RESERVED, note=note)
    return order


@money_transaction
def _order_fail(*, order_id: int, reason: str) -> Order:
    order = _lock(order_id)
    if order.status in ORDER_OPEN_STATES:
        order_transition(order=order, to_status=S.PAYMENT_FAILED, note=reason)
        Order.objects.filter(pk=order.pk).update(failure_reason=reason[:200])
        order.failure_reason = reason[:200]
        _release(order)
    return order


@money_transaction
def _order_attach_topup(*, order_id: int, topup) -> Order:
    order = _lock(order_id)
    if order.status == S.FUNDS_RESERVED:
        Order.objects.filter(pk=order.pk).update(topup=topup)
        order.topup = topup
        order_transition(
            order=order,
            to_status=S.PAYMENT_PENDING,
            note=f"Waiting for {format_rupees(order.gateway_charge_paise)} by UPI/card",
        )
    return order


def _request_payment(order: Order) -> Order:
    """Open the gateway part (a top-up) - no database lock is held during the gateway call."""
    try:
        topup = billing_services.topup_create(
            user=order.buyer,
            amount_paise=order.gateway_charge_paise,
            idempotency_key=f"order:{order.pk}",
        )
    except DomainError as exc:
        logger.info("order %s: the gateway part could not be opened: %s", order.pk, exc)
        return _order_fail(order_id=order.pk, reason=str(exc))
    return _order_attach_topup(order_id=order.pk, topup=topup)


def order_create(
    *, buyer, plan: Plan, idempotency_key: str, expected_price_paise: int | None = None
) -> Order:
    """Open a mixed-payment order for `plan`. Same key -> same order.

    Reserves what the wallet has and opens a gateway payment for the rest
    (at least the smallest top-up; anything above the price stays in the
    wallet). Returns the order in payment_pending, or payment_failed with a
    reason when the gateway refused. Raises OrderNotNeeded when the wallet
    covers the price, and the purchase refusals of plan_for_sale.
    """
    key = clean_idempotency_key(idempotency_key)
    order = _order_open(buyer=buyer, plan=plan, key=key, expected_price_paise=expected_price_paise)
    if order.status == S.FUNDS_RESERVED:  # new, or a retry after a crash between the steps
        order = _request_payment(order)
    return order


# --- learning about the payment -------------------------------------------------------------


@money_transaction
def _order_complete(*, order_id: int) -> Order:
    """The gateway part arrived: paid, then fulfilled - or cancelled if the pass cannot be had."""
    order = _lock(order_id)
    if order.status != S.PAYMENT_PENDING:
        return order
    order_transition(
        order=order,
        to_status=S.PAID,
        note=f"{format_rupees(order.topup.amount_paise)} received by UPI/card",
    )
    try:
        with transaction.atomic():  # a savepoint: a refused purchase undoes only itself
            plan = plan_for_sale(plan_id=order.plan_id, buyer=order.buyer)
            _release(order)
            wallet = wallet_ensure(user=order.buyer)
            purchase = purchase_record(
                buyer=order.buyer,
                plan=plan,
                payer_account=wallet.available,
                idempotency_key=f"order:{order.pk}",
                order=order,
            )
    except DomainError as exc:
        reason = (
            f"{exc} The payment is in your wallet."
            if str(exc)
            else "The pass could not be delivered. The payment is in your wallet."
        )
        order_transition(order=order, to_status=S.CANCELLED, note=reason)
        Order.objects.filter(pk=order.pk).update(failure_reason=reason[:200])
        order.failure_reason = reason[:200]
        _release(order)
        return order
    order_transition(order=order, to_status=S.FULFILLED, note=f"Receipt {purchase.number}")
    return order


@money_transaction
def _order_close(*, order_id: int, to_status: str, reason: str) -> Order:
    order = _lock(order_id)
    if order.status not in ORDER_OPEN_STATES:
        return order
    order_transition(order=order, to_status=to_status, note=reason)
    Order.objects.filter(pk=order.pk).update(failure_reason=reason[:200])
    order.failure_reason = reason[:200]
    _release(order, expired=to_status == S.EXPIRED)
    return order


def order_sync(*, order_id: int, now=None) -> Order:
    """Bring an open order up to date with its payment and the clock. Safe to call any time.

    Captured -> paid -> fulfilled; failed -> payment_failed; past its expiry
    (or its top-up expired) -> expired. Every path releases the reservation
    when the order does not complete.
    """
    now = now or timezone.now()
    order = Order.objects.select_related("topup").filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound("No such order.")
    if order.status not in ORDER_OPEN_STATES:
        return order
    topup_status = order.topup.status if order.topup_id else None
    if order.status == S.PAYMENT_PENDING and topup_status == TopUpStatus.CAPTURED:
        return _order_complete(order_id=order.pk)
    if order.status == S.PAYMENT_PENDING and topup_status == TopUpStatus.FAILED:
        reason = order.topup.failure_reason or "The UPI/card payment did not go through."
        return _order_fail(order_id=order.pk, reason=reason)
    if order.expires_at <= now or topup_status == TopUpStatus.EXPIRED:
        return _order_close(
            order_id=order.pk,
            to_status=S.EXPIRED,
            reason="No payment arrived in time. The held wallet money is back.",
        )
    if order.status == S.FUNDS_RESERVED:  # the gateway step never finished: resume it
        return _request_payment(Order.objects.select_related("buyer").get(pk=order.pk))
    return order


def orders_sync_due(*, now=None, limit: int = 500) -> dict[str, int]:
    """The periodic job: sync every open order (capture seen, failed, or overdue)."""
    now = now or timezone.now()
    counts = {"fulfilled": 0, "failed": 0, "expired": 0, "cancelled": 0, "open": 0}
    ids = list(Order.objects.open().order_by("pk").values_list("pk", flat=True)[:limit])
    for order_id in ids:
        try:
            status = order_sync(order_id=order_id, now=now).status
        except Exception:  # one broken order must not stop the others
            logger.exception("order %s could not be synced", order_id)
            continue
        key = {
            S.FULFILLED: "fulfilled",
            S.PAYMENT_FAILED: "failed",
            S.EXPIRED: "expired",
            S.CANCELLED: "cancelled",
        }.get(status, "open")
        counts[key] += 1
    return counts


def order_cancel(*, buyer, order_id) -> Order:
    """The buyer gives up on an open order; the held wallet money goes back."""
    order = access_order_for_write(buyer=buyer, order_id=order_id)
    if order.status not in ORDER_OPEN_STATES:
        raise OrderClosed("This order is already finished and cannot be cancelled.")
    order = _order_close(
        order_id=order.pk, to_status=S.CANCELLED, reason="Cancelled by you. Nothing was charged."
    )
    if order.status != S.CANCELLED:
        raise OrderClosed("This order finished meanwhile and cannot be cancelled.")
    return order


def access_order_for_write(*, buyer, order_id) -> Order:
    try:
        order_id = int(order_id)
    except (TypeError, ValueError):
        raise OrderNotFound("No such order.") from None
    order = Order.objects.filter(pk=order_id, buyer=buyer).first()
    if order is None:
        raise OrderNotFound("No such order.")
    return order


def order_note_return(
    *, buyer, order_id, gateway_order_id: str, payment_id: str, signature: str
) -> Order:
    """The buyer came back from checkout: hand the signed payment to billing, then sync.

    Billing verifies the signature against the order id it stored; a mismatch
    raises InvalidPaymentSignature and credits nothing.
    """
    order = Order.objects.select_related("topup").filter(pk=order_id).first()
    if order is None or order.buyer_id != buyer.pk or order.topup is None:
        raise OrderNotFound("No such order.")
    if gateway_order_id and gateway_order_id != order.topup.gateway_order_id:
        raise OrderNotFound("That payment belongs to another order.")
    if signature:
        billing_services.topup_confirm_return(
            user=buyer, topup_id=order.topup_id, payment_id=payment_id, signature=signature
        )
    else:
        billing_services.topup_note_return_without_payment(topup=order.topup)
    return order_sync(order_id=order.pk)
