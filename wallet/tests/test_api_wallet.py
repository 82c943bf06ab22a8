"""Wallet API: balances, statement, idempotent transfers, recipients, ping."""

from datetime import datetime
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Profile
from accounts.services import profile_ensure
from flexpass.models import IdempotencyRecord
from wallet import services
from wallet.models import JournalEntry
from wallet.tests.factories import UserFactory, balance, fund, ledger_rows, reserve, wallet_for

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def person(name: str, email: str, **kwargs):
    user = UserFactory(email=email, **kwargs)
    profile = profile_ensure(user=user)
    profile.display_name = name
    profile.save(update_fields=["display_name"])
    wallet_for(user)
    return user


def available(user) -> int:
    return balance(services.wallet_ensure(user=user).available)


def entries_dated(when: datetime):
    field = JournalEntry._meta.get_field("created_at")
    return mock.patch.object(field, "_get_default", lambda: when)


def ist(year, month, day, hour=12, minute=0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


@pytest.fixture
def asha():
    user = person("Asha Rao", "asha@example.com")
    fund(services.wallet_ensure(user=user), 100_000, key="fund-asha")  # ₹1,000
    return user


@pytest.fixture
def ravi():
    return person("Ravi Menon", "ravi@example.com")


@pytest.fixture
def api(asha) -> APIClient:
    client = APIClient()
    client.force_authenticate(asha)
    return client


def send(api, body, key="key-1", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return api.post("/api/v1/wallet/transfers", body, format="json", **headers)


# --- GET /api/v1/wallet/ --------------------------------------------------------------------


def test_wallet_shows_balances_and_handle(api, asha):
    # Given
    reserve(services.wallet_ensure(user=asha), 2_500, key="r1")

    # When
    response = api.get("/api/v1/wallet/")

    # Then
    assert response.status_code == 200
    assert response.json() == {
        "handle": "asha",
        "available_paise": 97_500,
        "reserved_paise": 2_500,
        "total_paise": 100_000,
        "low_balance_threshold_paise": 10_000,
    }


def test_wallet_api_needs_authentication():
    # When
    response = APIClient().get("/api/v1/wallet/")

    # Then
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "not_authenticated"


def test_ping_answers_signed_in_callers_only(api):
    # When
    signed_in = api.get("/api/v1/wallet/ping")
    anonymous = APIClient().get("/api/v1/wallet/ping")

    # Then
    assert (signed_in.status_code, signed_in.json()) == (200, {"ok": True})
    assert anonymous.status_code == 401


# --- GET /api/v1/wallet/statement -----------------------------------------------------------


@pytest.fixture
def history(asha, ravi):
    with entries_dated(ist(2025, 3, 3, 20, 15)):
        services.wallet_transfer(
            sender=asha, recipient=ravi, amount_paise=45_000, idempotency_key="h1", note="Dinner"
        )
    with entries_dated(ist(2025, 3, 5, 8, 5)):
        services.wallet_transfer(
            sender=ravi, recipient=asha, amount_paise=5_000, idempotency_key="h2"
        )


def test_statement_lists_lines_newest_first_with_running_balance(api, history):
    # When
    response = api.get("/api/v1/wallet/statement")

    # Then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert (body["next"], body["previous"]) == (None, None)
    assert [
        (line["kind"], line["description"], line["amount_paise"], line["balance_after_paise"])
        for line in body["results"]
    ] == [
        ("transfer", "Received from @ravi", 5_000, 60_000),
        ("transfer", "Sent to @ravi · Dinner", -45_000, 55_000),
        ("topup", "Test top-up", 100_000, 100_000),
    ]
    first = body["results"][0]
    assert set(first) == {
        "id",
        "entry_id",
        "created_at",
        "kind",
        "kind_display",
        "category",
        "description",
        "amount_paise",
        "balance_after_paise",
    }
    assert first["created_at"] == "2025-03-05T08:05:00+05:30"
    assert (first["kind_display"], first["category"]) == ("Transfer", "transfers")


def test_statement_filters_by_kind_and_dates(api, history):
    # When
    by_kind = api.get("/api/v1/wallet/statement", {"kind": "topup"})
    by_date = api.get(
        "/api/v1/wallet/statement", {"date_from": "2025-03-04", "date_to": "2025-03-05"}
    )

    # Then
    assert [line["kind"] for line in by_kind.json()["results"]] == ["topup"]
    assert [line["amount_paise"] for line in by_date.json()["results"]] == [5_000]


def test_statement_pages_with_limit_and_offset(api, history):
    # When
    response = api.get("/api/v1/wallet/statement", {"limit": 1, "offset": 1})

    # Then
    body = response.json()
    assert body["count"] == 3
    assert [line["amount_paise"] for line in body["results"]] == [-45_000]
    assert body["next"] == "http://testserver/api/v1/wallet/statement?limit=1&offset=2"
    assert body["previous"] == "http://testserver/api/v1/wallet/statement?limit=1"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2025-03-05", "date_to": "2025-03-01"}, "date_to"),
    ],
)
def test_statement_rejects_bad_filters(api, params, field):
    # When
    response = api.get("/api/v1/wallet/statement", params)

    # Then
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == [field]


def test_statement_queries_do_not_grow_with_lines(api, asha, ravi, django_assert_num_queries):
    # Given: 30 transfers both ways
    fund(services.wallet_ensure(user=ravi), 100_000, key="fund-ravi")
    for number in range(15):
        services.wallet_transfer(
            sender=asha, recipient=ravi, amount_paise=100, idempotency_key=f"o{number}"
        )
        services.wallet_transfer(
            sender=ravi, recipient=asha, amount_paise=50, idempotency_key=f"i{number}"
        )

    api.get("/api/v1/wallet/ping")  # once-a-minute bookkeeping (activity) happens here

    # When / Then: wallet, count, page, counterpart handles
    with django_assert_num_queries(4):
        response = api.get("/api/v1/wallet/statement", {"limit": 25})
    assert len(response.json()["results"]) == 25


# --- POST /api/v1/wallet/transfers ----------------------------------------------------------


def test_transfer_moves_money_and_answers_201(api, asha, ravi):
    # When
    response = send(api, {"to": "@ravi", "amount_paise": 25_000, "note": "Movie"})

    # Then
    assert response.status_code == 201
    body = response.json()
    entry = JournalEntry.objects.get(kind="transfer")
    assert body == {
        "id": entry.pk,
        "amount_paise": 25_000,
        "note": "Movie",
        "to": {"display_name": "Ravi Menon", "handle": "ravi"},
        "created_at": body["created_at"],
        "available_paise": 75_000,
    }
    assert (available(asha), available(ravi)) == (75_000, 25_000)


def test_transfer_by_email(api, ravi):
    # When
    response = send(api, {"to": "ravi@example.com", "amount_paise": 100})

    # Then
    assert response.status_code == 201
    assert response.json()["to"] == {"display_name": "Ravi Menon", "handle": "ravi"}


def test_transfer_without_an_idempotency_key_is_refused(api, asha, ravi):
    # Given
    before = ledger_rows()

    # When
    response = send(api, {"to": "@ravi", "amount_paise": 100}, key=None)

    # Then
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert ledger_rows() == before


def test_replaying_a_transfer_returns_the_first_answer_and_moves_money_once(api, asha, ravi):
    # Given
    first = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="same")

    # When
    replay = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="same")

    # Then
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert JournalEntry.objects.filter(kind="transfer").count() == 1
    assert (available(asha), available(ravi)) == (99_000, 1_000)


def test_the_same_key_with_another_body_is_422(api, asha, ravi):
    # Given
    send(api, {"to": "@ravi", "amount_paise": 1_000}, key="same")
    before = ledger_rows()

    # When
    response = send(api, {"to": "@ravi", "amount_paise": 2_000}, key="same")

    # Then
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert ledger_rows() == before
    assert available(ravi) == 1_000


def test_a_refused_transfer_can_be_retried_with_the_same_key(api, asha, ravi):
    # Given: refused for lack of money
    refused = send(api, {"to": "@ravi", "amount_paise": 200_000}, key="k")
    fund(services.wallet_ensure(user=asha), 100_000, key="more")

    # When
    retried = send(api, {"to": "@ravi", "amount_paise": 200_000}, key="k")

    # Then
    assert (refused.status_code, retried.status_code) == (402, 201)
    assert available(ravi) == 200_000


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (10.5, "Send a whole number of paise as a JSON integer, e.g. 25000 for ₹250."),
        (10.0, "Send a whole number of paise as a JSON integer, e.g. 25000 for ₹250."),
        ("100", "Send a whole number of paise as a JSON integer, e.g. 25000 for ₹250."),
        (True, "Send a whole number of paise as a JSON integer, e.g. 25000 for ₹250."),
        (None, "This field may not be null."),
        (-100, "Ensure this value is greater than or equal to 1."),
        (0, "Ensure this value is greater than or equal to 1."),
        (10**12 + 1, "Ensure this value is less than or equal to 1000000000000."),
        (10**30, "Ensure this value is less than or equal to 1000000000000."),
    ],
)
def test_bad_amounts_are_400_with_field_errors_and_nothing_moves(api, asha, ravi, amount, message):
    # Given
    before = ledger_rows()

    # When
    response = send(api, {"to": "@ravi", "amount_paise": amount})

    # Then
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"], body["title"]) == (
        400,
        "validation_error",
        "Invalid request",
    )
    assert body["errors"] == [
        {"field": "amount_paise", "message": message, "code": body["errors"][0]["code"]}
    ]
    assert ledger_rows() == before
    assert available(asha) == 100_000
    assert not IdempotencyRecord.objects.exists()  # the key can be used again


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["to", "amount_paise"]),
        ({"to": "@ravi"}, ["amount_paise"]),
        ({"amount_paise": 100}, ["to"]),
        ({"to": "", "amount_paise": 100}, ["to"]),
        ({"to": "@ravi", "amount_paise": 100, "note": "x" * 141}, ["note"]),
    ],
)
def test_missing_or_long_fields_are_400(api, asha, ravi, body, fields):
    # Given
    before = ledger_rows()

    # When
    response = send(api, body)

    # Then
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == fields
    assert ledger_rows() == before


@pytest.mark.parametrize(
    ("to", "status", "code", "detail"),
    [
        ("@nobody", 404, "recipient_not_found", "No FlexPass account has that email or handle."),
        ("@gone", 404, "recipient_not_found", "That account is not active."),
        ("@asha", 400, "transfer_refused", "You cannot send money to yourself."),
    ],
)
def test_bad_recipients_are_problems_and_nothing_moves(api, asha, to, status, code, detail):
    # Given
    person("Gone", "gone@example.com", is_active=False)
    before = ledger_rows()

    # When
    response = send(api, {"to": to, "amount_paise": 100})

    # Then
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert (response.json()["code"], response.json()["detail"]) == (code, detail)
    assert ledger_rows() == before


def test_overdraft_is_402_and_nothing_moves(api, asha, ravi):
    # Given
    before = ledger_rows()

    # When
    response = send(api, {"to": "@ravi", "amount_paise": 100_001})

    # Then
    assert response.status_code == 402
    body = response.json()
    assert body == {
        "type": "https://flexpass.dev/problems/insufficient_funds",
        "title": "Insufficient funds",
        "status": 402,
        "detail": "You have ₹1,000.00 available; this transfer needs ₹1,000.01.",
        "code": "insufficient_funds",
        "available_paise": 100_000,
    }
    assert ledger_rows() == before
    assert (available(asha), available(ravi)) == (100_000, 0)


def test_transfers_take_json_only(api, asha, ravi):
    # When
    response = api.post(
        "/api/v1/wallet/transfers",
        {"to": "@ravi", "amount_paise": "100"},
        HTTP_IDEMPOTENCY_KEY="form",
    )

    # Then
    assert response.status_code == 415
    assert available(ravi) == 0


def test_transfers_need_authentication(ravi):
    # When
    response = send(APIClient(), {"to": "@ravi", "amount_paise": 100})

    # Then
    assert response.status_code == 401
    assert available(ravi) == 0


# --- GET /api/v1/wallet/recipients ----------------------------------------------------------


def test_recipient_lookup_gives_name_and_handle_only(api, ravi):
    # When
    by_handle = api.get("/api/v1/wallet/recipients", {"q": "@RAVI"})
    by_email = api.get("/api/v1/wallet/recipients", {"q": "ravi@example.com"})

    # Then
    assert by_handle.status_code == 200
    assert by_handle.json() == {"display_name": "Ravi Menon", "handle": "ravi"}
    assert by_email.json() == by_handle.json()


def test_a_recipient_without_a_profile_is_named_by_their_email(api):
    # Given someone whose wallet exists but who never got a profile row
    kiran = UserFactory(email="kiran.s@example.com")
    handle = services.wallet_ensure(user=kiran).handle
    Profile.objects.filter(user=kiran).delete()

    # When
    response = api.get("/api/v1/wallet/recipients", {"q": f"@{handle.upper()}"})

    # Then
    assert response.status_code == 200
    assert response.json() == {"display_name": "kiran.s", "handle": handle}


@pytest.mark.parametrize(
    ("q", "status", "code"),
    [
        ("@nobody", 404, "recipient_not_found"),
        ("@gone", 404, "recipient_not_found"),
        ("@asha", 400, "transfer_refused"),
        ("", 400, "validation_error"),
    ],
)
def test_recipient_lookup_problems(api, q, status, code):
    # Given
    person("Gone", "gone@example.com", is_active=False)

    # When
    response = api.get("/api/v1/wallet/recipients", {"q": q})

    # Then
    assert response.status_code == status
    assert response.json()["code"] == code


def test_recipient_lookup_is_rate_limited(api, ravi):
    # Given
    for _ in range(60):
        api.get("/api/v1/wallet/recipients", {"q": "@ravi"})

    # When
    response = api.get("/api/v1/wallet/recipients", {"q": "@ravi"})

    # Then
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


def test_schema_documents_the_idempotency_key(api):
    # When
    response = api.get("/api/schema/", {"format": "json"})

    # Then
    operation = response.json()["paths"]["/api/v1/wallet/transfers"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
    assert set(operation["responses"]) == {"201", "400", "402", "404", "409", "422"}


def test_a_key_past_the_retention_window_is_claimed_again_and_still_moves_money_once(
    api, asha, ravi, settings
):
    # Given: the first use of the key is older than IDEMPOTENCY_TTL_HOURS and not purged yet
    first = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="old")
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timezone.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1)
    )

    # When: the same request comes back
    again = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="old")

    # Then: the HTTP record starts afresh (no replay header), the ledger's own key
    # still hands back the first entry, and the money moved once
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] == first.json()["id"]
    assert available(ravi) == 1_000
    record = IdempotencyRecord.objects.get()
    assert record.created_at > timezone.now() - timezone.timedelta(minutes=1)


def _first_request_died(*, seconds_ago: int) -> None:
    """The transfer under the key went through, but its request never answered."""
    IdempotencyRecord.objects.update(
        status=IdempotencyRecord.Status.IN_FLIGHT,
        response_status=None,
        response_body=None,
        created_at=timezone.now() - timezone.timedelta(seconds=seconds_ago),
    )


def test_a_retry_while_the_first_request_may_still_run_is_409(api, asha, ravi, settings):
    # Given: the first request is in flight (for all we know) since a moment ago
    send(api, {"to": "@ravi", "amount_paise": 1_000}, key="k")
    _first_request_died(seconds_ago=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS - 5)

    # When
    retry = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="k")

    # Then
    assert retry.status_code == 409
    assert retry.json()["code"] == "idempotency_request_in_flight"
    assert (available(asha), available(ravi)) == (99_000, 1_000)


def test_a_retry_after_the_first_request_died_gets_its_outcome_and_moves_money_once(
    api, asha, ravi, settings
):
    # Given: the first request moved the money, then died before storing its answer
    first = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="k")
    _first_request_died(seconds_ago=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS + 5)

    # When: the client retries with the same key, twice
    retry = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="k")
    replay = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="k")

    # Then: the retry runs again and the ledger's own key hands back the first transfer;
    # the record is closed, so the next one is a plain replay
    assert retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert replay["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.filter(kind="transfer").count() == 1
    assert (available(asha), available(ravi)) == (99_000, 1_000)


def test_a_key_of_the_longest_allowed_length_moves_money_once(api, asha, ravi):
    longest = "k" * 255  # the ledger keeps it prefixed, longer than its column: digested

    first = send(api, {"to": "@ravi", "amount_paise": 1_000}, key=longest)
    again = send(api, {"to": "@ravi", "amount_paise": 1_000}, key=longest)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert (available(asha), available(ravi)) == (99_000, 1_000)


def test_statement_dates_at_the_ends_of_the_calendar_bound_nothing(api, history):
    response = api.get(
        "/api/v1/wallet/statement", {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    )

    assert response.status_code == 200
    assert response.json()["count"] == 3


def test_a_key_let_go_by_a_refused_twin_just_now_is_claimed_not_a_500(api, asha, ravi, monkeypatch):
    # Given: this request's claim lost to a twin that was then refused and let the key go
    from flexpass import idempotency

    claim = idempotency._record_open
    calls = []

    def lost_then_free(**kwargs):
        calls.append(1)
        return None if len(calls) == 1 else claim(**kwargs)

    monkeypatch.setattr(idempotency, "_record_open", lost_then_free)

    # When
    response = send(api, {"to": "@ravi", "amount_paise": 1_000}, key="twin")

    # Then it claims the free key and goes through
    assert response.status_code == 201
    assert (available(asha), available(ravi)) == (99_000, 1_000)
