"""Webhooks and API keys in the vendor console: shown-once secrets, rotation, replay, revoke."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.models import (
    ApiKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from marketplace.services import webhooks
from marketplace.tests.factories import VendorFactory, usage_plan

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def vendor(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)
    return vendor


def endpoint_for(vendor, url="https://example.com/hook"):
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=vendor, url=url)
    return endpoint


def failed_delivery(endpoint, n=1):
    rows = []
    for i in range(n):
        d = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=f"evt_{endpoint.pk}_{i}_{timezone.now().timestamp()}",
            event_type="usage.recorded",
            payload={"units": 1},
            status=WebhookDeliveryStatus.FAILED,
            attempts=20,
        )
        WebhookAttempt.objects.create(
            delivery=d, status_code=500, latency_ms=42, response_excerpt="boom: upstream down"
        )
        rows.append(d)
    return rows


# --- webhooks -------------------------------------------------------------------------------


def test_adding_an_endpoint_shows_its_secret_once(client, vendor):
    added = client.post(
        "/vendor/webhooks/",
        {"url": "https://example.com/hook", "events": ["pass.purchased", "usage.recorded"]},
    )
    later = client.get("/vendor/webhooks/")

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.vendor, endpoint.events) == (vendor, ["pass.purchased", "usage.recorded"])
    assert f'data-testid="shown-secret">{endpoint.secret}<' in added.content.decode()
    assert endpoint.secret not in later.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "javascript:alert(1)"}, "Enter a valid URL."),
        ({"url": "ftp://example.com/x"}, "Webhook URLs must start with http:// or https://."),
        ({"url": "https://example.com/x", "events": ["nope"]}, "Select a valid choice."),
    ],
)
def test_a_bad_endpoint_is_refused_with_a_clear_error(client, vendor, data, message):
    response = client.post("/vendor/webhooks/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_rotating_shows_the_new_secret_once_and_both_sign_during_the_overlap(client, vendor):
    endpoint = endpoint_for(vendor)
    old = endpoint.secret

    response = client.post(f"/vendor/webhooks/{endpoint.pk}/rotate/", **HTMX)

    endpoint.refresh_from_db()
    body = response.content.decode()
    assert body.lstrip().startswith(f'<div class="card" id="endpoint-{endpoint.pk}"')
    assert f'data-testid="shown-secret">{endpoint.secret}<' in body
    assert (endpoint.previous_secret, endpoint.secret != old) == (old, True)
    header = webhooks.signature_header(endpoint, 1_800_000_000, b"{}")
    assert header.count("v1=") == 2
    assert webhooks.sign(old, 1_800_000_000, b"{}") in header
    assert endpoint.secret not in client.get("/vendor/webhooks/").content.decode()


def test_after_the_overlap_only_the_new_secret_signs():
    endpoint = endpoint_for(VendorFactory())
    old = endpoint.secret
    webhooks.webhook_secret_rotate(
        endpoint=endpoint, now=timezone.now() - webhooks.SECRET_OVERLAP - timedelta(seconds=1)
    )

    header = webhooks.signature_header(endpoint, 1_800_000_000, b"{}")

    assert header.count("v1=") == 1
    assert webhooks.sign(old, 1_800_000_000, b"{}") not in header


def test_another_vendors_endpoint_cannot_be_rotated_or_paused(client, vendor):
    theirs = endpoint_for(VendorFactory())
    secret = theirs.secret

    rotate = client.post(f"/vendor/webhooks/{theirs.pk}/rotate/")
    pause = client.post(f"/vendor/webhooks/{theirs.pk}/active/", {"active": "0"})

    theirs.refresh_from_db()
    assert (rotate.status_code, pause.status_code) == (404, 404)
    assert (theirs.secret, theirs.is_active) == (secret, True)


def test_the_delivery_log_shows_status_attempts_latency_and_the_response(client, vendor):
    failed_delivery(endpoint_for(vendor))

    page = client.get("/vendor/webhooks/").content.decode()

    assert page.count('data-testid="delivery-row"') == 1
    assert '<span class="badge bad">Failed</span>' in page
    assert "42 ms" in page
    assert "boom: upstream down" in page
    assert 'data-testid="replay-one"' in page


def test_replaying_one_failed_delivery_over_htmx(
    client, vendor, django_capture_on_commit_callbacks
):
    first, second = failed_delivery(endpoint_for(vendor), n=2)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/vendor/webhooks/deliveries/{first.pk}/replay/", **HTMX)

    first.refresh_from_db()
    second.refresh_from_db()
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="delivery-log"')
    assert "Replaying 1 failed delivery." in body
    assert (first.status, second.status) == ("pending", "failed")


def test_replaying_all_failed_deliveries_touches_only_the_vendors_own(
    client, vendor, django_capture_on_commit_callbacks
):
    mine = failed_delivery(endpoint_for(vendor), n=2)
    theirs = failed_delivery(endpoint_for(VendorFactory()))[0]

    with django_capture_on_commit_callbacks(execute=False):
        client.post("/vendor/webhooks/replay/", **HTMX)
        refused = client.post(f"/vendor/webhooks/deliveries/{theirs.pk}/replay/")

    assert refused.status_code == 404
    statuses = {d.pk: d.status for d in WebhookDelivery.objects.all()}
    assert statuses == {mine[0].pk: "pending", mine[1].pk: "pending", theirs.pk: "failed"}


def test_the_delivery_log_filters_over_htmx(client, vendor):
    failed_delivery(endpoint_for(vendor), n=2)

    failed = client.get("/vendor/webhooks/?log=1&status=failed", **HTMX).content.decode()
    delivered = client.get("/vendor/webhooks/?log=1&status=delivered", **HTMX).content.decode()

    assert failed.count('data-testid="delivery-row"') == 2
    assert delivered.count('data-testid="delivery-row"') == 0
    assert 'data-testid="deliveries-empty"' in delivered
    assert "<html" not in failed


def test_the_webhooks_page_does_a_fixed_number_of_queries(client, vendor, assert_domain_queries):
    failed_delivery(endpoint_for(vendor))
    client.get("/vendor/webhooks/")
    # vendor, endpoints with counts, deliveries count, deliveries, their attempts
    with assert_domain_queries(5) as few:
        client.get("/vendor/webhooks/")
    for i in range(4):
        failed_delivery(endpoint_for(vendor, url=f"https://example.com/{i}"), n=3)

    with assert_domain_queries(5) as many:
        page = client.get("/vendor/webhooks/").content.decode()

    assert page.count('data-testid="delivery-row"') == 13
    assert many.total == few.total


# --- API keys -------------------------------------------------------------------------------


def test_a_key_is_shown_once_then_listed_masked(client, vendor):
    created = client.post("/vendor/keys/", {"name": "prod", "mode": "live"}, **HTMX)
    listed = client.get("/vendor/keys/").content.decode()

    key = ApiKey.objects.get()
    body = created.content.decode()
    assert body.lstrip().startswith('<div id="keys-panel"')
    secret = body.split('data-testid="shown-key">')[1].split("<")[0]
    assert secret.startswith("fp_live_") and secret.endswith(key.last4)
    assert (key.vendor, key.name, key.mode) == (vendor, "prod", "live")
    assert secret not in listed
    assert key.masked in listed


def test_a_key_can_expire_on_a_future_day_only(client, vendor):
    tomorrow = timezone.localdate() + timedelta(days=1)
    refused = client.post(
        "/vendor/keys/", {"mode": "test", "expires_on": timezone.localdate().isoformat()}
    )
    client.post("/vendor/keys/", {"mode": "test", "expires_on": tomorrow.isoformat()})

    assert refused.status_code == 400
    assert "Pick a day after today." in refused.content.decode()
    key = ApiKey.objects.get()
    assert timezone.localtime(key.expires_at).date() == tomorrow


def test_a_bad_key_form_over_htmx_comes_back_with_its_errors_in_the_panel(client, vendor):
    response = client.post("/vendor/keys/", {"mode": "root"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert body.lstrip().startswith('<div id="keys-panel"')
    assert "Select a valid choice." in body
    assert ApiKey.objects.count() == 0


def test_revoking_a_key_over_htmx_and_not_another_vendors(client, vendor):
    from marketplace.services import keys

    mine = keys.api_key_create(vendor=vendor, mode="test").key
    theirs = keys.api_key_create(vendor=VendorFactory(), mode="test").key

    response = client.post(f"/vendor/keys/{mine.pk}/revoke/", **HTMX)
    refused = client.post(f"/vendor/keys/{theirs.pk}/revoke/", **HTMX)

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert f"Key {mine.masked} revoked." in response.content.decode()
    assert refused.status_code == 404
    assert (mine.revoked_at is not None, theirs.revoked_at) == (True, None)


def test_a_vendor_mints_a_test_pass_for_its_own_plan_only(client, vendor):
    from marketplace.models import Pass

    own, foreign = usage_plan(service__vendor=vendor), usage_plan()

    minted = client.post("/vendor/keys/test-passes/", {"plan_id": own.pk}, **HTMX)
    refused = client.post("/vendor/keys/test-passes/", {"plan_id": foreign.pk}, **HTMX)

    p = Pass.objects.get()
    assert refused.status_code == 404
    assert p.token in minted.content.decode()
    assert (p.plan, p.is_test, p.purchase_id, p.owner) == (own, True, None, vendor.user)
