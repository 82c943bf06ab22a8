"""Every request by a signed-in person makes them active on the dashboard (support.middleware):
pages, the API with a session or a token, vendor API keys; cheaply, and never at the
request's expense. allauth's 429s are counted as sign-in blocks on the way out."""

import pytest
from django.urls import reverse

from flexpass.tallies import tally_forget_all
from support import activity
from support.activity import activity_forget_all
from support.dashboard import figures, panel_context
from support.tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nobody_active():
    activity_forget_all()
    tally_forget_all()
    yield
    activity_forget_all()
    tally_forget_all()


def active():
    data = figures.overview()["active"]
    return data["now"], data["today"], data["by_hour"][-1]


def test_a_signed_in_request_makes_the_person_active_on_the_dashboard(client):
    # Given nobody has been seen yet
    assert active() == (0, 0, 0)
    asha = person("Asha")
    client.force_login(asha)

    # When Asha opens a page
    response = client.get(reverse("support:notifications"))

    # Then she counts as active now, today and in this hour
    assert response.status_code == 200
    assert active() == (1, 1, 1)


def test_api_requests_count_whoever_authenticated_them(client):
    # Given one person on the API with a browser session and a vendor with an API key
    from marketplace.services.keys import api_key_create
    from marketplace.tests.factories import VendorFactory

    ravi = person("Ravi")
    client.force_login(ravi)
    vendor = VendorFactory()
    raw = api_key_create(vendor=vendor, mode="live", name="server").secret

    # When both call the API (DRF authenticates the key, not Django's middleware)
    assert client.get("/api/v1/accounts/me").status_code == 200
    anonymous = client.__class__()
    anonymous.post(
        "/api/v1/vendor/access/check/",
        {"token": "nope"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )

    # Then both are active
    assert active()[:2] == (2, 2)


def test_a_mobile_app_with_a_jwt_counts_too(client):
    # Given an app that signed in (which itself counts) and then forgot about
    from django.core.cache import cache

    from accounts.tests.factories import UserFactory
    from accounts.tests.headless import ME, bearer
    from accounts.tests.test_api import access_token_for

    token = access_token_for(client, UserFactory())
    activity_forget_all()
    cache.delete_pattern("*activity*")
    assert active() == (0, 0, 0)

    # When the app calls the API with its token only (no cookies)
    app = client.__class__()
    assert app.get(ME, headers=bearer(token)).status_code == 200

    # Then its user is active
    assert active() == (1, 1, 1)


def test_anonymous_requests_record_nothing(client):
    client.get(reverse("marketplace:catalog"))
    client.get("/healthz")
    assert active() == (0, 0, 0)


def test_one_redis_write_per_person_per_slot(client, monkeypatch):
    # Given a person who makes five requests in a row
    writes = []
    monkeypatch.setattr(activity, "activity_touch", lambda user_id: writes.append(user_id))
    asha = person("Asha")
    client.force_login(asha)

    # When
    for _ in range(5):
        client.get(reverse("support:notifications"))

    # Then activity was written once (the next slot starts within 30 seconds)
    assert len(writes) in (1, 2) and set(writes) == {asha.pk}


def test_a_broken_activity_store_never_fails_the_request(client, monkeypatch):
    def broken(user_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("support.middleware.activity_touch_throttled", broken)
    client.force_login(person("Asha"))
    assert client.get(reverse("support:notifications")).status_code == 200


def test_allauths_429s_count_as_sign_in_blocks(client, settings):
    # Given a sign-in rate limit of one attempt a minute per address
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "1/m/ip"}

    # When someone tries twice
    first = client.post(reverse("account_login"), {"login": "x@example.com", "password": "a"})
    second = client.post(reverse("account_login"), {"login": "x@example.com", "password": "b"})

    # Then the second was refused and counted as a sign-in block
    assert (first.status_code, second.status_code) == (200, 429)
    blocks = panel_context("security")["security"]["blocks"]
    assert blocks["totals"] == {"Sign-in / code rate limit": 1}
    assert blocks["series"][0]["data"][-1] == 1
