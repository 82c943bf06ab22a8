"""/api/v1/flash-sales/: the mobile app's view of sales, holds, checkout and the waitlist."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flashsale import services
from flashsale.models import FlashOrder, Hold, HoldStatus, SaleItem
from flashsale.tests.factories import FlashSaleFactory, UserFactory, balance, item_make
from flexpass.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def api(buyer):
    client = APIClient()
    client.force_authenticate(buyer)
    return client


def hold_url(item):
    return f"/api/v1/flash-sales/items/{item.pk}/holds/"


def test_sales_list_shows_live_and_upcoming_sales_with_stock(api, django_assert_num_queries):
    # given a live sale with two items and a sale starting tomorrow
    live = FlashSaleFactory(name="Now")
    first = item_make(sale=live, total=10, position=0)
    item_make(sale=live, total=4, position=1)
    soon = FlashSaleFactory(
        name="Tomorrow",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=2),
    )
    item_make(sale=soon, total=7)
    FlashSaleFactory(status="draft")

    # when the app lists sales (after a first call: per-user bookkeeping of other apps
    # happens at most once a minute): sales, their items, the lazy-expiry check
    api.get("/api/v1/flash-sales/")
    with django_assert_num_queries(3):
        response = api.get("/api/v1/flash-sales/")

    # then both visible sales come back with each item's live stock
    assert response.status_code == 200
    sales = response.json()["results"]
    assert [(s["name"], s["phase"]) for s in sales] == [("Now", "live"), ("Tomorrow", "upcoming")]
    assert sales[0]["items"][0]["id"] == first.pk
    assert sales[0]["items"][0]["stock"] == {
        "available": 10,
        "total": 10,
        "percent": 100,
        "state": "in_stock",
    }
    assert sales[0]["items"][1]["stock"]["available"] == 4
    assert sales[0]["items"][0]["sale_price_paise"] == 49_900
    assert sales[0]["items"][0]["discount_percent"] == 50


def test_create_hold_then_status_then_checkout(api, buyer, item):
    # when the app holds one unit
    response = api.post(hold_url(item), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="h-1")

    # then 201 with the hold, its countdown and what checkout will cost
    assert response.status_code == 201
    hold = response.json()
    assert (hold["status"], hold["quantity"], hold["amount_paise"]) == ("active", 1, 49_900)
    assert 115 <= hold["seconds_left"] <= 120
    assert api.get(f"/api/v1/flash-sales/holds/{hold['id']}/").json()["status"] == "active"

    # and checkout pays and returns the order
    paid = api.post(f"/api/v1/flash-sales/holds/{hold['id']}/checkout/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert paid.status_code == 201
    assert paid.json()["amount_paise"] == 49_900
    assert paid.json()["number"].startswith("FS-")
    assert balance(buyer) == 500_000 - 49_900
    status = api.get(f"/api/v1/flash-sales/holds/{hold['id']}/").json()
    assert (status["status"], status["order_id"]) == ("confirmed", paid.json()["id"])
    order = api.get(f"/api/v1/flash-sales/orders/{paid.json()['id']}/")
    assert order.json()["hold"] == hold["id"]


def test_repeating_a_hold_request_returns_the_first_hold(api, item):
    first = api.post(hold_url(item), {"quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="same")

    again = api.post(hold_url(item), {"quantity": 2}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    other = api.post(hold_url(item), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert SaleItem.objects.get(pk=item.pk).available == 8


@pytest.mark.parametrize(
    "body, headers, status, code",
    [
        ({"quantity": 1}, {}, 400, "idempotency_key_missing"),
        ({"quantity": 0}, {"HTTP_IDEMPOTENCY_KEY": "k"}, 400, "invalid_quantity"),
        ({"quantity": -1}, {"HTTP_IDEMPOTENCY_KEY": "k"}, 400, "invalid_quantity"),
        ({"quantity": "lots"}, {"HTTP_IDEMPOTENCY_KEY": "k"}, 400, "validation_error"),
        ({"quantity": 3}, {"HTTP_IDEMPOTENCY_KEY": "k"}, 400, "invalid_quantity"),
    ],
)
def test_bad_hold_requests_get_problem_details_and_change_nothing(
    api, item, body, headers, status, code
):
    response = api.post(hold_url(item), body, format="json", **headers)

    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert SaleItem.objects.get(pk=item.pk).available == 10
    assert Hold.objects.count() == 0


def test_sold_out_not_live_and_unknown_items(api):
    gone = item_make(total=1, per_user_limit=1)
    services.hold_create(user=UserFactory(), item_id=gone.pk, quantity=1)
    later = item_make(sale=FlashSaleFactory(starts_at=timezone.now() + timedelta(hours=1)))

    sold_out = api.post(hold_url(gone), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="a")
    not_live = api.post(hold_url(later), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="b")
    unknown = api.post(
        "/api/v1/flash-sales/items/999999/holds/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c"
    )

    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "sold_out")
    assert (not_live.status_code, not_live.json()["code"]) == (409, "sale_not_live")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "item_not_found")


def test_throttled_holds_get_429_with_retry_after(api, settings):
    settings.FLASH_HOLDS_PER_USER = 1
    first, second = item_make(total=5), item_make(total=5)
    api.post(hold_url(first), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="1")

    response = api.post(hold_url(second), {"quantity": 1}, format="json", HTTP_IDEMPOTENCY_KEY="2")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 600
    assert response.json()["code"] == "hold_throttled"
    assert "at most 1 in 10 minutes" in response.json()["detail"]
    assert SaleItem.objects.get(pk=second.pk).available == 5


def test_checkout_refusals(api, buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    theirs, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)

    expired = api.post(f"/api/v1/flash-sales/holds/{hold.pk}/checkout/", HTTP_IDEMPOTENCY_KEY="x")
    stranger = api.post(
        f"/api/v1/flash-sales/holds/{theirs.pk}/checkout/", HTTP_IDEMPOTENCY_KEY="y"
    )
    no_key = api.post(f"/api/v1/flash-sales/holds/{theirs.pk}/checkout/")

    assert (expired.status_code, expired.json()["code"]) == (410, "hold_expired")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "hold_not_found")
    assert no_key.status_code == 400
    assert FlashOrder.objects.count() == 0
    assert balance(buyer) == 500_000


def test_a_paid_hold_is_paid_once_a_retry_replays_and_a_new_checkout_is_refused(api, buyer, item):
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    url = f"/api/v1/flash-sales/holds/{hold.pk}/checkout/"

    paid = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    retried = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")

    order = FlashOrder.objects.get()
    assert paid.status_code == 201 and retried.status_code == 201
    assert retried.json()["number"] == paid.json()["number"] == order.number
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert (again.json()["code"], again.json()["order_number"]) == (
        "hold_already_paid",
        order.number,
    )
    assert balance(buyer) == 500_000 - item.sale_price_paise


def test_a_checkout_that_never_answered_gives_its_retry_the_same_201(api, buyer, item, settings):
    # Given: the checkout paid, but its worker died before the answer was stored
    hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    url = f"/api/v1/flash-sales/holds/{hold.pk}/checkout/"
    paid = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    IdempotencyRecord.objects.update(
        status=IdempotencyRecord.Status.IN_FLIGHT,
        response_body=None,
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS + 1),
    )

    # When the app retries under the same key, and another request under a new one
    retried = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    other = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")

    # Then the retry gets the order it paid for; the other request is told it is paid
    assert (retried.status_code, retried["Idempotent-Replayed"]) == (201, "true")
    assert retried.json()["number"] == paid.json()["number"] == FlashOrder.objects.get().number
    assert (other.status_code, other.json()["code"]) == (409, "hold_already_paid")
    assert balance(buyer) == 500_000 - item.sale_price_paise


def test_release_and_waitlist(api, buyer):
    item = item_make(total=1, per_user_limit=1)
    hold = api.post(hold_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="r").json()
    in_stock_again = api.post(f"/api/v1/flash-sales/holds/{hold['id']}/release/")
    assert (in_stock_again.status_code, in_stock_again.json()["status"]) == (200, "released")

    services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    joined = api.post(f"/api/v1/flash-sales/items/{item.pk}/waitlist/")
    left = api.delete(f"/api/v1/flash-sales/items/{item.pk}/waitlist/")

    assert joined.status_code == 201
    assert (joined.json()["status"], joined.json()["place"]) == ("waiting", 1)
    assert left.status_code == 204
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.RELEASED


def test_my_holds_list(api, buyer, django_assert_num_queries):
    items = [item_make(total=3) for _ in range(3)]
    for item in items:
        services.hold_create(user=buyer, item_id=item.pk, quantity=1)

    api.get("/api/v1/flash-sales/holds/")  # warm: per-user bookkeeping runs once a minute
    with django_assert_num_queries(1):
        response = api.get("/api/v1/flash-sales/holds/")

    assert [h["item_id"] for h in response.json()["results"]] == [i.pk for i in reversed(items)]


def test_the_api_needs_a_signed_in_caller(item):
    response = APIClient().post(hold_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code in (401, 403)
    assert response["Content-Type"] == PROBLEM


def test_the_schema_documents_every_flash_sale_operation(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = {
        op["operationId"]
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/flash-sales/")
        for op in methods.values()
        if isinstance(op, dict) and "operationId" in op
    }

    assert operations == {
        "flash_sales_list",
        "flash_sales_retrieve",
        "flash_holds_create",
        "flash_holds_list",
        "flash_holds_retrieve",
        "flash_holds_checkout",
        "flash_holds_release",
        "flash_waitlist_join",
        "flash_waitlist_leave",
        "flash_orders_retrieve",
        "flash_payments_retrieve",
        "flash_payments_verify",
        "flash_payments_cancel",
    }
    checkout = schema["paths"]["/api/v1/flash-sales/holds/{hold_id}/checkout/"]["post"]
    assert {"201", "202", "402"} <= set(checkout["responses"])


# --- mixed payment -------------------------------------------------------------------------


@pytest.fixture
def short_api(db):
    """A buyer with ₹200 and the app signed in as them."""
    from flashsale.tests.factories import fund

    user = UserFactory()
    fund(user, 20_000)
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


def checkout(client, hold_id, key, **body):
    return client.post(
        f"/api/v1/flash-sales/holds/{hold_id}/checkout/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_a_short_wallet_gets_402_with_the_split_then_pays_mixed(short_api, item):
    from billing.gateways import simulator
    from marketplace.tests.factories import assert_ledger_balanced

    hold, _ = services.hold_create(user=short_api.user, item_id=item.pk, quantity=1)

    # when the app tries the wallet alone, it learns the split
    short = checkout(short_api, hold.pk, "w-1")
    assert short.status_code == 402
    assert short["Content-Type"] == PROBLEM
    problem = short.json()
    assert (problem["code"], problem["amount_paise"]) == ("insufficient_funds", 49_900)
    assert (problem["wallet_part_paise"], problem["gateway_part_paise"]) == (20_000, 29_900)
    assert "₹299.00 short" in problem["detail"]

    # when it asks for a mixed payment, it gets what the Razorpay SDK needs
    opened = checkout(short_api, hold.pk, "m-1", method="mixed", expected_amount_paise=49_900)
    assert opened.status_code == 202
    payment = opened.json()
    assert (payment["status"], payment["hold_id"], payment["order_id"]) == (
        "payment_pending",
        hold.pk,
        None,
    )
    assert (payment["wallet_part_paise"], payment["gateway_part_paise"]) == (20_000, 29_900)
    gateway = payment["gateway"]
    assert (gateway["amount_paise"], gateway["currency"]) == (29_900, "INR")
    assert gateway["key_id"] and gateway["order_id"].startswith("order_")
    assert gateway["checkout_url"].startswith("http://testserver/")
    assert [s["status"] for s in payment["steps"]] == [
        "created",
        "funds_reserved",
        "payment_pending",
    ]
    held = short_api.get(f"/api/v1/flash-sales/holds/{hold.pk}/").json()
    assert held["open_payment_id"] == payment["id"]

    # when the app sends the signed checkout result
    fields = simulator().complete_checkout(order_id=gateway["order_id"], outcome="succeed")
    done = short_api.post(
        f"/api/v1/flash-sales/payments/{payment['id']}/verify/", fields, format="json"
    )

    # then the payment is fulfilled and the order says how it was paid
    assert done.status_code == 200
    assert done.json()["status"] == "fulfilled" and done.json()["gateway"] is None
    order = short_api.get(f"/api/v1/flash-sales/orders/{done.json()['order_id']}/").json()
    assert (order["payment_method"], order["payment_id"]) == ("mixed", payment["id"])
    assert (order["wallet_paid_paise"], order["gateway_paid_paise"]) == (20_000, 29_900)
    assert order["amount_paise"] == 49_900 and order["number"].startswith("FS-")
    again = short_api.get(f"/api/v1/flash-sales/payments/{payment['id']}/").json()
    assert again["order_id"] == order["id"]
    assert balance(short_api.user) == 0
    assert_ledger_balanced()


def test_a_wallet_order_says_it_was_paid_from_the_wallet(api, item):
    hold = api.post(hold_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="h").json()

    order = checkout(api, hold["id"], "c").json()

    assert (order["payment_method"], order["payment_id"]) == ("wallet", None)
    assert (order["wallet_paid_paise"], order["gateway_paid_paise"]) == (49_900, 0)


def test_mixed_checkout_refusals_are_problem_details_and_change_nothing(
    short_api, api, buyer, item
):
    from flashsale.models import FlashPayment
    from wallet.services import wallet_ensure

    mine, _ = services.hold_create(user=short_api.user, item_id=item.pk, quantity=1)
    theirs, _ = services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1)
    gone, _ = services.hold_create(user=short_api.user, item_id=item.pk, quantity=1)
    Hold.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    tampered = checkout(short_api, mine.pk, "t", method="mixed", expected_amount_paise=1)
    stranger = checkout(short_api, theirs.pk, "s", method="mixed")
    expired = checkout(short_api, gone.pk, "e", method="mixed")
    bad_method = checkout(short_api, mine.pk, "b", method="crypto")
    tampered_wallet = checkout(short_api, mine.pk, "tw", expected_amount_paise=1)
    rich_hold, _ = services.hold_create(user=buyer, item_id=item.pk, quantity=1)
    not_needed = checkout(api, rich_hold.pk, "n", method="mixed")
    nobody = short_api.get("/api/v1/flash-sales/payments/999999/")

    assert (tampered.status_code, tampered.json()["code"]) == (409, "price_changed")
    assert tampered.json()["price_paise"] == 49_900
    assert (stranger.status_code, stranger.json()["code"]) == (404, "hold_not_found")
    assert (expired.status_code, expired.json()["code"]) == (410, "hold_expired")
    assert bad_method.status_code == 400 and bad_method["Content-Type"] == PROBLEM
    assert (tampered_wallet.status_code, tampered_wallet.json()["code"]) == (409, "price_changed")
    assert (not_needed.status_code, not_needed.json()["code"]) == (400, "order_not_needed")
    assert (nobody.status_code, nobody.json()["code"]) == (404, "payment_not_found")
    assert not FlashPayment.objects.exists() and FlashOrder.objects.count() == 0
    wallet = wallet_ensure(user=short_api.user)
    assert (wallet.available.balance_paise, wallet.reserved.balance_paise) == (20_000, 0)


def test_a_bad_signature_credits_nothing_and_cancel_gives_the_wallet_part_back(short_api, item):
    from wallet.services import wallet_ensure

    hold, _ = services.hold_create(user=short_api.user, item_id=item.pk, quantity=1)
    payment = checkout(short_api, hold.pk, "m", method="mixed").json()

    forged = short_api.post(
        f"/api/v1/flash-sales/payments/{payment['id']}/verify/",
        {
            "razorpay_order_id": payment["gateway"]["order_id"],
            "razorpay_payment_id": "pay_forged",
            "razorpay_signature": "0" * 64,
        },
        format="json",
    )
    cancelled = short_api.post(f"/api/v1/flash-sales/payments/{payment['id']}/cancel/")

    assert forged.status_code == 400 and forged["Content-Type"] == PROBLEM
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    wallet = wallet_ensure(user=short_api.user)
    assert (wallet.available.balance_paise, wallet.reserved.balance_paise) == (20_000, 0)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE


def test_with_redis_down_a_buyer_can_still_hold_see_pay_and_release(api, buyer, redis_unreachable):
    # given the cache (the API's rate limits, the throttle, live stock) is unreachable
    item = item_make(total=10, per_user_limit=2)

    # when the buyer holds, looks, pays, then holds again and lets that one go
    held = api.post(hold_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="h1").json()
    status = api.get(f"/api/v1/flash-sales/holds/{held['id']}/")
    paid = api.post(
        f"/api/v1/flash-sales/holds/{held['id']}/checkout/", {}, HTTP_IDEMPOTENCY_KEY="p1"
    )
    second = api.post(hold_url(item), {}, format="json", HTTP_IDEMPOTENCY_KEY="h2").json()
    released = api.post(f"/api/v1/flash-sales/holds/{second['id']}/release/")

    # then every step is answered as with Redis up (DRF's rate limits fail open)
    assert (status.status_code, paid.status_code, released.status_code) == (200, 201, 200)
    assert released.json()["status"] == "released"
    assert SaleItem.objects.get(pk=item.pk).available == 9
    assert balance(buyer) == 500_000 - item.sale_price_paise


def test_keys_of_the_longest_allowed_length_hold_and_pay_once(api, buyer, item):
    longest = "k" * 255  # kept as "api:<key>", longer than the columns: digested
    url = hold_url(item)

    held = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY=longest)
    held_again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY=longest)
    checkout = f"/api/v1/flash-sales/holds/{held.json()['id']}/checkout/"
    paid = api.post(checkout, {}, format="json", HTTP_IDEMPOTENCY_KEY=longest)

    assert (held.status_code, held_again.status_code, paid.status_code) == (201, 201, 201)
    assert held_again.json()["id"] == held.json()["id"]
    assert SaleItem.objects.get(pk=item.pk).available == 9
    assert balance(buyer) == 500_000 - item.sale_price_paise
