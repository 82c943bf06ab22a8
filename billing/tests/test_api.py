"""The JSON API: /api/v1/wallet/topups, /withdrawals and their problem details."""

import pytest

from billing.models import TopUp, Withdrawal
from billing.tests.factories import UserFactory, available, fund, pay, reserved

pytestmark = pytest.mark.django_db

TOPUPS = "/api/v1/wallet/topups"
WITHDRAWALS = "/api/v1/wallet/withdrawals"


def create_topup(api, body, key="idem-1"):
    return api.post(TOPUPS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_create_topup_returns_the_order_and_where_to_pay(api, user):
    response = create_topup(api, {"amount_paise": 50_000})

    assert response.status_code == 201
    body = response.json()
    topup = TopUp.objects.get()
    assert body["id"] == topup.pk
    assert body["order_id"] == topup.gateway_order_id
    assert (body["amount_paise"], body["currency"], body["status"], body["gateway"]) == (
        50_000,
        "INR",
        "created",
        "simulated",
    )
    assert body["checkout_url"] == f"http://testserver/billing/checkout/{topup.gateway_order_id}/"
    assert body["key_id"] == "rzp_test_SIMULATED"


def test_replaying_the_idempotency_key_returns_the_same_order(api):
    first = create_topup(api, {"amount_paise": 50_000})
    again = create_topup(api, {"amount_paise": 50_000})

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert TopUp.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_422(api):
    create_topup(api, {"amount_paise": 50_000})

    response = create_topup(api, {"amount_paise": 60_000})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert TopUp.objects.count() == 1


def test_a_topup_without_an_idempotency_key_is_a_400(api):
    response = api.post(TOPUPS, {"amount_paise": 50_000}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert TopUp.objects.count() == 0


@pytest.mark.parametrize(
    "amount, message",
    [
        (12.5, "Send a whole number of paise, like 50000 for ₹500."),
        (500.0, "Send a whole number of paise, like 50000 for ₹500."),
        ("500.00", "Send a whole number of paise, like 50000 for ₹500."),
        ("5e4", "Send a whole number of paise, like 50000 for ₹500."),
        (True, "Send a whole number of paise, like 50000 for ₹500."),
        (None, "This field may not be null."),
        (-100, "The amount must be more than zero."),
        (0, "The amount must be more than zero."),
        (10**12 + 1, "The amount is too large."),
    ],
)
def test_bad_amounts_are_400_problems_with_field_errors(api, amount, message):
    response = create_topup(api, {"amount_paise": amount}, key=f"k-{amount!r}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["status"]) == ("validation_error", 400)
    assert body["errors"] == [
        {"field": "amount_paise", "message": message, "code": body["errors"][0]["code"]}
    ]
    assert TopUp.objects.count() == 0


def test_missing_amount_is_a_field_error(api):
    response = create_topup(api, {})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "amount_paise"


def test_amount_as_a_string_of_digits_is_accepted_for_form_clients(api):
    response = api.post(TOPUPS, {"amount_paise": "50000"}, HTTP_IDEMPOTENCY_KEY="form-1")

    assert response.status_code == 201
    assert response.json()["amount_paise"] == 50_000


def test_limits_are_problems_with_their_numbers(api):
    response = create_topup(api, {"amount_paise": 999})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"], body["min_paise"]) == (
        "topup_refused",
        "The smallest top-up is ₹10.00.",
        1_000,
    )


def test_verify_credits_the_wallet_once(api, user):
    topup_id = create_topup(api, {"amount_paise": 50_000}).json()["id"]
    fields = pay(TopUp.objects.get(pk=topup_id))
    body = {"payment_id": fields["razorpay_payment_id"], "signature": fields["razorpay_signature"]}

    first = api.post(f"{TOPUPS}/{topup_id}/verify", body, format="json")
    again = api.post(f"{TOPUPS}/{topup_id}/verify", body, format="json")

    assert first.status_code == 200
    assert first.json()["status"] == "captured"
    assert first.json()["payment_id"] == fields["razorpay_payment_id"]
    assert again.status_code == 200
    assert available(user) == 50_000


def test_verify_with_a_bad_signature_is_a_400_problem(api, user):
    topup_id = create_topup(api, {"amount_paise": 50_000}).json()["id"]
    fields = pay(TopUp.objects.get(pk=topup_id))

    response = api.post(
        f"{TOPUPS}/{topup_id}/verify",
        {"payment_id": fields["razorpay_payment_id"], "signature": "f" * 64},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payment_signature"
    assert available(user) == 0


def test_verify_for_an_unknown_or_someone_elses_topup_is_a_404_problem(api):
    other = UserFactory()
    from billing import services

    theirs = services.topup_create(user=other, amount_paise=50_000, idempotency_key="x")
    body = {"payment_id": "pay_x", "signature": "f" * 64}

    unknown = api.post(f"{TOPUPS}/999999/verify", body, format="json")
    not_mine = api.post(f"{TOPUPS}/{theirs.pk}/verify", body, format="json")

    for response in (unknown, not_mine):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "topup_not_found"


def test_list_shows_only_my_topups_newest_first(api, user, django_assert_max_num_queries):
    for n in range(3):
        create_topup(api, {"amount_paise": 10_000 + n}, key=f"k{n}")
    from billing import services

    services.topup_create(user=UserFactory(), amount_paise=50_000, idempotency_key="other")

    with django_assert_max_num_queries(4):
        response = api.get(TOPUPS)

    body = response.json()
    assert body["count"] == 3
    assert [row["amount_paise"] for row in body["results"]] == [10_002, 10_001, 10_000]

    detail = api.get(f"{TOPUPS}/{body['results'][0]['id']}")
    assert detail.json()["amount_paise"] == 10_002


def test_the_api_needs_a_signed_in_user():
    from rest_framework.test import APIClient

    response = APIClient().get(TOPUPS)

    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


# --- withdrawals --------------------------------------------------------------------------

BANK = {"account_holder": "Asha Rao", "account_number": "123456789012", "ifsc": "HDFC0001234"}


def test_create_withdrawal_reserves_and_replays(api, user):
    fund(user, 100_000)

    first = api.post(
        WITHDRAWALS, {"amount_paise": 30_000, **BANK}, format="json", HTTP_IDEMPOTENCY_KEY="w1"
    )
    again = api.post(
        WITHDRAWALS, {"amount_paise": 30_000, **BANK}, format="json", HTTP_IDEMPOTENCY_KEY="w1"
    )

    assert first.status_code == 201
    body = first.json()
    assert (body["status"], body["status_label"], body["account_number"], body["ifsc"]) == (
        "requested",
        "Under review",
        "•••• 9012",
        "HDFC0001234",
    )
    assert again["Idempotent-Replayed"] == "true"
    assert Withdrawal.objects.count() == 1
    assert reserved(user) == 30_000
    listed = api.get(WITHDRAWALS).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]


def test_withdrawal_field_errors(api, user):
    fund(user, 100_000)

    response = api.post(
        WITHDRAWALS,
        {"amount_paise": 30.5, "account_holder": "A R", "account_number": "12", "ifsc": "hdfc1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w1",
    )

    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"amount_paise", "account_number", "ifsc"}
    assert reserved(user) == 0


def test_withdrawal_without_funds_is_a_402_problem(api, user):
    response = api.post(
        WITHDRAWALS, {"amount_paise": 30_000, **BANK}, format="json", HTTP_IDEMPOTENCY_KEY="w1"
    )

    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_funds"
    assert Withdrawal.objects.count() == 0


def test_openapi_schema_documents_the_idempotency_header(client):
    response = client.get("/api/schema/", {"format": "json"})

    schema = response.json()
    post = schema["paths"]["/api/v1/wallet/topups"]["post"]
    headers = {p["name"]: p for p in post["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is True
    assert "/api/v1/billing/webhooks/razorpay" in schema["paths"]
    assert "/api/v1/wallet/withdrawals" in schema["paths"]


def test_verify_with_a_non_ascii_signature_is_a_400_problem(api, user):
    topup_id = create_topup(api, {"amount_paise": 50_000}).json()["id"]
    fields = pay(TopUp.objects.get(pk=topup_id))

    response = api.post(
        f"{TOPUPS}/{topup_id}/verify",
        {"payment_id": fields["razorpay_payment_id"], "signature": "é"},
        format="json",
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_payment_signature")
    assert available(user) == 0


def test_an_account_number_in_other_scripts_digits_is_refused(api, user):
    fund(user, 100_000)
    bank = {**BANK, "account_number": "١٢٣٤٥٦٧٨٩٠١٢"}  # Arabic-Indic digits

    response = api.post(
        WITHDRAWALS, {"amount_paise": 30_000, **bank}, format="json", HTTP_IDEMPOTENCY_KEY="w1"
    )

    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"account_number"}
    assert Withdrawal.objects.count() == 0
