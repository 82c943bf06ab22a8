"""Moving earnings to the wallet from the vendor console's Earnings page and the JSON API."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from marketplace.services import pass_purchase
from marketplace.tests.factories import PlanFactory, VendorFactory, balance, fund
from marketplace.tests.test_payouts import balances, earn
from wallet.models import EntryKind, JournalEntry
from wallet.services import vendor_payable_account

pytestmark = pytest.mark.django_db

MOVE = "/vendor/earnings/move/"
API = "/api/v1/console/earnings/transfers/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def vendor(client):
    vendor = VendorFactory()
    earn(vendor, 90_000)
    client.force_login(vendor.user)
    return vendor


# --- the page ---------------------------------------------------------------------------------


def test_the_earnings_page_offers_to_move_the_payable_to_the_wallet(client, vendor):
    page = client.get("/vendor/earnings/").content.decode()

    assert 'data-testid="move-form"' in page
    assert 'name="idempotency_key" value="' in page
    assert 'data-testid="move-all">Move all ₹900.00<' in page
    assert "cannot be withdrawn" not in page
    assert 'data-testid="payout-note"' in page


def test_an_htmx_move_returns_the_panel_with_the_new_balances_and_a_withdraw_link(client, vendor):
    body = {"amount_paise": "250", "idempotency_key": "k1"}

    response = client.post(MOVE, body, headers=HTMX)
    again = client.post(MOVE, body, headers=HTMX)  # a double click sends the same key

    assert response.status_code == again.status_code == 200
    panel = response.content.decode()
    assert panel.startswith('\n<div id="payout-panel"') or '<div id="payout-panel"' in panel[:60]
    assert "<html" not in panel
    assert 'data-testid="move-notice"' in panel and "₹250.00 moved to your wallet." in panel
    assert 'data-testid="move-withdraw-link"' in panel and 'href="/billing/withdraw/"' in panel
    assert 'data-testid="payable">₹650.00<' in panel
    assert 'data-testid="wallet-available">₹250.00<' in panel
    assert 'name="idempotency_key" value="k1"' not in panel  # a fresh key for the next move
    assert balances(vendor) == (65_000, 25_000)
    assert JournalEntry.objects.filter(kind=EntryKind.EARNINGS).count() == 1


def test_move_all_without_htmx_redirects_with_a_message(client, vendor):
    response = client.post(MOVE, {"everything": "on", "idempotency_key": "k1"}, follow=True)

    assert response.redirect_chain == [("/vendor/earnings/", 302)]
    assert "₹900.00 moved to your wallet." in response.content.decode()
    assert balances(vendor) == (0, 90_000)


def test_more_than_the_balance_shows_the_error_on_the_form_and_moves_nothing(client, vendor):
    response = client.post(MOVE, {"amount_paise": "900.01", "idempotency_key": "k1"}, headers=HTMX)

    assert response.status_code == 200  # htmx swaps 2xx only
    panel = response.content.decode()
    assert "You have ₹900.00 of earnings to move; you asked to move ₹900.01." in panel
    assert 'name="idempotency_key" value="k1"' in panel
    assert balances(vendor) == (90_000, 0)

    plain = client.post(MOVE, {"amount_paise": "abc", "idempotency_key": "k2"})
    assert plain.status_code == 400
    empty = client.post(MOVE, {"amount_paise": "", "idempotency_key": "k3"})
    assert "Enter an amount, or move all of it." in empty.content.decode()
    assert balances(vendor) == (90_000, 0)


def test_customers_get_403_and_anonymous_users_the_login_page(client):
    customer = UserFactory()
    client.force_login(customer)

    assert client.post(MOVE, {"amount_paise": "1", "idempotency_key": "k"}).status_code == 403
    assert client.get(API.replace("transfers/", "")).status_code == 403

    client.logout()
    response = client.post(MOVE, {"amount_paise": "1", "idempotency_key": "k"})
    assert response.status_code == 302 and "/login" in response.url
    assert not JournalEntry.objects.filter(kind=EntryKind.EARNINGS).exists()


def test_the_move_only_accepts_post(client, vendor):
    assert client.get(MOVE).status_code == 405


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(vendor):
    api = APIClient()
    api.force_authenticate(vendor.user)
    return api


def test_get_shows_the_payable_balance(api, vendor):
    response = api.get("/api/v1/console/earnings/")

    assert response.status_code == 200
    assert response.json() == {
        "payable_paise": 90_000,
        "movable_paise": 90_000,
        "held_paise": 0,
        "held_until": None,
        "available_paise": 0,
        "last_30_days_paise": 90_000,
        "recent_moves": [],
    }


def test_post_moves_once_and_replays_with_the_same_key(api, vendor):
    first = api.post(API, {"amount_paise": 25_000}, format="json", headers={"Idempotency-Key": "a"})
    again = api.post(API, {"amount_paise": 25_000}, format="json", headers={"Idempotency-Key": "a"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    body = first.json()
    assert (body["amount_paise"], body["payable_paise"], body["available_paise"]) == (
        25_000,
        65_000,
        25_000,
    )
    assert balances(vendor) == (65_000, 25_000)
    listed = api.get("/api/v1/console/earnings/").json()
    assert listed["payable_paise"] == 65_000
    assert [m["amount_paise"] for m in listed["recent_moves"]] == [25_000]


def test_the_same_key_with_a_different_body_is_422(api, vendor):
    api.post(API, {"amount_paise": 25_000}, format="json", headers={"Idempotency-Key": "a"})

    response = api.post(API, {"all": True}, format="json", headers={"Idempotency-Key": "a"})

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert balances(vendor) == (65_000, 25_000)


def test_post_needs_an_idempotency_key_and_a_good_body(api, vendor):
    missing = api.post(API, {"amount_paise": 100}, format="json")
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_missing"

    for body in (
        {},
        {"amount_paise": 100, "all": True},
        {"amount_paise": 0},
        {"amount_paise": 1.5},
    ):
        response = api.post(API, body, format="json", headers={"Idempotency-Key": str(body)})
        assert response.status_code == 400, body
        assert response["Content-Type"] == "application/problem+json"
    assert balances(vendor) == (90_000, 0)


def test_more_than_the_balance_is_402_and_all_of_it_works(api, vendor):
    too_much = api.post(
        API, {"amount_paise": 90_001}, format="json", headers={"Idempotency-Key": "a"}
    )

    assert too_much.status_code == 402
    problem = too_much.json()
    assert (problem["code"], problem["field"]) == ("insufficient_funds", "amount_paise")
    assert problem["detail"] == "You have ₹900.00 of earnings to move; you asked to move ₹900.01."
    assert balances(vendor) == (90_000, 0)

    everything = api.post(API, {"all": True}, format="json", headers={"Idempotency-Key": "a"})
    assert everything.status_code == 201
    assert everything.json()["amount_paise"] == 90_000
    assert balance(vendor_payable_account(vendor.user)) == 0


def test_customers_are_refused_by_the_api():
    api = APIClient()
    api.force_authenticate(UserFactory())

    response = api.post(API, {"amount_paise": 100}, format="json", headers={"Idempotency-Key": "a"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert APIClient().get("/api/v1/console/earnings/").status_code in (401, 403)


def test_the_schema_documents_the_earnings_api():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    post = schema["paths"]["/api/v1/console/earnings/transfers/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"])
    assert {"201", "402", "422"} <= set(post["responses"])
    assert "get" in schema["paths"]["/api/v1/console/earnings/"]


def test_the_page_lists_recent_moves_and_who_made_them(client, vendor):
    from marketplace.services.payouts import earnings_to_wallet

    earnings_to_wallet(vendor_user=vendor.user, amount_paise=10_000, idempotency_key="a")
    earnings_to_wallet(
        vendor_user=vendor.user,
        amount_paise=20_000,
        idempotency_key="b",
        acting_user=UserFactory(is_staff=True),
        reason="Payout run",
    )

    page = client.get("/vendor/earnings/").content.decode()

    assert page.count('data-testid="earnings-move"') == 2
    assert page.count("by FlexPass staff") == 1
    assert 'data-testid="payable">₹600.00<' in page


def test_held_earnings_are_shown_and_only_the_rest_is_offered(client):
    vendor = VendorFactory()
    buyer = UserFactory()
    fund(buyer, 100_000)
    pass_purchase(
        buyer=buyer,
        plan=PlanFactory(service__vendor=vendor, price_paise=100_000),
        idempotency_key="b",
    )
    client.force_login(vendor.user)

    page = client.get("/vendor/earnings/").content.decode()

    assert "₹900.00 held for refunds" in page
    hours = settings.EARNINGS_HOLD_HOURS
    assert f"₹900.00 is your share of sales from the last {hours} hours" in page
    assert 'data-testid="move-form"' not in page
    assert "your earnings can move once their refund window closes" in page
    api = APIClient()
    api.force_authenticate(vendor.user)
    body = api.get("/api/v1/console/earnings/").json()
    assert (body["payable_paise"], body["movable_paise"], body["held_paise"]) == (90_000, 0, 90_000)
    assert body["held_until"] is not None
