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

The same machine pays for other things: an OrderFlow names the table (any
model with the Order's payment fields and a `transitions` relation) and what
"fulfil" means. MARKETPLACE buys a plan; flashsale's FLASH_FLOW confirms a
hold (flashsale/services/payments.py). Everything else - the steps, the
reservation, the top-up, the sync - is this module's, once.
"""

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class OrderFlow:
    """One kind of mixed-payment order: its table and what fulfilling it means.

    `model` has the Order's payment fields (buyer, price and parts, status,
    reservation, topup, idempotency_key, failure_reason, expires_at,
    updated_at, `number`) and a `transitions` relation with from_status,
    to_status, note and created_at. `fulfil(order)` runs in the order's
    transaction (its row locked, the reservation already released, the
    gateway money in the available balance) inside a savepoint: it pays from
    the available balance and returns the note of the fulfilled step, or
    raises a DomainError and the order is cancelled with the money kept in
    the wallet. `key_prefix` scopes the top-up's idempotency key per table.
    `on_cancelled(order)`, if given, runs after a paid order was cancelled.
    """

    model: type
    fulfil: Callable
    key_prefix: str
    on_cancelled: Callable | None = None


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
    moved = (
        type(order)
        ._default_manager.filter(pk=order.pk, status=from_status)
        .update(status=to_status, updated_at=now)
    )
    if moved != 1:
        raise OrderClosed("This order changed meanwhile. Reload to see where it is.")
    order.transitions.create(
        from_status=from_status, to_status=to_status, note=note[:200], created_at=now
    )
    order.status, order.updated_at = to_status, now
    return order


def _lock(order_id: int, flow: OrderFlow) -> Order:
    return (
        flow.model._default_manager.select_for_update(of=("self",))
        .select_related("buyer", "topup")
        .get(pk=order_id)
    )


def _set_failure(order, reason: str) -> None:
    type(order)._default_manager.filter(pk=order.pk).update(failure_reason=reason[:200])
    order.failure_reason = reason[:200]


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
    now = timezone.now()
    return order_open_split(
        flow=MARKETPLACE,
        buyer=buyer,
        price_paise=price,
        key=key,
        expires_at=now + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES),
        fields={"plan": fresh, "service": fresh.service},
        note=f"{fresh.service.name} · {fresh.name}",
        now=now,
    )


def order_open_split(
    *, flow: OrderFlow, buyer, price_paise: int, key: str, expires_at, fields: dict, note: str, now
):
    """Create an order of `flow` for `price_paise`, split it and hold the wallet part.

    The caller holds a money_transaction and has checked what is bought and
    its price. The wallet's available row is locked while the price is split,
    so the split stays true: the wallet part (all it has) is reserved, the
    rest is the gateway part, asked for as at least the smallest top-up.
    Returns the order in funds_reserved; raises OrderNotNeeded when the
    wallet covers the price.
    """
    wallet = wallet_ensure(user=buyer)
    available = wallet_locks.accounts_for_update([wallet.available_id])[wallet.available_id]
    if available.balance_paise >= price_paise:
        raise OrderNotNeeded("Your wallet covers this purchase: pay from the wallet instead.")
    wallet_part = max(0, available.balance_paise)
    gateway_part = price_paise - wallet_part
    order = flow.model._default_manager.create(
        buyer=buyer,
        price_paise=price_paise,
        wallet_part_paise=wallet_part,
        gateway_part_paise=gateway_part,
        gateway_charge_paise=max(gateway_part, settings.TOPUP_MIN_PAISE),
        status="",
        idempotency_key=key,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
        **fields,
    )
    order_transition(order=order, to_status=S.CREATED, note=note)
    if wallet_part:
        wallet.available = available
        reservation = reservation_create(
            wallet=wallet,
            amount_paise=wallet_part,
            purpose="order",
            idempotency_key=f"{flow.key_prefix}:{order.pk}:reserve",
            expires_at=order.expires_at + RESERVATION_GRACE,
            memo=f"Held for order {order.number}",
        )
        flow.model._default_manager.filter(pk=order.pk).update(reservation=reservation)
        order.reservation = reservation
        note = f"{format_rupees(wallet_part)} held from the wallet"
    else:
        note = "Nothing to hold: the wallet is empty"
    order_transition(order=order, to_status=S.FUNDS_RESERVED, note=note)
    return order


def _fulfil_plan(order: Order) -> str:
    """MARKETPLACE's fulfilment: buy the order's plan from the available balance, at the
    order's price - what the buyer agreed to and what the hold plus the card part add up
    to, even if the vendor changed the plan's price meanwhile."""
    plan = plan_for_sale(plan_id=order.plan_id, buyer=order.buyer)
    wallet = wallet_ensure(user=order.buyer)
    purchase = purchase_record(
        buyer=order.buyer,
        plan=plan,
        payer_account=wallet.available,
        idempotency_key=f"order:{order.pk}",
        order=order,
        price_paise=order.price_paise,
    )
    return f"Receipt {purchase.number}"


MARKETPLACE = OrderFlow(model=Order, fulfil=_fulfil_plan, key_prefix="order")


@money_transaction
def _order_fail(*, order_id: int, reason: str, flow: OrderFlow = MARKETPLACE) -> Order:
    order = _lock(order_id, flow)
    if order.status in ORDER_OPEN_STATES:
        order_transition(order=order, to_status=S.PAYMENT_FAILED, note=reason)
        _set_failure(order, reason)
        _release(order)
    return order


@money_transaction
def _order_attach_topup(*, order_id: int, topup, flow: OrderFlow = MARKETPLACE) -> Order:
    order = _lock(order_id, flow)
    if order.status == S.FUNDS_RESERVED:
        type(order)._default_manager.filter(pk=order.pk).update(topup=topup)
        order.topup = topup
        order_transition(
            order=order,
            to_status=S.PAYMENT_PENDING,
            note=f"Waiting for {format_rupees(order.gateway_charge_paise)} by UPI/card",
        )
    return order


def order_request_payment(*, order, flow: OrderFlow = MARKETPLACE):
    """Open the gateway part (a top-up) of an order in funds_reserved.

    No database lock is held during the gateway call. Returns the order in
    payment_pending, or payment_failed (reservation released) when billing
    refused.
    """
    try:
        topup = billing_services.topup_create(
            user=order.buyer,
            amount_paise=order.gateway_charge_paise,
            idempotency_key=f"{flow.key_prefix}:{order.pk}",
        )
    except DomainError as exc:
        logger.info("order %s: the gateway part could not be opened: %s", order.number, exc)
        return _order_fail(order_id=order.pk, reason=str(exc), flow=flow)
    return _order_attach_topup(order_id=order.pk, topup=topup, flow=flow)


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
        order = order_request_payment(order=order)
    return order


# --- learning about the payment -------------------------------------------------------------


@money_transaction
def _order_complete(*, order_id: int, flow: OrderFlow = MARKETPLACE) -> Order:
    """The gateway part arrived: paid, then fulfilled - or cancelled if it cannot be delivered."""
    order = _lock(order_id, flow)
    if order.status != S.PAYMENT_PENDING:
        return order
    order_transition(
        order=order,
        to_status=S.PAID,
        note=f"{format_rupees(order.topup.amount_paise)} received by UPI/card",
    )
    try:
        with transaction.atomic():  # a savepoint: a refused fulfilment undoes only itself
            _release(order)
            note = flow.fulfil(order)
    except DomainError as exc:
        reason = (
            f"{exc} The payment is in your wallet."
            if str(exc)
            else "The order could not be delivered. The payment is in your wallet."
        )
        order_transition(order=order, to_status=S.CANCELLED, note=reason)
        _set_failure(order, reason)
        _release(order)
        if flow.on_cancelled is not None:
            flow.on_cancelled(order)
        return order
    order_transition(order=order, to_status=S.FULFILLED, note=note)
    return order


@money_transaction
def _order_close(
    *, order_id: int, to_status: str, reason: str, flow: OrderFlow = MARKETPLACE
) -> Order:
    order = _lock(order_id, flow)
    if order.status not in ORDER_OPEN_STATES:
        return order
    order_transition(order=order, to_status=to_status, note=reason)
    _set_failure(order, reason)
    _release(order, expired=to_status == S.EXPIRED)
    return order


def order_close(*, order_id: int, to_status: str, reason: str, flow: OrderFlow = MARKETPLACE):
    """Close an open order as cancelled or expired, releasing the held wallet part.

    A no-op on an order that is already final. For flows whose owner decides
    an order is over (flashsale: the buyer released the hold).
    """
    if to_status not in (S.CANCELLED, S.EXPIRED):
        raise IllegalOrderTransition(
            f"An order is not closed as {to_status}.", from_status="", to_status=to_status
        )
    return _order_close(order_id=order_id, to_status=to_status, reason=reason, flow=flow)


def order_sync(*, order_id: int, now=None, flow: OrderFlow = MARKETPLACE) -> Order:
    """Bring an open order up to date with its payment and the clock. Safe to call any time.

    Captured -> paid -> fulfilled (a capture is honoured even when it is seen
    after the order's expiry: fulfilment decides); failed -> payment_failed;
    past its expiry (or its top-up expired) -> expired. Every path releases
    the reservation when the order does not complete.
    """
    now = now or timezone.now()
    order = flow.model._default_manager.select_related("topup").filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound("No such order.")
    if order.status not in ORDER_OPEN_STATES:
        return order
    topup_status = order.topup.status if order.topup_id else None
    if order.status == S.PAYMENT_PENDING and topup_status == TopUpStatus.CAPTURED:
        return _order_complete(order_id=order.pk, flow=flow)
    if order.status == S.PAYMENT_PENDING and topup_status == TopUpStatus.FAILED:
        reason = order.topup.failure_reason or "The UPI/card payment did not go through."
        return _order_fail(order_id=order.pk, reason=reason, flow=flow)
    if order.expires_at <= now or topup_status == TopUpStatus.EXPIRED:
        return _order_close(
            order_id=order.pk,
            to_status=S.EXPIRED,
            reason="No payment arrived in time. The held wallet money is back.",
            flow=flow,
        )
    if order.status == S.FUNDS_RESERVED:  # the gateway step never finished: resume it
        fresh = flow.model._default_manager.select_related("buyer").get(pk=order.pk)
        return order_request_payment(order=fresh, flow=flow)
    return order


def orders_sync_due(*, now=None, limit: int = 500, flow: OrderFlow = MARKETPLACE) -> dict[str, int]:
    """The periodic job: sync every open order (capture seen, failed, or overdue)."""
    now = now or timezone.now()
    counts = {"fulfilled": 0, "failed": 0, "expired": 0, "cancelled": 0, "open": 0}
    ids = list(
        flow.model._default_manager.filter(status__in=ORDER_OPEN_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for order_id in ids:
        try:
            status = order_sync(order_id=order_id, now=now, flow=flow).status
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
    *,
    buyer,
    order_id,
    gateway_order_id: str,
    payment_id: str,
    signature: str,
    flow: OrderFlow = MARKETPLACE,
) -> Order:
    """The buyer came back from checkout: hand the signed payment to billing, then sync.

    Billing verifies the signature against the order id it stored; a mismatch
    raises InvalidPaymentSignature and credits nothing.
    """
    order = flow.model._default_manager.select_related("topup").filter(pk=order_id).first()
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
    return order_sync(order_id=order.pk, flow=flow)
