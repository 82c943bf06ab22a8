"""Vendor API: keys, rate limit, access checks with cache invalidation, exactly-once usage."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from flexpass import ratelimit
from flexpass.testing import cache_clear
from marketplace import services
from marketplace.models import ApiKey, Pass, UsageEvent
from marketplace.services import keys
from marketplace.services.usage import _cache_key
from marketplace.tests.factories import VendorFactory, fund, usage_plan

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/vendor/access/check/"
EVENT = "/api/v1/vendor/usage/events/"
BATCH = "/api/v1/vendor/usage/batch/"


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset_local()
    cache_clear()


@pytest.fixture
def vendor():
    return VendorFactory(business_name="PixelForge")


@pytest.fixture
def plan10(vendor):
    return usage_plan(service__vendor=vendor, units=10)


@pytest.fixture
def live_key(vendor):
    return keys.api_key_create(vendor=vendor, mode="live", name="prod").secret


@pytest.fixture
def bought(buyer, plan10):
    fund(buyer, 100_000)
    services.pass_purchase(buyer=buyer, plan=plan10, idempotency_key="k1")
    return Pass.objects.get(owner=buyer)


def api(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# --- keys -------------------------------------------------------------------------------


def test_a_created_key_is_stored_hashed_and_listed_masked(vendor):
    created = keys.api_key_create(vendor=vendor, mode="test")

    key = ApiKey.objects.get()
    assert created.secret.startswith("fp_test_")
    assert created.secret not in (key.secret_hash, key.last4)
    assert key.secret_hash == keys.key_hash(created.secret)
    assert key.masked == f"fp_test_…{created.secret[-4:]}"


def test_unknown_revoked_and_expired_keys_get_401(vendor, bought):
    live = keys.api_key_create(vendor=vendor, mode="live")
    expired = keys.api_key_create(
        vendor=vendor, mode="live", expires_at=timezone.now() + timedelta(seconds=1)
    )
    ApiKey.objects.filter(pk=expired.key.pk).update(expires_at=timezone.now())
    keys.api_key_revoke(vendor=vendor, key_id=live.key.pk)

    for secret in ("fp_live_nope", live.secret, expired.secret):
        response = api(secret).post(CHECK, {"token": bought.token}, format="json")
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "api_key_invalid"


def test_no_key_is_401(bought):
    response = APIClient().post(CHECK, {"token": bought.token}, format="json")

    assert response.status_code == 401


def test_last_used_is_recorded(live_key, bought):
    api(live_key).post(CHECK, {"token": bought.token}, format="json")

    assert ApiKey.objects.get().last_used_at is not None


def test_the_window_refuses_with_429_and_retry_after(settings, live_key, bought):
    settings.VENDOR_API_RATE_LIMIT = 3
    client = api(live_key)
    codes = [client.post(CHECK, {"token": bought.token}, format="json") for _ in range(4)]

    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert 1 <= int(codes[-1]["Retry-After"]) <= 60


def test_a_test_key_cannot_see_live_passes_and_a_live_key_cannot_mint(vendor, live_key, bought):
    test_key = keys.api_key_create(vendor=vendor, mode="test").secret

    seen = api(test_key).post(CHECK, {"token": bought.token}, format="json").json()
    mint = api(live_key).post("/api/v1/vendor/test-passes/", {"plan_id": bought.plan_id})

    assert seen == {"valid": False, "reason": "unknown_pass"}
    assert mint.status_code == 403
    assert Pass.objects.filter(is_test=True).count() == 0


def test_test_keys_act_on_minted_test_passes_and_move_no_money(vendor, plan10):
    test_key = keys.api_key_create(vendor=vendor, mode="test").secret
    client = api(test_key)

    minted = client.post("/api/v1/vendor/test-passes/", {"plan_id": plan10.pk}).json()
    result = client.post(
        EVENT, {"event_id": "t1", "pass_token": minted["token"], "units": 4}, format="json"
    )

    assert result.status_code == 201
    assert result.json() == {"event_id": "t1", "status": "accepted", "units_left": 6}
    p = Pass.objects.get(pk=minted["id"])
    assert (p.is_test, p.purchase_id, p.units_left) == (True, None, 6)


# --- access check ---------------------------------------------------------------------


def test_access_check_answers_for_a_valid_usage_pass(live_key, bought):
    body = api(live_key).post(CHECK, {"token": bought.token}, format="json").json()

    assert body["valid"] is True
    assert (body["kind"], body["units_left"], body["units_total"]) == ("usage", 10, 10)


def test_another_vendors_pass_is_unknown(bought):
    other = keys.api_key_create(vendor=VendorFactory(), mode="live").secret

    body = api(other).post(CHECK, {"token": bought.token}, format="json").json()

    assert body == {"valid": False, "reason": "unknown_pass"}


def test_access_check_is_cached_and_dropped_when_usage_changes_the_pass(
    live_key, bought, django_capture_on_commit_callbacks
):
    client = api(live_key)
    client.post(CHECK, {"token": bought.token}, format="json")
    assert cache.get(_cache_key(bought.token))["units_left"] == 10

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            EVENT, {"event_id": "e1", "pass_token": bought.token, "units": 3}, format="json"
        )

    assert cache.get(_cache_key(bought.token)) is None
    body = client.post(CHECK, {"token": bought.token}, format="json").json()
    assert body["units_left"] == 7


def test_expiry_is_seen_even_from_the_cache(live_key, bought):
    client = api(live_key)
    client.post(CHECK, {"token": bought.token}, format="json")
    snap = cache.get(_cache_key(bought.token))
    cache.set(_cache_key(bought.token), {**snap, "expires_at": timezone.now()}, 30)

    body = client.post(CHECK, {"token": bought.token}, format="json").json()

    assert (body["valid"], body["reason"]) == (False, "expired")


# --- usage ingest -------------------------------------------------------------------------


def test_a_retried_event_is_a_duplicate_and_billed_once(live_key, bought):
    client = api(live_key)
    event = {"event_id": "e1", "pass_token": bought.token, "units": 2}

    first = client.post(EVENT, event, format="json")
    again = client.post(EVENT, event, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {"event_id": "e1", "status": "duplicate"}
    bought.refresh_from_db()
    assert bought.units_left == 8
    assert UsageEvent.objects.count() == 1


def test_a_batch_reports_each_event_and_refuses_what_does_not_fit(live_key, bought):
    client = api(live_key)
    client.post(EVENT, {"event_id": "old", "pass_token": bought.token}, format="json")
    future = (timezone.now() + timedelta(minutes=10)).isoformat()
    events = [
        {"event_id": "a", "pass_token": bought.token, "units": 5},
        {"event_id": "old", "pass_token": bought.token, "units": 1},
        {"event_id": "b", "pass_token": bought.token, "units": 5},  # only 4 left
        {"event_id": "c", "pass_token": bought.token, "units": 4},
        {"event_id": "d", "pass_token": bought.token, "units": 0},
        {"event_id": "e", "pass_token": bought.token, "units": 1, "timestamp": future},
        {
            "event_id": "y1",
            "pass_token": bought.token,
            "units": 1,
            "timestamp": "0001-01-01T00:00Z",
        },
        {"event_id": "f", "pass_token": "nope", "units": 1},
        {"pass_token": bought.token},
    ]

    response = client.post(BATCH, {"events": events}, format="json")

    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["duplicate"], body["refused"]) == (2, 1, 6)
    assert [(r["event_id"], r["status"], r.get("reason")) for r in body["results"]] == [
        ("a", "accepted", None),
        ("old", "duplicate", None),
        ("b", "refused", "insufficient_units"),
        ("c", "accepted", None),
        ("d", "refused", "units_not_positive"),
        ("e", "refused", "timestamp_in_future"),
        ("y1", "refused", "timestamp_before_pass"),
        ("f", "refused", "unknown_pass"),
        ("", "refused", "malformed: event_id"),
    ]
    bought.refresh_from_db()
    assert (bought.units_left, bought.status) == (0, "used_up")
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == ["a", "c", "old"]


def test_a_refused_event_can_be_retried_later(live_key, bought):
    client = api(live_key)
    refused = client.post(
        EVENT, {"event_id": "big", "pass_token": bought.token, "units": 11}, format="json"
    )

    assert refused.status_code == 422
    assert refused.json()["reason"] == "insufficient_units"
    assert UsageEvent.objects.count() == 0
    bought.refresh_from_db()
    assert bought.units_left == 10


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"event_id": "x", "units": 1}, 400),
        ({"event_id": "x", "pass_token": "t", "units": "many"}, 400),
        ({"event_id": "x", "pass_token": "t", "units": -1}, 422),
    ],
)
def test_malformed_single_events_are_refused(live_key, bought, payload, status):
    payload = {**payload, **({"pass_token": bought.token} if "pass_token" in payload else {})}

    response = api(live_key).post(EVENT, payload, format="json")

    assert response.status_code == status
    bought.refresh_from_db()
    assert bought.units_left == 10


def test_a_batch_over_the_limit_is_refused_whole(settings, live_key, bought):
    settings.USAGE_BATCH_MAX = 2
    events = [{"event_id": str(i), "pass_token": bought.token} for i in range(3)]

    response = api(live_key).post(BATCH, {"events": events}, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert UsageEvent.objects.count() == 0


def test_events_for_another_vendors_pass_are_refused(bought):
    other = keys.api_key_create(vendor=VendorFactory(), mode="live").secret

    response = api(other).post(
        EVENT, {"event_id": "x", "pass_token": bought.token, "units": 1}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["reason"] == "unknown_pass"
    bought.refresh_from_db()
    assert bought.units_left == 10


def test_usage_is_broadcast_to_the_pass_owner(live_key, bought, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "marketplace.services.usage.broadcast_on_commit", lambda g, e: sent.append((g, e))
    )

    api(live_key).post(
        EVENT, {"event_id": "e", "pass_token": bought.token, "units": 3}, format="json"
    )

    assert sent == [
        (
            f"user.{bought.owner_id}",
            {"type": "pass.usage", "pass_id": bought.pk, "units": 3, "units_left": 7, "events": 1},
        )
    ]
