"""Mixed-payment orders: the state machine's every edge, and the flows through the simulated gateway."""

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from billing.gateways import simulator
from billing.models import TopUp, TopUpStatus
from marketplace import services
from marketplace.errors import IllegalOrderTransition, OrderClosed, OrderNotNeeded, PriceChanged
from marketplace.models import (
    Order,
    OrderStatus,
    OrderTransition,
    Pass,
    Purchase,
    Service,
    ServiceStatus,
)
from marketplace.services.orders import TRANSITIONS
from marketplace.tests.factories import assert_ledger_balanced, balance, fund
from wallet.models import ReservationStatus
from wallet.selectors import statement_lines, statement_postings
from wallet.services import vendor_payable_account, wallet_ensure

pytestmark = pytest.mark.django_db
S = OrderStatus
STATES = [s.value for s in OrderStatus]


# --- the state machine ----------------------------------------------------------------------


def _order_in(status: str, buyer, plan) -> Order:
    return Order.objects.create(
        buyer=buyer,
        plan=plan,
        service=plan.service,
        price_paise=4_900,
        wallet_part_paise=1_000,
        gateway_part_paise=3_900,
        gateway_charge_paise=3_900,
        status=status,
        idempotency_key=f"edge-{status}",
        expires_at=timezone.now() + timedelta(minutes=30),
    )


LEGAL = [(a, b) for a, b in product(STATES, STATES) if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in product(STATES, STATES) if b not in TRANSITIONS[a]]


def test_the_happy_path_is_one_chain_and_failures_are_final():
    chain = ["", S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING, S.PAID, S.FULFILLED]
    for here, there in zip(chain, chain[1:], strict=False):
        assert there in TRANSITIONS[here]
    # no shortcuts: nothing jumps over a step of the chain
    for i, here in enumerate(chain):
        for later in chain[i + 2 :]:
            assert later not in TRANSITIONS[here]
    for final in (S.FULFILLED, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED):
        assert TRANSITIONS[final] == frozenset()
    assert (len(LEGAL), len(ILLEGAL)) == (14, 50)


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_every_legal_edge_moves_and_is_recorded(buyer, plan, from_status, to_status):
    order = _order_in(from_status, buyer, plan)
    before = timezone.now()

    services.order_transition(order=order, to_status=to_status, note="why")

    order.refresh_from_db()
    step = OrderTransition.objects.get(order=order)
    assert order.status == to_status
    assert (step.from_status, step.to_status, step.note) == (from_status, to_status, "why")
    assert before <= step.created_at <= timezone.now()


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_every_illegal_edge_is_refused_and_changes_nothing(buyer, plan, from_status, to_status):
    order = _order_in(from_status, buyer, plan)

    with pytest.raises(IllegalOrderTransition):
        services.order_transition(order=order, to_status=to_status)

    order.refresh_from_db()
    assert order.status == from_status
    assert not OrderTransition.objects.exists()


def test_a_stale_order_object_cannot_move_twice(buyer, plan):
    order = _order_in(S.PAYMENT_PENDING, buyer, plan)
    stale = Order.objects.get(pk=order.pk)
    services.order_transition(order=order, to_status=S.EXPIRED)

    with pytest.raises(OrderClosed):
        services.order_transition(order=stale, to_status=S.PAID)

    assert Order.objects.get(pk=order.pk).status == S.EXPIRED
    assert OrderTransition.objects.count() == 1


# --- flows ----------------------------------------------------------------------------------


@pytest.fixture
def short_buyer(buyer):
    """₹10 in the wallet: ₹39 short of the ₹49 day pass."""
    fund(buyer, 1_000)
    return buyer


def _steps(order) -> list[str]:
    return list(order.transitions.order_by("id").values_list("to_status", flat=True))


def _pay(order, outcome="succeed") -> dict:
    order.refresh_from_db()
    return simulator().complete_checkout(order_id=order.topup.gateway_order_id, outcome=outcome)


def _return(order, fields) -> Order:
    return services.order_note_return(
        buyer=order.buyer,
        order_id=order.pk,
        gateway_order_id=fields.get("razorpay_order_id", ""),
        payment_id=fields.get("razorpay_payment_id", ""),
        signature=fields.get("razorpay_signature", ""),
    )


def test_an_order_holds_the_wallet_part_and_asks_the_gateway_for_the_rest(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")

    wallet = wallet_ensure(user=short_buyer)
    assert order.status == S.PAYMENT_PENDING
    assert (order.price_paise, order.wallet_part_paise, order.gateway_part_paise) == (
        4_900,
        1_000,
        3_900,
    )
    assert _steps(order) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING]
    assert (balance(wallet.available), balance(wallet.reserved)) == (0, 1_000)
    assert order.reservation.status == ReservationStatus.PENDING
    assert (order.topup.amount_paise, order.topup.status) == (3_900, TopUpStatus.CREATED)
    assert not Purchase.objects.exists()


def test_a_captured_payment_pays_and_fulfils_the_order(
    short_buyer, plan, django_capture_on_commit_callbacks
):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")

    with django_capture_on_commit_callbacks(execute=True):
        order = _return(order, _pay(order))

    wallet = wallet_ensure(user=short_buyer)
    purchase = Purchase.objects.get()
    assert order.status == S.FULFILLED
    assert _steps(order) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING, S.PAID, S.FULFILLED]
    times = list(order.transitions.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times)
    assert (purchase.order_id, purchase.price_paise, purchase.buyer) == (
        order.pk,
        4_900,
        short_buyer,
    )
    assert Pass.objects.get().purchase == purchase
    assert (balance(wallet.available), balance(wallet.reserved)) == (0, 0)
    assert balance(vendor_payable_account(plan.service.vendor.user)) == 4_410
    order.reservation.refresh_from_db()
    assert order.reservation.status == ReservationStatus.VOIDED
    assert Service.objects.get(pk=plan.service_id).purchases_count == 1
    assert_ledger_balanced()
    # and syncing again, or the job, changes nothing
    assert services.order_sync(order_id=order.pk).status == S.FULFILLED
    assert services.orders_sync_due()["fulfilled"] == 0
    assert Purchase.objects.count() == 1


def test_an_order_is_fulfilled_at_its_own_price_after_the_plan_price_rises(short_buyer, plan):
    # given an order for the ₹49 pass, then the vendor raises the price and money comes in
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    type(plan).objects.filter(pk=plan.pk).update(price_paise=9_900)
    fund(short_buyer, 10_000)

    # when the card part is paid
    order = _return(order, _pay(order))

    # then the buyer pays the ₹49 they agreed to, and the other money stays theirs
    purchase = Purchase.objects.get()
    assert order.status == S.FULFILLED
    assert purchase.price_paise == order.price_paise == 4_900
    assert balance(wallet_ensure(user=short_buyer).available) == 10_000
    assert_ledger_balanced()


def test_the_job_fulfils_an_order_whose_buyer_never_came_back(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    fields = _pay(order)
    from billing.services.topups import topup_capture

    topup_capture(topup_id=order.topup_id, payment_id=fields["razorpay_payment_id"], via="webhook")

    assert services.orders_sync_due() == {
        "fulfilled": 1,
        "failed": 0,
        "expired": 0,
        "cancelled": 0,
        "open": 0,
    }
    assert Order.objects.get().status == S.FULFILLED


def test_a_gateway_part_below_the_smallest_top_up_is_rounded_up_and_the_rest_kept(buyer, plan):
    fund(buyer, 4_500)  # ₹4 short; the smallest top-up is ₹10

    order = services.order_create(buyer=buyer, plan=plan, idempotency_key="o1")
    order = _return(order, _pay(order))

    assert (order.gateway_part_paise, order.gateway_charge_paise) == (400, 1_000)
    assert order.status == S.FULFILLED
    assert balance(wallet_ensure(user=buyer).available) == 600
    assert_ledger_balanced()


def test_an_empty_wallet_pays_everything_by_gateway(buyer, plan):
    order = services.order_create(buyer=buyer, plan=plan, idempotency_key="o1")

    assert (order.wallet_part_paise, order.gateway_part_paise, order.reservation) == (
        0,
        4_900,
        None,
    )
    assert order.transitions.get(to_status=S.FUNDS_RESERVED).note == (
        "Nothing to hold: the wallet is empty"
    )
    assert _return(order, _pay(order)).status == S.FULFILLED


def test_a_failed_payment_fails_the_order_and_releases_the_hold(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    _return(order, _pay(order, outcome="fail"))  # the unsigned failure alone proves nothing
    assert Order.objects.get().status == S.PAYMENT_PENDING
    TopUp.objects.filter(pk=order.topup_id).update(
        status=TopUpStatus.FAILED, failure_reason="Payment declined by the bank."
    )

    order = services.order_sync(order_id=order.pk)

    wallet = wallet_ensure(user=short_buyer)
    assert order.status == S.PAYMENT_FAILED
    assert order.failure_reason == "Payment declined by the bank."
    assert _steps(order)[-1] == S.PAYMENT_FAILED
    assert (balance(wallet.available), balance(wallet.reserved)) == (1_000, 0)
    assert not Purchase.objects.exists()
    assert_ledger_balanced()


def test_an_unpaid_order_expires_and_releases_the_hold_once(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    later = order.expires_at + timedelta(seconds=1)

    assert services.orders_sync_due(now=order.expires_at - timedelta(seconds=1))["open"] == 1
    assert services.orders_sync_due(now=later)["expired"] == 1
    assert services.orders_sync_due(now=later) == {
        "fulfilled": 0,
        "failed": 0,
        "expired": 0,
        "cancelled": 0,
        "open": 0,
    }

    order.refresh_from_db()
    wallet = wallet_ensure(user=short_buyer)
    assert order.status == S.EXPIRED
    assert _steps(order) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING, S.EXPIRED]
    assert (balance(wallet.available), balance(wallet.reserved)) == (1_000, 0)
    assert_ledger_balanced()


def test_a_payment_captured_after_expiry_stays_in_the_wallet(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    services.orders_sync_due(now=order.expires_at + timedelta(seconds=1))

    fields = _pay(order)
    order = _return(order, fields)

    assert order.status == S.EXPIRED
    assert not Purchase.objects.exists()
    assert balance(wallet_ensure(user=short_buyer).available) == 1_000 + 3_900
    assert_ledger_balanced()


def test_the_buyer_can_cancel_an_open_order_once(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")

    cancelled = services.order_cancel(buyer=short_buyer, order_id=order.pk)

    assert cancelled.status == S.CANCELLED
    assert balance(wallet_ensure(user=short_buyer).available) == 1_000
    with pytest.raises(OrderClosed):
        services.order_cancel(buyer=short_buyer, order_id=order.pk)
    assert _steps(order).count(S.CANCELLED) == 1


def test_a_paid_order_whose_service_was_paused_is_cancelled_and_the_money_kept(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)

    order = _return(order, _pay(order))

    wallet = wallet_ensure(user=short_buyer)
    assert _steps(order) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING, S.PAID, S.CANCELLED]
    assert "payment is in your wallet" in order.failure_reason
    assert not Purchase.objects.exists()
    assert (balance(wallet.available), balance(wallet.reserved)) == (4_900, 0)
    assert_ledger_balanced()


def test_a_paid_order_whose_gateway_money_was_spent_meanwhile_is_cancelled(short_buyer, plan):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    fields = _pay(order)
    from billing.services.topups import topup_capture

    topup_capture(topup_id=order.topup_id, payment_id=fields["razorpay_payment_id"], via="webhook")
    # the buyer spends the fresh ₹39 on something else before the order syncs
    cheap = type(plan).objects.create(
        service=plan.service, kind="time", name="Hour", price_paise=3_900, duration_hours=1
    )
    services.pass_purchase(buyer=short_buyer, plan=cheap, idempotency_key="other")

    order = services.order_sync(order_id=order.pk)

    assert order.status == S.CANCELLED
    assert Purchase.objects.count() == 1  # only the other purchase
    assert balance(wallet_ensure(user=short_buyer).available) == 1_000
    assert_ledger_balanced()


def test_an_order_is_not_needed_when_the_wallet_covers_the_price(funded_buyer, plan):
    with pytest.raises(OrderNotNeeded):
        services.order_create(buyer=funded_buyer, plan=plan, idempotency_key="o1")

    assert not Order.objects.exists()
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000


def test_the_same_key_opens_one_order_and_one_top_up(short_buyer, plan):
    first = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    again = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")

    assert again.pk == first.pk
    assert (Order.objects.count(), TopUp.objects.count()) == (1, 1)
    assert balance(wallet_ensure(user=short_buyer).reserved) == 1_000


def test_a_tampered_price_opens_no_order(short_buyer, plan):
    with pytest.raises(PriceChanged):
        services.order_create(
            buyer=short_buyer, plan=plan, idempotency_key="o1", expected_price_paise=-100
        )

    assert not Order.objects.exists()
    assert balance(wallet_ensure(user=short_buyer).available) == 1_000


def test_a_gateway_refusal_fails_the_order_and_releases_the_hold(short_buyer, plan, settings):
    settings.TOPUP_DAILY_MAX_PAISE = 1_000  # the ₹39 top-up is over today's limit

    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")

    assert order.status == S.PAYMENT_FAILED
    assert _steps(order) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_FAILED]
    assert "a day" in order.failure_reason
    assert balance(wallet_ensure(user=short_buyer).available) == 1_000
    assert_ledger_balanced()


def test_the_orders_task_records_its_run(db):
    from flexpass.jobs import job_last_run
    from marketplace import tasks

    assert tasks.orders_expire()["open"] == 0
    assert job_last_run("marketplace-orders-expire") is not None


def test_the_statement_filtered_to_purchases_shows_the_order_hold_and_its_release(
    short_buyer, plan
):
    order = services.order_create(buyer=short_buyer, plan=plan, idempotency_key="o1")
    _return(order, _pay(order))

    postings = statement_postings(wallet=wallet_ensure(user=short_buyer), kind="purchase")

    lines = [(line.kind, line.amount_paise) for line in statement_lines(postings)]
    assert lines == [("purchase", -4_900), ("void", 1_000), ("reserve", -1_000)]
