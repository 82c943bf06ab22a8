import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from marketplace import services
from marketplace.models import Order, Pass, Purchase, Service, ServiceStatus
from marketplace.tests.factories import (
    PlanFactory,
    ServiceFactory,
    assert_ledger_balanced,
    balance,
    fund,
    usage_plan,
)
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def buyer_api(api, funded_buyer):
    api.force_authenticate(funded_buyer)
    return api


def _buy(api, body, key="key-1"):
    return api.post("/api/v1/passes/", body, format="json", headers={"Idempotency-Key": key})


# --- catalog --------------------------------------------------------------------------------


def test_services_list_is_public_and_filterable(api, plan):
    other = ServiceFactory(name="Fonts", slug="fonts")
    PlanFactory(service=other, price_paise=1_000)

    everything = api.get("/api/v1/catalog/services/")
    cheap_first = api.get("/api/v1/catalog/services/", {"sort": "price"})
    found = api.get("/api/v1/catalog/services/", {"q": "imagegen"})

    assert everything.status_code == 200
    assert everything.json()["count"] == 2
    assert [s["slug"] for s in cheap_first.json()["results"]] == ["fonts", "imagegen-pro"]
    result = found.json()["results"]
    assert [s["slug"] for s in result] == ["imagegen-pro"]
    assert result[0]["min_price_paise"] == 4_900
    assert result[0]["plans"][0] | {"id": 0} == {
        "id": 0,
        "service": "imagegen-pro",
        "kind": "time",
        "name": "Day pass",
        "description": "",
        "price_paise": 4_900,
        "duration_hours": 24,
        "units": None,
        "unit_label": "calls",
        "validity_days": None,
        "metered_rate_paise": None,
        "metered_unit": "",
        "purchasable": True,
    }


def test_services_list_does_a_fixed_number_of_queries(api, assert_domain_queries):
    PlanFactory(service=ServiceFactory(slug="first"))
    with assert_domain_queries(3) as few:  # count, services, plans
        api.get("/api/v1/catalog/services/")
    for i in range(6):
        PlanFactory(service=ServiceFactory(slug=f"s{i}"))

    with assert_domain_queries(3) as many:
        response = api.get("/api/v1/catalog/services/")

    assert response.json()["count"] == 7
    assert many.total == few.total


def test_service_plan_and_categories_endpoints(api, plan):
    service = api.get("/api/v1/catalog/services/imagegen-pro/")
    one_plan = api.get(f"/api/v1/catalog/plans/{plan.pk}/")
    categories = api.get("/api/v1/catalog/categories/")

    assert service.json()["vendor"]["name"] == plan.service.vendor.business_name
    assert one_plan.json()["price_paise"] == 4_900
    ai = next(c for c in categories.json() if c["slug"] == "ai-tools")
    assert ai["live_count"] == 1


def test_a_paused_service_and_its_plans_are_404(api, plan):
    Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)

    service = api.get("/api/v1/catalog/services/imagegen-pro/")
    one_plan = api.get(f"/api/v1/catalog/plans/{plan.pk}/")

    assert service.status_code == 404
    assert service["Content-Type"] == "application/problem+json"
    assert service.json()["code"] == "service_not_found"
    assert one_plan.status_code == 404


# --- buying ---------------------------------------------------------------------------------


def test_buying_returns_the_receipt_and_the_pass(buyer_api, funded_buyer, plan):
    response = _buy(buyer_api, {"plan_id": plan.pk, "expected_price_paise": 4_900})

    assert response.status_code == 201
    body = response.json()
    purchase = Purchase.objects.get()
    assert body["receipt"]["number"] == purchase.number
    assert body["receipt"]["price_paise"] == 4_900
    assert body["pass"]["kind"] == "time"
    assert body["pass"]["status"] == "active"
    assert body["pass"]["token"] == purchase.pass_obj.token
    assert 86_390 <= body["pass"]["seconds_left"] <= 86_400


def test_a_repeat_purchase_runs_a_fixed_budget_of_statements(
    buyer_api, plan, assert_domain_queries
):
    # given a buyer whose accounts are all open (a first purchase)
    assert _buy(buyer_api, {"plan_id": plan.pk}, key="warm").status_code == 201

    # when they buy again: plan (+ key replay check, + "has the vendor a webhook
    # endpoint?"), accounts, lock, entry, balances, postings, renewal window,
    # purchase, pass, cashback grant, badge standing, notification, and the shared
    # accounts' balances before commit (one statement)
    with assert_domain_queries(12):
        response = _buy(buyer_api, {"plan_id": plan.pk}, key="again")

    # then
    assert response.status_code == 201


def test_a_retried_buy_replays_the_first_answer_and_buys_once(buyer_api, funded_buyer, plan):
    first = _buy(buyer_api, {"plan_id": plan.pk})
    again = _buy(buyer_api, {"plan_id": plan.pk})

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Purchase.objects.count() == 1
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


def test_a_key_of_the_longest_allowed_length_buys_once(buyer_api, funded_buyer, plan):
    longest = "k" * 255  # the ledger keeps it prefixed, longer than its column: digested

    first = _buy(buyer_api, {"plan_id": plan.pk}, key=longest)
    again = _buy(buyer_api, {"plan_id": plan.pk}, key=longest)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Purchase.objects.count() == 1
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


def test_buying_needs_an_idempotency_key(buyer_api, plan):
    response = buyer_api.post("/api/v1/passes/", {"plan_id": plan.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan_id": 0}, 400, "validation_error"),
        ({"plan_id": "abc"}, 400, "validation_error"),
        ({}, 400, "validation_error"),
        ({"plan_id": 999_999}, 404, "plan_not_found"),
    ],
)
def test_bad_buy_input_is_refused_with_nothing_charged(
    buyer_api, funded_buyer, plan, body, status, code
):
    response = _buy(buyer_api, body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Purchase.objects.exists()
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000


@pytest.mark.parametrize("shown", [-4_900, 0, 1])
def test_a_negative_or_tampered_price_is_refused(buyer_api, funded_buyer, plan, shown):
    response = _buy(buyer_api, {"plan_id": plan.pk, "expected_price_paise": shown})

    assert response.status_code == 409
    assert response.json()["code"] == "price_changed"
    assert response.json()["price_paise"] == 4_900
    assert not Purchase.objects.exists()
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000


def test_a_price_field_in_the_body_is_ignored(buyer_api, funded_buyer, plan):
    response = _buy(buyer_api, {"plan_id": plan.pk, "price_paise": 1})

    assert response.status_code == 201
    assert response.json()["receipt"]["price_paise"] == 4_900


def test_insufficient_funds_is_402(api, buyer, plan):
    fund(buyer, 100)
    api.force_authenticate(buyer)

    response = _buy(api, {"plan_id": plan.pk})

    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_funds"
    assert not Purchase.objects.exists()
    assert_ledger_balanced()


def test_a_paused_service_cannot_be_bought(buyer_api, funded_buyer, plan):
    Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)

    response = _buy(buyer_api, {"plan_id": plan.pk})

    assert response.status_code == 409
    assert response.json()["code"] == "service_unavailable"
    assert not Purchase.objects.exists()


def test_buying_needs_authentication(api, plan):
    response = _buy(api, {"plan_id": plan.pk})

    assert response.status_code in (401, 403)
    assert not Purchase.objects.exists()


# --- my passes and receipts -----------------------------------------------------------------


def test_my_passes_and_pass_detail(buyer_api, funded_buyer, plan, assert_domain_queries):
    for i in range(3):
        services.pass_purchase(
            buyer=funded_buyer, plan=usage_plan(price_paise=100), idempotency_key=f"u{i}"
        )
    timed = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="t")
    someone_else = UserFactory()
    fund(someone_else, 10_000)
    theirs = services.pass_purchase(buyer=someone_else, plan=plan, idempotency_key="x")

    with assert_domain_queries(4):  # expire x2, count, passes
        listed = buyer_api.get("/api/v1/passes/")
    detail = buyer_api.get(f"/api/v1/passes/{timed.pass_obj.pk}/")
    hidden = buyer_api.get(f"/api/v1/passes/{theirs.pass_obj.pk}/")
    bad_tab = buyer_api.get("/api/v1/passes/", {"status": "nope"})

    assert listed.json()["count"] == 4
    assert detail.json()["id"] == timed.pass_obj.pk
    assert hidden.status_code == 404
    assert bad_tab.status_code == 400


def test_receipts(buyer_api, funded_buyer, plan, assert_domain_queries):
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="t")

    with assert_domain_queries(2):  # count, receipts
        listed = buyer_api.get("/api/v1/passes/receipts/")
    one = buyer_api.get(f"/api/v1/passes/receipts/{purchase.pk}/")

    assert [r["number"] for r in listed.json()["results"]] == [purchase.number]
    assert one.json()["receipt_url"] == f"/receipts/{purchase.pk}/"
    assert one.json()["pass_id"] == Pass.objects.get().pk


# --- orders ---------------------------------------------------------------------------------


def test_an_order_through_the_api(api, buyer, plan):
    fund(buyer, 1_000)
    api.force_authenticate(buyer)

    created = api.post(
        "/api/v1/orders/", {"plan_id": plan.pk}, format="json", headers={"Idempotency-Key": "o"}
    )

    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "payment_pending"
    assert [s["to_status"] for s in body["steps"]] == [
        "created",
        "funds_reserved",
        "payment_pending",
    ]
    assert body["checkout_url"].startswith("/billing/checkout/")
    assert "callback_url=%2Forders%2F" in body["checkout_url"]
    assert (body["wallet_part_paise"], body["gateway_part_paise"]) == (1_000, 3_900)

    status = api.get(f"/api/v1/orders/{body['id']}/")
    assert status.json()["status"] == "payment_pending"
    listed = api.get("/api/v1/orders/")
    assert listed.json()["count"] == 1

    cancelled = api.post(f"/api/v1/orders/{body['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["checkout_url"] is None
    again = api.post(f"/api/v1/orders/{body['id']}/cancel/")
    assert again.status_code == 409
    assert balance(wallet_ensure(user=buyer).available) == 1_000


def test_an_order_is_refused_when_the_wallet_covers_it(buyer_api, plan):
    response = buyer_api.post(
        "/api/v1/orders/", {"plan_id": plan.pk}, format="json", headers={"Idempotency-Key": "o"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "order_not_needed"
    assert not Order.objects.exists()


def test_someone_elses_order_is_404(api, buyer, plan):
    fund(buyer, 1_000)
    order = services.order_create(buyer=buyer, plan=plan, idempotency_key="o")
    api.force_authenticate(UserFactory())

    assert api.get(f"/api/v1/orders/{order.pk}/").status_code == 404
    assert api.post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 404
    assert Order.objects.get().status == "payment_pending"


def test_the_schema_documents_the_marketplace(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    for path in (
        "/api/v1/catalog/services/",
        "/api/v1/catalog/services/{slug}/",
        "/api/v1/catalog/plans/{plan_id}/",
        "/api/v1/passes/",
        "/api/v1/passes/{pass_id}/",
        "/api/v1/passes/receipts/{purchase_id}/",
        "/api/v1/orders/",
        "/api/v1/orders/{order_id}/",
    ):
        assert path in schema["paths"], path
    buy = schema["paths"]["/api/v1/passes/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in buy["parameters"])
    assert "examples" in buy["requestBody"]["content"]["application/json"]


def test_catalog_filters_with_a_nul_byte_are_read_without_it(api, plan):
    by_query = api.get("/api/v1/catalog/services/", {"q": "image\x00gen"})
    by_category = api.get("/api/v1/catalog/services/", {"category": "\x00"})

    assert by_query.status_code == by_category.status_code == 200
    assert [s["slug"] for s in by_query.json()["results"]] == ["imagegen-pro"]
