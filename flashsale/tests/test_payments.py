"""Mixed payment for a hold: wallet part reserved, the rest through the (simulated) gateway.

The rule under test: the payment window is the hold's; a capture recorded
before the hold ran out wins the unit (even if seen after), a later capture
buys nothing and the money stays in the wallet.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from billing.gateways import simulator
from billing.models import TopUp, TopUpStatus
from billing.services import topup_capture
from flashsale import selectors, services
from flashsale.errors import HoldClosed, HoldExpired, HoldNotFound, PaymentNotFound
from flashsale.models import (
    EventKind,
    FlashOrder,
    FlashPayment,
    FlashSale,
    Hold,
    HoldStatus,
    InventoryEvent,
    SaleItem,
    SaleStatus,
)
from flashsale.tests.factories import FlashSaleFactory, UserFactory, balance, fund, item_make
from marketplace.errors import OrderNotNeeded, PriceChanged
from marketplace.models import OrderStatus
from marketplace.tests.factories import assert_ledger_balanced
from support.models import Notification
from wallet.integrity import ledger_check
from wallet.models import ReservationStatus
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db
S = OrderStatus
PRICE = 49_900  # ₹499


@pytest.fixture
def item(db):
    return item_make(total=10, price_paise=PRICE)


@pytest.fixture
def short_buyer(db):
    """₹200 in the wallet: ₹299 short of the ₹499 item."""
    user = UserFactory()
    fund(user, 20_000)
    return user


@pytest.fixture
def hold(short_buyer, item):
    return services.hold_create(user=short_buyer, item_id=item.pk, quantity=1)[0]


def reserved(user) -> int:
    return wallet_ensure(user=user).reserved.balance_paise


def steps(payment) -> list[str]:
    return list(payment.transitions.order_by("id").values_list("to_status", flat=True))


def pay(payment, outcome="succeed") -> dict:
    payment.refresh_from_db()
    return simulator().complete_checkout(order_id=payment.topup.gateway_order_id, outcome=outcome)


def come_back(payment, fields) -> FlashPayment:
    return services.payment_note_return(
        user=payment.buyer,
        payment_id=payment.pk,
        gateway_order_id=fields.get("razorpay_order_id", ""),
        payment_ref=fields.get("razorpay_payment_id", ""),
        signature=fields.get("razorpay_signature", ""),
    )


def capture(payment, fields, via="webhook") -> bool:
    return topup_capture(
        topup_id=payment.topup_id, payment_id=fields["razorpay_payment_id"], via=via
    )


def assert_books_right() -> None:
    assert_ledger_balanced()
    from wallet.integrity import ledger_seal_all

    ledger_seal_all()
    result = ledger_check(triggered_by="test")
    assert result.ok, result.problems


def test_a_short_wallet_reserves_what_it_has_and_asks_the_gateway_for_the_rest(short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    assert payment.status == S.PAYMENT_PENDING
    assert (payment.price_paise, payment.wallet_part_paise, payment.gateway_part_paise) == (
        PRICE,
        20_000,
        29_900,
    )
    assert payment.expires_at == hold.expires_at  # the payment window is the hold's
    assert steps(payment) == [S.CREATED, S.FUNDS_RESERVED, S.PAYMENT_PENDING]
    assert (balance(short_buyer), reserved(short_buyer)) == (0, 20_000)
    assert payment.reservation.status == ReservationStatus.PENDING
    assert (payment.topup.amount_paise, payment.topup.status) == (29_900, TopUpStatus.CREATED)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE
    assert not FlashOrder.objects.exists()


def test_the_captured_payment_confirms_the_hold_and_grants_the_order(short_buyer, hold, item):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    payment = come_back(payment, pay(payment))

    order = FlashOrder.objects.get()
    assert payment.status == S.FULFILLED
    assert steps(payment) == [
        S.CREATED,
        S.FUNDS_RESERVED,
        S.PAYMENT_PENDING,
        S.PAID,
        S.FULFILLED,
    ]
    assert payment.transitions.last().note == f"Order {order.number}"
    assert (order.hold_id, order.payment_id, order.amount_paise) == (hold.pk, payment.pk, PRICE)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.CONFIRMED
    assert (balance(short_buyer), reserved(short_buyer)) == (0, 0)
    payment.reservation.refresh_from_db()
    assert payment.reservation.status == ReservationStatus.VOIDED
    assert InventoryEvent.objects.get(kind=EventKind.SALE_CONFIRMED).metadata["payment"] == (
        payment.pk
    )
    assert SaleItem.objects.get(pk=item.pk).available == 9
    assert_books_right()
    # and coming back again, syncing, or the job changes nothing
    assert come_back(payment, pay(payment)).status == S.FULFILLED
    assert services.payments_sync_due()["fulfilled"] == 0
    assert FlashOrder.objects.count() == 1


def test_a_capture_before_expiry_wins_even_when_the_expiry_job_runs_first(short_buyer, hold, item):
    # given a payment captured (by the webhook) before the hold ran out, not yet synced
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    assert capture(payment, pay(payment)) is True
    after = hold.expires_at + timedelta(seconds=5)

    # when the expiry job runs after the hold's time
    assert services.hold_expire(hold_id=hold.pk, now=after) is False  # left for the payment
    expired = services.holds_expire_overdue(now=after)

    # then the payment confirmed the hold: the unit is sold, not returned
    assert expired == 0
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.CONFIRMED
    assert FlashPayment.objects.get().status == S.FULFILLED
    assert FlashOrder.objects.get().payment_id == payment.pk
    assert SaleItem.objects.get(pk=item.pk).available == 9
    assert (balance(short_buyer), reserved(short_buyer)) == (0, 0)
    assert_books_right()


def test_a_hold_paid_in_time_reads_as_confirmed_once_its_time_is_up(client, short_buyer, hold):
    # given a card payment captured before the hold ran out, and the hold's time now up
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    assert capture(payment, pay(payment)) is True
    captured_at = TopUp.objects.get(pk=payment.topup_id).captured_at
    Hold.objects.filter(pk=hold.pk).update(expires_at=captured_at + timedelta(milliseconds=1))

    # when the buyer looks at the hold before any job ran
    client.force_login(short_buyer)
    answer = client.get(f"/api/v1/flash-sales/holds/{hold.pk}/").json()

    # then it is confirmed with its order, not "expired"
    assert (answer["status"], answer["order_id"]) == ("confirmed", FlashOrder.objects.get().pk)
    assert_books_right()


def test_a_capture_after_staff_took_the_sale_off_buys_nothing_and_stays_in_the_wallet(
    short_buyer, hold, item
):
    # given a card payment opened, then the sale cancelled before its holds are voided
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.CANCELLED)

    # when the card payment is captured and the buyer comes back
    payment = come_back(payment, pay(payment))

    # then nothing is bought: the held part and the card charge are in the wallet
    assert (payment.status, steps(payment)[-2:]) == (S.CANCELLED, [S.PAID, S.CANCELLED])
    assert payment.failure_reason == (
        "This sale was taken off before your UPI/card payment arrived. "
        "The payment is in your wallet."
    )
    assert not FlashOrder.objects.exists()
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE  # the void returns it
    assert (balance(short_buyer), reserved(short_buyer)) == (PRICE, 0)
    assert Notification.objects.filter(user=short_buyer, kind="flash_payment_returned").exists()
    assert_books_right()


def test_a_capture_after_expiry_buys_nothing_and_the_money_stays_in_the_wallet(
    short_buyer, hold, item
):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    fields = pay(payment)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    payment = come_back(payment, fields)  # the capture is recorded now: after the hold ran out

    assert payment.status == S.CANCELLED
    assert steps(payment)[-2:] == [S.PAID, S.CANCELLED]
    assert payment.failure_reason == (
        "Your hold ran out before the UPI/card payment arrived. The payment is in your wallet."
    )
    assert not FlashOrder.objects.exists()
    assert (balance(short_buyer), reserved(short_buyer)) == (PRICE, 0)  # ₹200 back + ₹299 card
    note = Notification.objects.get(user=short_buyer, kind="flash_payment_returned")
    assert note.title == "₹499.00 is back in your wallet"
    assert note.in_app and note.email_wanted  # money: the bell and an email, by default
    assert services.holds_expire_overdue() == 1  # the unit goes back to the sale
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.EXPIRED
    assert SaleItem.objects.get(pk=item.pk).available == 10
    assert_books_right()


def test_an_unpaid_payment_expires_with_its_hold_and_releases_the_wallet_part(
    short_buyer, hold, item
):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    later = hold.expires_at + timedelta(seconds=1)

    assert services.payments_sync_due(now=later)["expired"] == 1
    assert services.holds_expire_overdue(now=later) == 1

    payment.refresh_from_db()
    assert payment.status == S.EXPIRED
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.EXPIRED
    assert SaleItem.objects.get(pk=item.pk).available == 10
    # a capture that still arrives later is credited and changes nothing else
    fields = pay(payment)
    assert come_back(payment, fields).status == S.EXPIRED
    assert balance(short_buyer) == 20_000 + 29_900
    assert not FlashOrder.objects.exists()
    assert_books_right()


def test_the_same_key_or_a_second_click_continues_the_one_open_payment(short_buyer, hold):
    first = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    again = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    other_tab = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k2")

    assert again.pk == first.pk == other_tab.pk
    assert (FlashPayment.objects.count(), TopUp.objects.count()) == (1, 1)
    assert reserved(short_buyer) == 20_000


def test_a_failed_card_payment_fails_the_attempt_and_the_hold_keeps_running(short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    TopUp.objects.filter(pk=payment.topup_id).update(
        status=TopUpStatus.FAILED, failure_reason="Payment declined by the bank."
    )

    payment = services.payment_sync(payment_id=payment.pk)

    assert payment.status == S.PAYMENT_FAILED
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE
    # a new attempt is allowed while the hold runs
    retry = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k2")
    assert retry.pk != payment.pk and retry.status == S.PAYMENT_PENDING
    assert come_back(retry, pay(retry)).status == S.FULFILLED
    assert_books_right()


def test_the_buyer_can_cancel_the_card_part_and_the_wallet_part_comes_back(short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    payment = services.payment_cancel(user=short_buyer, payment_id=payment.pk)

    assert payment.status == S.CANCELLED
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE


def test_a_gateway_refusal_fails_the_payment_and_releases_the_wallet_part(
    short_buyer, hold, settings
):
    settings.TOPUP_DAILY_MAX_PAISE = 1_000

    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    assert payment.status == S.PAYMENT_FAILED
    assert "a day" in payment.failure_reason
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)


def test_a_tampered_amount_opens_nothing(short_buyer, hold):
    with pytest.raises(PriceChanged):
        services.hold_pay_mixed(
            user=short_buyer, hold_id=hold.pk, idempotency_key="k1", expected_amount_paise=100
        )

    assert not FlashPayment.objects.exists() and not TopUp.objects.exists()
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    # the right amount is accepted
    ok = services.hold_pay_mixed(
        user=short_buyer, hold_id=hold.pk, idempotency_key="k2", expected_amount_paise=PRICE
    )
    assert ok.price_paise == PRICE


def test_a_wallet_that_covers_the_price_pays_from_the_wallet_instead(item):
    rich = UserFactory()
    fund(rich, 100_000)
    hold, _ = services.hold_create(user=rich, item_id=item.pk, quantity=1)

    with pytest.raises(OrderNotNeeded):
        services.hold_pay_mixed(user=rich, hold_id=hold.pk, idempotency_key="k1")

    assert not FlashPayment.objects.exists()
    assert balance(rich) == 100_000


def test_nobody_pays_for_someone_elses_or_a_closed_hold(short_buyer, hold, item):
    stranger = UserFactory()
    fund(stranger, 1_000)
    with pytest.raises(HoldNotFound):
        services.hold_pay_mixed(user=stranger, hold_id=hold.pk, idempotency_key="k1")
    with pytest.raises(HoldNotFound):
        services.hold_pay_mixed(user=short_buyer, hold_id=999_999, idempotency_key="k1")

    released, _ = services.hold_create(user=short_buyer, item_id=item.pk, quantity=1)
    services.hold_release(user=short_buyer, hold_id=released.pk)
    with pytest.raises(HoldClosed):
        services.hold_pay_mixed(user=short_buyer, hold_id=released.pk, idempotency_key="k2")

    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(HoldExpired):
        services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k3")
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.EXPIRED  # lazily, on the spot

    assert not FlashPayment.objects.exists() and not TopUp.objects.exists()
    assert (balance(short_buyer), balance(stranger)) == (20_000, 1_000)
    with pytest.raises(PaymentNotFound):
        selectors.payment_access(user=stranger, payment_id=1)


def test_a_confirmed_hold_cannot_be_paid_again(item):
    buyer = UserFactory()
    fund(buyer, 100_000)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    services.hold_checkout(user=buyer, hold_id=hold.pk)

    with pytest.raises(HoldClosed):
        services.hold_pay_mixed(user=buyer, hold_id=hold.pk, idempotency_key="k1")
    assert not FlashPayment.objects.exists()


def test_a_pass_on_sale_is_paid_mixed_and_the_pass_granted(short_buyer):
    from marketplace.models import Pass, Purchase
    from marketplace.tests.factories import PlanFactory

    plan = PlanFactory(price_paise=99_900)
    with transaction.atomic():
        pass_item = services.item_create(
            sale=FlashSaleFactory(), plan=plan, sale_price_paise=29_900, total=5, per_user_limit=1
        )
    hold, _ = services.hold_create(user=short_buyer, item_id=pass_item.pk, quantity=1)

    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    payment = come_back(payment, pay(payment))

    purchase = Purchase.objects.get(buyer=short_buyer)
    assert payment.status == S.FULFILLED
    assert purchase.price_paise == 29_900
    assert Pass.objects.get(purchase=purchase).owner_id == short_buyer.pk
    assert FlashOrder.objects.get().purchase_id == purchase.pk
    assert_books_right()


def test_releasing_the_hold_cancels_its_open_payment(short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")

    services.hold_release(user=short_buyer, hold_id=hold.pk)

    payment.refresh_from_db()
    assert payment.status == S.CANCELLED
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    # a capture arriving afterwards is credited to the wallet and buys nothing
    fields = pay(payment)
    assert come_back(payment, fields).status == S.CANCELLED
    assert balance(short_buyer) == 20_000 + 29_900
    assert not FlashOrder.objects.exists()
    assert_books_right()


def test_paying_from_the_wallet_after_all_cancels_the_open_card_payment(short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    fund(short_buyer, 49_900)  # a top-up elsewhere: the wallet now covers the price alone

    order, created = services.hold_checkout(user=short_buyer, hold_id=hold.pk)

    payment.refresh_from_db()
    assert created and order.payment_id is None
    assert (payment.status, payment.failure_reason) == (
        S.CANCELLED,
        "Paid from your wallet instead.",
    )
    assert (balance(short_buyer), reserved(short_buyer)) == (20_000, 0)
    assert_books_right()


def test_staff_see_payments_and_their_steps_in_the_admin(client, short_buyer, hold):
    payment = services.hold_pay_mixed(user=short_buyer, hold_id=hold.pk, idempotency_key="k1")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = client.get("/admin/flashsale/flashpayment/")
    detail = client.get(f"/admin/flashsale/flashpayment/{payment.pk}/change/")

    assert listing.status_code == 200 and payment.number in listing.content.decode()
    assert detail.status_code == 200 and "payment_pending" in detail.content.decode()


def test_a_card_part_below_the_smallest_top_up_is_rounded_up_and_the_rest_kept(item):
    nearly = UserFactory()
    fund(nearly, 49_500)  # ₹4 short; the smallest top-up is ₹10
    hold, _ = services.hold_create(user=nearly, item_id=item.pk, quantity=1)

    payment = services.hold_pay_mixed(user=nearly, hold_id=hold.pk, idempotency_key="k1")
    payment = come_back(payment, pay(payment))

    assert (payment.gateway_part_paise, payment.gateway_charge_paise) == (400, 1_000)
    assert payment.status == S.FULFILLED
    assert balance(nearly) == 600
    assert_books_right()
