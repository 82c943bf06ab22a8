"""Mixed payment in the pages: the hold page's split, the simulated checkout, the return."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from flashsale import services
from flashsale.models import FlashOrder, FlashPayment, Hold, HoldStatus
from flashsale.tests.factories import UserFactory, balance, fund, item_make
from marketplace.tests.factories import assert_ledger_balanced
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db
PRICE = 49_900


@pytest.fixture
def item(db):
    return item_make(total=10, price_paise=PRICE)


@pytest.fixture
def short_buyer(db):
    user = UserFactory()
    fund(user, 20_000)
    return user


@pytest.fixture
def signed_in(client, short_buyer):
    client.force_login(short_buyer)
    return client


@pytest.fixture
def hold(short_buyer, item):
    return services.hold_create(user=short_buyer, item_id=item.pk, quantity=1)[0]


def pay_form(client, hold, **extra):
    data = {"idempotency_key": "page-1", "expected_amount_paise": str(PRICE), **extra}
    return client.post(reverse("flashsale:hold_pay_mixed", args=[hold.pk]), data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_hold_page_shows_the_split_for_a_short_wallet(signed_in, hold):
    html = signed_in.get(reverse("flashsale:hold", args=[hold.pk])).content.decode()

    assert 'data-testid="split"' in html
    assert 'data-testid="split-wallet">₹200.00<' in html
    assert 'data-testid="split-gateway">₹299.00<' in html
    assert "Pay ₹200.00 from wallet + ₹299.00 by card" in html
    assert f'name="expected_amount_paise" value="{PRICE}"' in html
    assert 'data-testid="checkout"' not in html  # the wallet alone cannot pay


def test_a_funded_wallet_sees_the_one_tap_wallet_checkout(client, item):
    rich = UserFactory()
    fund(rich, 100_000)
    client.force_login(rich)
    hold, _ = services.hold_create(user=rich, item_id=item.pk, quantity=1)

    html = client.get(reverse("flashsale:hold", args=[hold.pk])).content.decode()

    assert 'data-testid="checkout"' in html and 'data-testid="split"' not in html


def test_pay_by_card_goes_through_the_simulated_checkout_to_the_order(signed_in, short_buyer, hold):
    # when the buyer chooses to pay the rest by card
    response = pay_form(signed_in, hold)

    # then they are sent to the gateway's checkout, coming back to our return page
    payment = FlashPayment.objects.get()
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == reverse("billing:checkout", args=[payment.topup.gateway_order_id])
    callback = parse_qs(url.query)["callback_url"][0]
    assert callback == reverse("flashsale:payment_return", args=[payment.pk])
    sheet = signed_in.get(response["Location"])
    assert sheet.status_code == 200 and "₹299.00" in sheet.content.decode()

    # when they pay on the simulated sheet
    paid = signed_in.post(response["Location"], {"outcome": "succeed"})
    landed = signed_in.get(paid["Location"])

    # then the return lands on the flash order confirmation with the split
    order = FlashOrder.objects.get()
    assert landed.status_code == 302
    assert landed["Location"] == reverse("flashsale:order", args=[order.pk])
    assert "Payment received. The item is yours." in messages_of(landed)
    page = signed_in.get(landed["Location"]).content.decode()
    assert order.number in page
    assert 'data-testid="order-wallet-part">₹200.00<' in page
    assert 'data-testid="order-gateway-part">₹299.00<' in page
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.CONFIRMED
    assert balance(short_buyer) == 0
    assert_ledger_balanced()
    # and the old payment page now sends to the order
    again = signed_in.get(reverse("flashsale:payment", args=[order.payment_id]))
    assert again["Location"] == reverse("flashsale:order", args=[order.pk])


def test_an_abandoned_checkout_leaves_the_payment_waiting_and_the_hold_offers_to_continue(
    signed_in, short_buyer, hold
):
    checkout = pay_form(signed_in, hold)["Location"]
    back = signed_in.post(checkout, {"outcome": "abandon"})
    landed = signed_in.get(back["Location"])

    payment = FlashPayment.objects.get()
    assert landed["Location"] == reverse("flashsale:payment", args=[payment.pk])
    assert "You cancelled the card payment. Nothing was charged." in messages_of(landed)
    page = signed_in.get(landed["Location"]).content.decode()
    assert 'data-status="payment_pending"' in page and 'data-testid="payment-pay"' in page
    hold_page = signed_in.get(reverse("flashsale:hold", args=[hold.pk])).content.decode()
    assert 'data-testid="continue-payment"' in hold_page
    assert 'data-testid="pay-mixed"' not in hold_page
    # cancelling gives the held ₹200 back and returns to the hold
    cancelled = signed_in.post(reverse("flashsale:payment_cancel", args=[payment.pk]))
    assert cancelled["Location"] == reverse("flashsale:hold", args=[hold.pk])
    wallet = wallet_ensure(user=short_buyer)
    assert (wallet.available.balance_paise, wallet.reserved.balance_paise) == (20_000, 0)


def test_a_capture_after_the_hold_ran_out_says_where_the_money_is(signed_in, short_buyer, hold):
    checkout = pay_form(signed_in, hold)["Location"]
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    back = signed_in.post(checkout, {"outcome": "succeed"})
    landed = signed_in.get(back["Location"])
    page = signed_in.get(landed["Location"]).content.decode()

    assert 'data-status="cancelled"' in page
    assert "Your hold ran out before the UPI/card payment arrived." in page
    assert "The payment is in your wallet." in page
    assert not FlashOrder.objects.exists()
    assert balance(short_buyer) == PRICE
    assert_ledger_balanced()


def test_a_tampered_amount_or_a_closed_hold_is_refused_on_the_hold_page(
    signed_in, short_buyer, item, hold
):
    tampered = pay_form(signed_in, hold, expected_amount_paise="100")
    assert tampered["Location"] == reverse("flashsale:hold", args=[hold.pk])
    assert any("costs ₹499.00" in m for m in messages_of(tampered))

    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = pay_form(signed_in, hold, idempotency_key="page-2")
    assert expired["Location"] == reverse("flashsale:hold", args=[hold.pk])
    assert any("expired" in m for m in messages_of(expired))

    assert not FlashPayment.objects.exists()
    assert balance(short_buyer) == 20_000


def test_someone_elses_hold_or_payment_is_not_found(client, signed_in, hold, item):
    payment = services.hold_pay_mixed(user=hold.user, hold_id=hold.pk, idempotency_key="k")
    stranger = UserFactory()
    fund(stranger, 1_000)
    client.force_login(stranger)

    pay = client.post(reverse("flashsale:hold_pay_mixed", args=[hold.pk]), {})
    page = client.get(reverse("flashsale:payment", args=[payment.pk]))
    back = client.get(reverse("flashsale:payment_return", args=[payment.pk]))
    cancel = client.post(reverse("flashsale:payment_cancel", args=[payment.pk]))

    assert pay.status_code == 302 and pay["Location"] == reverse("flashsale:storefront")
    assert (page.status_code, back.status_code) == (404, 404)
    assert cancel["Location"] == reverse("flashsale:payment", args=[payment.pk])
    assert FlashPayment.objects.get().status == "payment_pending"
    assert balance(stranger) == 1_000
