"""Vendor API: starting a metered session with the user's session grant."""

import pytest
from django.core import signing
from rest_framework.test import APIClient

from flexpass import ratelimit
from flexpass.testing import cache_clear, race, results_and_errors
from marketplace.models import MeteredSession
from marketplace.services import keys, sessions
from marketplace.tests.factories import (
    VendorFactory,
    assert_ledger_balanced,
    balance,
    fund,
    metered_plan,
    usage_plan,
)
from wallet.models import Reservation
from wallet.services import wallet_ensure

START = "/api/v1/vendor/sessions/"
GRANTS = "/api/v1/sessions/grants/"


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset_local()
    cache_clear()


@pytest.fixture
def vendor(db):
    return VendorFactory()


@pytest.fixture
def per_minute(vendor):
    return metered_plan(service__vendor=vendor, metered_rate_paise=200, metered_unit="minute")


def vendor_client(vendor, mode="live"):
    client = APIClient()
    secret = keys.api_key_create(vendor=vendor, mode=mode).secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def grant_for(user, plan):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(GRANTS, {"plan_id": plan.pk}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["grant"]


def start(client, grant, key="k1"):
    return client.post(START, {"grant": grant}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def available(user):
    return balance(wallet_ensure(user=user).available)


@pytest.mark.django_db
def test_the_vendor_starts_a_session_with_the_users_grant(vendor, per_minute, buyer):
    # given a funded buyer who consented to a session on a ₹2/minute plan
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)
    client = vendor_client(vendor)

    # when the vendor's server starts it, then retries with the same key
    first = start(client, grant)
    replay = start(client, grant)

    # then one session runs with the first 5-minute block reserved, and the retry replays it
    assert first.status_code == 201
    session = MeteredSession.objects.get()
    assert first.json() == {
        "session_id": session.pk,
        "token": session.token,
        "status": "running",
        "plan_id": per_minute.pk,
        "rate_paise": 200,
        "unit": "minute",
        "reserved_paise": 1_000,
        "cost_paise": 0,
        "started_at": first.json()["started_at"],
    }
    assert (session.user, session.vendor) == (buyer, vendor)
    assert (replay.status_code, replay["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == first.json()
    assert available(buyer) == 9_000
    assert Reservation.objects.count() == 1
    # and heartbeat/stop work with the returned token
    beat = client.post(f"/api/v1/vendor/sessions/{session.token}/heartbeat/")
    stop = client.post(f"/api/v1/vendor/sessions/{session.token}/stop/")
    assert (beat.status_code, stop.json()["status"]) == (200, "stopped")
    assert_ledger_balanced()


@pytest.mark.django_db
def test_a_grant_bills_the_rate_the_user_agreed_to_after_the_vendor_raises_it(
    vendor, per_minute, buyer
):
    # given a buyer's consent at ₹2/minute, then the vendor makes the plan ₹5/second
    fund(buyer, 100_000)
    grant = grant_for(buyer, per_minute)
    type(per_minute).objects.filter(pk=per_minute.pk).update(
        metered_rate_paise=500, metered_unit="second"
    )

    # when the vendor starts the session with that grant
    started = start(vendor_client(vendor), grant)

    # then it bills what the buyer agreed to
    assert started.status_code == 201
    assert (started.json()["rate_paise"], started.json()["unit"]) == (200, "minute")
    assert started.json()["reserved_paise"] == 1_000


@pytest.mark.django_db
def test_a_grant_starts_one_session_only(vendor, per_minute, buyer):
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)
    client = vendor_client(vendor)
    assert start(client, grant, key="a").status_code == 201

    again = start(client, grant, key="b")

    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert again.json()["code"] == "session_grant_used"
    session = MeteredSession.objects.get()
    # the answer names the session the grant started, so a vendor whose first answer was
    # lost can carry on with it
    assert (again.json()["session_id"], again.json()["token"]) == (session.pk, session.token)
    assert available(buyer) == 9_000


@pytest.mark.django_db
def test_another_vendors_key_cannot_redeem_the_grant(per_minute, buyer):
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)

    response = start(vendor_client(VendorFactory()), grant)

    assert response.status_code == 422
    assert response.json()["code"] == "session_grant_invalid"
    assert MeteredSession.objects.count() == 0
    assert available(buyer) == 10_000


@pytest.mark.django_db
@pytest.mark.parametrize(
    "grant", ["fpsg_nonsense", "pass-token-abc", None], ids=["forged", "not-a-grant", "tampered"]
)
def test_forged_or_tampered_grants_are_refused(vendor, per_minute, buyer, grant):
    fund(buyer, 10_000)
    if grant is None:
        real = grant_for(buyer, per_minute)
        grant = real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB")

    response = start(vendor_client(vendor), grant)

    assert response.status_code == 422
    assert response.json()["code"] == "session_grant_invalid"
    assert MeteredSession.objects.count() == 0


@pytest.mark.django_db
def test_an_expired_grant_is_refused(vendor, per_minute, buyer, settings):
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)
    settings.SESSION_GRANT_SECONDS = -1  # anything signed is now too old

    response = start(vendor_client(vendor), grant)

    assert response.status_code == 422
    assert response.json()["code"] == "session_grant_expired"
    assert MeteredSession.objects.count() == 0


@pytest.mark.django_db
def test_grants_are_only_for_metered_plans(vendor, buyer):
    plan = usage_plan(service__vendor=vendor)
    client = APIClient()
    client.force_authenticate(buyer)

    refused = client.post(GRANTS, {"plan_id": plan.pk}, format="json")
    missing = client.post(GRANTS, {"plan_id": 999_999}, format="json")
    # and a grant naming a non-metered plan (signed by us, e.g. the plan changed) is refused
    forged = sessions.GRANT_PREFIX + signing.dumps(
        {"u": buyer.pk, "p": plan.pk, "n": "x"}, salt="marketplace.session-grant", compress=True
    )
    fund(buyer, 10_000)
    started = start(vendor_client(vendor), forged)

    assert (refused.status_code, refused.json()["code"]) == (422, "plan_not_metered")
    assert missing.status_code == 404
    assert (started.status_code, started.json()["code"]) == (422, "plan_not_metered")
    assert MeteredSession.objects.count() == 0


@pytest.mark.django_db
def test_grants_need_a_signed_in_user(per_minute):
    response = APIClient().post(GRANTS, {"plan_id": per_minute.pk}, format="json")

    assert response.status_code in (401, 403)


@pytest.mark.django_db
def test_insufficient_funds_is_402_and_the_grant_stays_usable(vendor, per_minute, buyer):
    # given ₹9.99, less than the first 5-minute block (₹10)
    fund(buyer, 999)
    grant = grant_for(buyer, per_minute)
    client = vendor_client(vendor)

    refused = start(client, grant)

    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_funds"
    assert MeteredSession.objects.count() == 0
    assert available(buyer) == 999
    # the refusal stored nothing: after a top-up the same key starts the session
    fund(buyer, 1)
    assert start(client, grant).status_code == 201
    assert available(buyer) == 0


@pytest.mark.django_db
def test_test_keys_cannot_start_sessions(vendor, per_minute, buyer):
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)

    response = start(vendor_client(vendor, mode="test"), grant)

    assert response.status_code == 403
    assert response.json()["code"] == "api_key_forbidden"
    assert MeteredSession.objects.count() == 0


@pytest.mark.django_db
def test_bad_input_is_a_problem(vendor):
    client = vendor_client(vendor)

    no_key = client.post(START, {"grant": "fpsg_x"}, format="json")
    no_grant = client.post(START, {}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert no_key.status_code == 400
    assert no_key.json()["code"] == "idempotency_key_missing"
    assert no_grant.status_code == 400
    assert no_grant["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in no_grant.json()["errors"]] == ["grant"]


@pytest.mark.django_db
def test_the_schema_documents_session_start(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    start_op = schema["paths"]["/api/v1/vendor/sessions/"]["post"]
    assert {"201", "402", "403", "409", "422"} <= set(start_op["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in start_op["parameters"])
    assert "/api/v1/sessions/grants/" in schema["paths"]


# --- races (real threads on PostgreSQL) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_key", [True, False], ids=["same-key", "distinct-keys"])
def test_ten_threads_starting_with_one_grant_make_one_session(vendor, per_minute, buyer, same_key):
    # given one grant
    fund(buyer, 10_000)
    grant = grant_for(buyer, per_minute)
    secret = keys.api_key_create(vendor=vendor, mode="live").secret

    def one(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        response = start(client, grant, key="same" if same_key else f"k{i}")
        return response.status_code, response.json()

    # when ten threads start with it at once
    out, errors = results_and_errors(race(10, one))

    # then one session, one block reserved; the rest were replays or refusals
    assert errors == []
    codes = sorted(code for code, _ in out)
    assert codes.count(201) >= 1
    assert set(codes) <= {201, 409}
    session = MeteredSession.objects.get()
    assert {body["session_id"] for code, body in out if code == 201} == {session.pk}
    assert Reservation.objects.count() == 1
    assert available(buyer) == 9_000
    if not same_key:
        assert codes.count(201) == 1
        refusals = [body for code, body in out if code == 409]
        assert {(body["code"], body["session_id"]) for body in refusals} == {
            ("session_grant_used", session.pk)
        }
