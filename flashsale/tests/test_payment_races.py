"""Mixed payment races on real PostgreSQL with real threads: one winner, money never lost.

Captures racing the expiry job, a double click on "pay by card", and the
gateway's webhook delivered twice while the buyer's browser comes back.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.gateways import simulator
from billing.models import TopUp
from billing.services import webhook_receive
from flashsale import services
from flashsale.checks import stock_discrepancies
from flashsale.models import FlashOrder, FlashPayment, Hold, HoldStatus, SaleItem
from flashsale.tests.factories import UserFactory, balance, fund, item_make, users_make
from flashsale.tests.test_concurrency import run_together
from marketplace.models import OrderStatus
from wallet.integrity import ledger_check, ledger_seal_all
from wallet.models import EntryKind, JournalEntry, Reservation
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db(transaction=True)
S = OrderStatus
PRICE = 49_900
WALLET = 20_000
CARD = PRICE - WALLET


@pytest.fixture(autouse=True)
def _no_automatic_webhooks(settings):
    """The tests deliver captures themselves, at the moment they choose."""
    settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = "off"


def books_right() -> None:
    ledger_seal_all()
    result = ledger_check(triggered_by="test")
    assert result.ok, result.report()
    assert stock_discrepancies()[1] == []


def short_buyers_holding(item, count: int):
    buyers = users_make(count)
    holds, payments = [], []
    for i, buyer in enumerate(buyers):
        fund(buyer, WALLET)
        hold = services.hold_create(
            user=buyer, item_id=item.pk, quantity=1, client_ip=f"10.3.0.{i}"
        )[0]
        holds.append(hold)
        payments.append(
            services.hold_pay_mixed(user=buyer, hold_id=hold.pk, idempotency_key=f"k{i}")
        )
    return buyers, holds, payments


def gateway_pays(payment) -> dict:
    payment.refresh_from_db()
    return simulator().complete_checkout(order_id=payment.topup.gateway_order_id, outcome="succeed")


def come_back(buyer, payment, fields):
    return services.payment_note_return(
        user=buyer,
        payment_id=payment.pk,
        gateway_order_id=fields["razorpay_order_id"],
        payment_ref=fields["razorpay_payment_id"],
        signature=fields["razorpay_signature"],
    )


def test_captures_racing_the_expiry_job_have_one_winner_and_lose_no_money():
    # given 12 short buyers, each holding one unit with a card payment open; the payer
    # has paid at the gateway but we have not heard yet. Half the holds already ran
    # out; to the expiry job, all of them have.
    item = item_make(total=12, per_user_limit=1, price_paise=PRICE)
    buyers, holds, payments = short_buyers_holding(item, 12)
    fields = [gateway_pays(p) for p in payments]
    late = {h.pk for h in holds[::2]}
    Hold.objects.filter(pk__in=late).update(expires_at=timezone.now() - timedelta(seconds=1))
    job_clock = timezone.now() + timedelta(minutes=10)

    # when every capture arrives at the same moment as three runs of the expiry job
    def act(i):
        if i < len(buyers):
            return come_back(buyers[i], payments[i], fields[i])
        services.payments_sync_due(now=job_clock)
        return services.holds_expire_overdue(now=job_clock)

    results = run_together(act, len(buyers) + 3)

    # then nothing failed, and every hold has exactly one outcome
    assert not [r for r in results if isinstance(r, Exception)], results
    sold = 0
    for buyer, hold, payment in zip(buyers, holds, payments, strict=True):
        hold.refresh_from_db()
        payment.refresh_from_db()
        orders = FlashOrder.objects.filter(hold=hold).count()
        if hold.status == HoldStatus.CONFIRMED:
            # a capture recorded before the hold ran out won: paid once, the unit sold
            assert hold.pk not in late
            assert (payment.status, orders, balance(buyer)) == (S.FULFILLED, 1, 0)
            sold += 1
        else:
            # the hold ran out first: no sale, the wallet part back and the card money kept
            assert hold.status == HoldStatus.EXPIRED
            assert payment.status in (S.CANCELLED, S.EXPIRED)
            assert (orders, balance(buyer)) == (0, PRICE)
        assert wallet_ensure(user=buyer).reserved.balance_paise == 0
    assert len(late) == 6 and sold <= 6
    assert SaleItem.objects.get(pk=item.pk).available == 12 - sold
    assert JournalEntry.objects.filter(kind=EntryKind.TOPUP).count() == 12  # each card once
    books_right()


def test_a_double_click_on_pay_by_card_opens_one_payment():
    # given a short buyer holding one unit
    item = item_make(total=5, price_paise=PRICE)
    buyer = UserFactory()
    fund(buyer, WALLET)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    # when ten requests arrive together: five repeats of one key, five from other tabs
    def click(i):
        key = "same" if i < 5 else f"tab-{i}"
        return services.hold_pay_mixed(user=buyer, hold_id=hold.pk, idempotency_key=key)

    results = run_together(click, 10)

    # then one payment, one gateway order, one reservation, and everyone got that payment
    assert not [r for r in results if isinstance(r, Exception)], results
    payment = FlashPayment.objects.get()
    assert {r.pk for r in results} == {payment.pk}
    payment.refresh_from_db()
    assert payment.status == S.PAYMENT_PENDING
    assert (TopUp.objects.count(), Reservation.objects.count()) == (1, 1)
    assert wallet_ensure(user=buyer).reserved.balance_paise == WALLET
    assert list(payment.transitions.values_list("to_status", flat=True)) == [
        S.CREATED,
        S.FUNDS_RESERVED,
        S.PAYMENT_PENDING,
    ]
    books_right()


def test_the_webhook_twice_and_the_return_together_credit_once_and_sell_once():
    # given a short buyer who paid the card part at the gateway
    item = item_make(total=5, price_paise=PRICE)
    buyers, holds, payments = short_buyers_holding(item, 1)
    buyer, hold, payment = buyers[0], holds[0], payments[0]
    fields = gateway_pays(payment)
    gateway = simulator()
    order = gateway.order(fields["razorpay_order_id"])
    body = gateway.event_body(order, order.payments.get())
    signature = gateway.sign_webhook(body)

    # when the webhook arrives twice, the browser comes back twice and the job runs, at once
    def arrive(i):
        if i < 2:
            return webhook_receive(raw_body=body, signature=signature, event_id="evt_twice")
        if i < 4:
            return come_back(buyer, payment, fields).status
        return services.payments_sync_due()

    results = run_together(arrive, 5)

    # then the card money was credited once and the hold sold once
    assert not [r for r in results if isinstance(r, Exception)], results
    payment.refresh_from_db()
    assert payment.status == S.FULFILLED
    assert FlashOrder.objects.filter(hold=hold).count() == 1
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.CONFIRMED
    assert JournalEntry.objects.filter(kind=EntryKind.TOPUP).count() == 1
    assert balance(buyer) == 0
    assert SaleItem.objects.get(pk=item.pk).available == 4
    books_right()
