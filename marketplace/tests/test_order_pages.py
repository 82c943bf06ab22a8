from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from billing.gateways import simulator
from marketplace.models import Order, OrderStatus, Purchase
from marketplace.tests.factories import balance, fund
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_client(client, buyer):
    fund(buyer, 1_000)
    client.force_login(buyer)
    return client


def _open_order(client, plan) -> tuple[Order, str]:
    response = client.post(
        reverse("marketplace:order_create", args=[plan.pk]),
        {"idempotency_key": "page-order", "expected_price_paise": "4900"},
    )
    assert response.status_code == 302
    return Order.objects.get(), response["Location"]


def test_paying_the_rest_goes_to_checkout_and_comes_back_to_the_order(short_client, buyer, plan):
    # when the short buyer chooses to pay the rest by UPI/card
    order, checkout = _open_order(short_client, plan)

    # then they are sent to the gateway's checkout, which will bring them back
    url = urlsplit(checkout)
    assert url.path == f"/billing/checkout/{order.topup.gateway_order_id}/"
    assert parse_qs(url.query)["callback_url"] == [f"/orders/{order.pk}/return/"]
    assert order.status == OrderStatus.PAYMENT_PENDING

    # when they pay and the gateway sends them back with a signed payment
    fields = simulator().complete_checkout(order_id=order.topup.gateway_order_id, outcome="succeed")
    back = short_client.get(reverse("marketplace:order_return", args=[order.pk]), fields)

    # then the order is fulfilled and the page says so
    assert back.status_code == 302
    assert back["Location"] == reverse("marketplace:order", args=[order.pk])
    page = short_client.get(back["Location"]).content.decode()
    assert 'data-status="fulfilled"' in page
    assert "Payment received. Your pass is ready." in page
    for step in ("created", "funds_reserved", "payment_pending", "paid", "fulfilled"):
        assert f'data-step="{step}"' in page
    assert reverse("marketplace:receipt", args=[Purchase.objects.get().pk]) in page


def test_a_cancelled_checkout_leaves_the_order_waiting(short_client, plan):
    order, _ = _open_order(short_client, plan)
    fields = simulator().complete_checkout(order_id=order.topup.gateway_order_id, outcome="abandon")

    back = short_client.get(reverse("marketplace:order_return", args=[order.pk]), fields)

    page = short_client.get(back["Location"]).content.decode()
    assert "You cancelled the payment. Nothing was charged." in page
    assert 'data-testid="order-pay"' in page  # they can still pay
    assert Order.objects.get().status == OrderStatus.PAYMENT_PENDING


def test_a_forged_return_credits_nothing(short_client, buyer, plan):
    order, _ = _open_order(short_client, plan)

    back = short_client.get(
        reverse("marketplace:order_return", args=[order.pk]),
        {
            "razorpay_order_id": order.topup.gateway_order_id,
            "razorpay_payment_id": "pay_forged",
            "razorpay_signature": "0" * 64,
        },
    )

    assert back.status_code == 302
    assert Order.objects.get().status == OrderStatus.PAYMENT_PENDING
    assert not Purchase.objects.exists()
    assert balance(wallet_ensure(user=buyer).available) == 0  # still held, not spent


def test_cancelling_from_the_order_page_releases_the_hold(short_client, buyer, plan):
    order, _ = _open_order(short_client, plan)

    response = short_client.post(reverse("marketplace:order_cancel", args=[order.pk]))

    assert response.status_code == 302
    assert Order.objects.get().status == OrderStatus.CANCELLED
    assert balance(wallet_ensure(user=buyer).available) == 1_000


def test_someone_elses_order_pages_are_404(client, short_client, plan):
    order, _ = _open_order(short_client, plan)
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory())

    assert client.get(reverse("marketplace:order", args=[order.pk])).status_code == 404
    assert client.post(reverse("marketplace:order_cancel", args=[order.pk])).status_code == 404
    assert client.get(reverse("marketplace:order_return", args=[order.pk])).status_code == 404
    assert Order.objects.get().status == OrderStatus.PAYMENT_PENDING


def test_the_open_order_status_card_polls(short_client, plan):
    order, _ = _open_order(short_client, plan)

    response = short_client.get(
        reverse("marketplace:order", args=[order.pk]), headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="order-status"')
    assert 'hx-trigger="every 3s"' in html
