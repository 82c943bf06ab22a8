"""The pages: storefront, hold page (htmx panel), checkout, release, order, waitlist."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flashsale import services
from flashsale.models import (
    FlashOrder,
    FlashSale,
    Hold,
    HoldStatus,
    SaleItem,
    SaleStatus,
    WaitlistEntry,
)
from flashsale.tests.factories import FlashSaleFactory, UserFactory, balance, item_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


def test_storefront_shows_live_items_with_stock_in_a_fixed_number_of_queries(
    signed_in, buyer, django_assert_num_queries
):
    # given a live sale with three items (one sold out) and an upcoming one
    sale = FlashSaleFactory(name="Midnight Madness")
    items = [item_make(sale=sale, total=10, position=n) for n in range(3)]
    SaleItem.objects.filter(pk=items[2].pk).update(available=0)
    FlashSaleFactory(
        name="Weekend Drop",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
    )
    services.hold_create(user=buyer, item_id=items[0].pk, quantity=1)

    # when the buyer opens the storefront (sales, items, lazy expiry, user, open holds,
    # waitlist places, the nav's profile; the session from the cache), whatever the number
    # of items; after a first visit, so once-a-minute bookkeeping of other apps is not counted
    signed_in.get(reverse("flashsale:storefront"))
    with django_assert_num_queries(7):
        response = signed_in.get(reverse("flashsale:storefront"))

    # then every item shows its stock, the sold-out one offers the waitlist
    html = response.content.decode()
    assert response.status_code == 200
    assert "Midnight Madness" in html and "Weekend Drop" in html
    assert f'data-testid="stock-label-{items[0].pk}"><strong>9</strong> of 10 left' in html
    assert f'data-item="{items[2].pk}" data-state="sold_out"' in html
    assert f'data-flash-sale="{sale.pk}"' in html
    assert "You're holding" in html


def test_the_storefront_is_public_and_asks_visitors_to_log_in(client, item):
    response = client.get(reverse("flashsale:storefront"))

    assert response.status_code == 200
    assert "Log in to buy" in response.content.decode()


def test_holding_from_the_storefront_leads_to_the_hold_page(signed_in, buyer, item):
    response = signed_in.post(
        reverse("flashsale:hold_create", args=[item.pk]),
        {"quantity": "2", "token": "t-1"},
        HTTP_HX_REQUEST="true",
    )

    hold = Hold.objects.get(user=buyer)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("flashsale:hold", args=[hold.pk])
    assert hold.quantity == 2

    page = signed_in.get(response["HX-Redirect"])
    html = page.content.decode()
    assert 'data-testid="hold-countdown"' in html
    assert "Pay ₹998.00 from wallet" in html


def test_a_double_submitted_hold_form_holds_once(signed_in, buyer, item):
    for _ in range(2):
        signed_in.post(reverse("flashsale:hold_create", args=[item.pk]), {"token": "same"})

    assert Hold.objects.filter(user=buyer).count() == 1
    assert SaleItem.objects.get(pk=item.pk).available == 9


def test_the_hold_form_sent_again_after_its_hold_ended_holds_anew(signed_in, buyer, item):
    url = reverse("flashsale:hold_create", args=[item.pk])
    signed_in.post(url, {"token": "page-1"})
    first = Hold.objects.get(user=buyer)
    services.hold_release(user=buyer, hold_id=first.pk)

    signed_in.post(url, {"token": "page-1"})  # the page again, from the Back button

    second = Hold.objects.exclude(pk=first.pk).get(user=buyer)
    assert second.status == HoldStatus.ACTIVE
    assert SaleItem.objects.get(pk=item.pk).available == 9


def test_a_refused_hold_shows_a_toast_and_changes_nothing(signed_in, item):
    SaleItem.objects.filter(pk=item.pk).update(available=0)

    response = signed_in.post(
        reverse("flashsale:hold_create", args=[item.pk]), {"token": "x"}, HTTP_HX_REQUEST="true"
    )

    toast = json.loads(response["HX-Trigger"])["toast"]
    assert response.status_code == 409
    assert response["HX-Reswap"] == "none"
    assert "sold out" in toast["message"]
    assert Hold.objects.count() == 0


def test_a_refused_hold_goes_back_only_to_our_own_pages(signed_in, item):
    SaleItem.objects.filter(pk=item.pk).update(available=0)
    url = reverse("flashsale:hold_create", args=[item.pk])

    ours = signed_in.post(url, {"next": "/flash/?from=card"})
    elsewhere = signed_in.post(url, {"next": "https://evil.example/phish"})

    assert (ours.status_code, ours["Location"]) == (302, "/flash/?from=card")
    assert (elsewhere.status_code, elsewhere["Location"]) == (
        302,
        reverse("flashsale:storefront"),
    )


def test_a_throttled_hold_is_429_with_retry_after_and_says_why(signed_in, buyer, settings):
    settings.FLASH_HOLDS_PER_USER = 1
    first, second = item_make(total=5), item_make(total=5)
    signed_in.post(reverse("flashsale:hold_create", args=[first.pk]), HTTP_HX_REQUEST="true")

    response = signed_in.post(
        reverse("flashsale:hold_create", args=[second.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= settings.FLASH_THROTTLE_WINDOW_SECONDS
    assert "holds" in json.loads(response["HX-Trigger"])["toast"]["message"].lower()
    assert list(Hold.objects.filter(user=buyer).values_list("item_id", flat=True)) == [first.pk]


def test_checkout_from_the_hold_page_goes_to_the_order(signed_in, buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    response = signed_in.post(
        reverse("flashsale:hold_checkout", args=[hold.pk]), HTTP_HX_REQUEST="true"
    )

    order = FlashOrder.objects.get()
    assert response["HX-Redirect"] == reverse("flashsale:order", args=[order.pk])
    page = signed_in.get(response["HX-Redirect"]).content.decode()
    assert order.number in page and "₹499.00" in page
    assert balance(buyer) == 500_000 - 49_900


def test_checkout_without_money_explains_in_the_panel(client, item):
    poor = UserFactory()
    client.force_login(poor)
    hold, _ = services.hold_create(user=poor, item_id=item.pk, quantity=1)

    response = client.post(
        reverse("flashsale:hold_checkout", args=[hold.pk]), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert 'data-testid="hold-error"' in html
    assert "You need ₹499.00 more in your wallet." in html
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE


def test_the_hold_panel_says_expired_once_time_runs_out(signed_in, buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = signed_in.get(reverse("flashsale:hold", args=[hold.pk]), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert 'data-testid="hold-expired"' in html
    assert "<html" not in html  # only the panel, for htmx to swap in
    assert SaleItem.objects.get(pk=item.pk).available == 10


def test_release_from_the_hold_page(signed_in, buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    response = signed_in.post(reverse("flashsale:hold_release", args=[hold.pk]))

    assert response.status_code == 302
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.RELEASED
    assert SaleItem.objects.get(pk=item.pk).available == 10


def test_other_peoples_holds_and_orders_are_not_found(signed_in, item):
    other = UserFactory()
    hold, _ = services.hold_create(user=other, item_id=item.pk, quantity=1)

    assert signed_in.get(reverse("flashsale:hold", args=[hold.pk])).status_code == 404
    assert signed_in.get(reverse("flashsale:order", args=[12345])).status_code == 404


def test_joining_the_waitlist_from_a_sold_out_card(signed_in, buyer):
    item = item_make(total=1, per_user_limit=1)
    services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)

    response = signed_in.post(
        reverse("flashsale:waitlist_join", args=[item.pk]), HTTP_HX_REQUEST="true"
    )

    assert f'data-testid="waiting-{item.pk}"' in response.content.decode()
    assert "#1 in line" in json.loads(response["HX-Trigger"])["toast"]["message"]
    assert WaitlistEntry.objects.filter(user=buyer).count() == 1


def test_an_ended_sale_page_says_so(client):
    sale = FlashSaleFactory(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )

    response = client.get(reverse("flashsale:sale", args=[sale.pk]))

    assert 'data-testid="sale-ended"' in response.content.decode()


def test_the_hold_page_shows_the_price_the_units_were_held_at(signed_in, buyer, item):
    # given a hold at ₹499, then staff raise the item's price
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    SaleItem.objects.filter(pk=item.pk).update(sale_price_paise=59_900)

    html = signed_in.get(reverse("flashsale:hold", args=[hold.pk])).content.decode()

    # then the page shows the held price everywhere, the one checkout charges
    price = html.split('data-testid="held-price">', 1)[1].split("</div>", 1)[0]
    assert "₹499.00" in price and "₹599.00" not in html
    assert "−50%" in price  # of the ₹999 regular price


def test_a_hold_on_a_sale_taken_off_says_so_and_offers_no_payment(signed_in, buyer, item):
    # given a hold, then staff put the sale back to draft (its page is gone)
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    FlashSale.objects.filter(pk=item.sale_id).update(status=SaleStatus.DRAFT)

    response = signed_in.get(reverse("flashsale:hold", args=[hold.pk]))

    # then the page says what happened, with no pay button and no link to the gone sale
    html = response.content.decode()
    assert 'data-state="taken_off"' in html and "This sale was taken off" in html
    assert 'data-testid="checkout"' not in html
    assert reverse("flashsale:sale", args=[item.sale_id]) not in html
