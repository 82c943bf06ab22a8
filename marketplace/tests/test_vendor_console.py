"""The vendor console (/vendor/): who may see which page, the layout, the old address."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import ServiceFactory, VendorFactory, usage_plan

pytestmark = pytest.mark.django_db

PAGES = [
    "/vendor/services/",
    "/vendor/services/new/",
    "/vendor/earnings/",
    "/vendor/passes/",
    "/vendor/webhooks/",
    "/vendor/keys/",
]


@pytest.mark.parametrize("url", ["/vendor/", *PAGES])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('account_login')}?next=")


@pytest.mark.parametrize("url", PAGES)
def test_customers_are_refused(client, url):
    client.force_login(UserFactory())

    assert client.get(url).status_code == 403


def test_a_customer_opening_the_console_is_sent_to_the_application(client):
    client.force_login(UserFactory())

    response = client.get("/vendor/")

    assert response.status_code == 302
    assert response["Location"] == "/vendor/apply/"


@pytest.mark.parametrize("url", ["/vendor/", *PAGES])
def test_every_page_opens_for_a_vendor_with_the_console_nav(client, url):
    vendor = VendorFactory(business_name="PixelForge")
    client.force_login(vendor.user)

    response = client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="console-nav"' in page
    for label in ("Overview", "Services &amp; plans", "Earnings", "Passes &amp; usage"):
        assert label in page
    assert f'href="{reverse("support:inbox")}"' in page
    assert "PixelForge" in page


@pytest.mark.parametrize(
    "url",
    [
        "/vendor/services/{service}/",
        "/vendor/services/{service}/plans/new/",
        "/vendor/plans/{plan}/",
    ],
)
def test_another_vendors_service_or_plan_is_not_found(client, url):
    plan = usage_plan()  # someone else's
    client.force_login(VendorFactory().user)

    response = client.get(url.format(service=plan.service_id, plan=plan.pk))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/vendor/services/{service}/status/",
        "/vendor/plans/{plan}/active/",
    ],
)
def test_another_vendors_rows_cannot_be_paused(client, url):
    plan = usage_plan()
    client.force_login(VendorFactory().user)

    response = client.post(
        url.format(service=plan.service_id, plan=plan.pk), {"status": "paused", "active": "0"}
    )

    assert response.status_code == 404
    plan.refresh_from_db()
    plan.service.refresh_from_db()
    assert (plan.is_active, plan.service.status) == (True, "live")


def test_the_old_console_address_redirects_to_the_new_one(client):
    client.force_login(VendorFactory().user)

    response = client.get("/sessions/vendor/")

    assert response.status_code == 301
    assert response["Location"] == "/vendor/"


def test_the_vendor_nav_link_points_at_the_console_for_vendors_only(client):
    vendor = VendorFactory()
    customer = UserFactory()

    client.force_login(vendor.user)
    as_vendor = client.get("/catalog/").content.decode()
    client.force_login(customer)
    as_customer = client.get("/catalog/").content.decode()

    assert 'href="/vendor/" data-testid="nav-vendor"' in as_vendor
    assert 'data-testid="nav-vendor"' not in as_customer


def test_the_overview_shows_counts_and_a_getting_started_card_when_empty(client):
    empty = VendorFactory()
    busy = VendorFactory()
    ServiceFactory(vendor=busy, status="live")
    ServiceFactory(vendor=busy, status="paused")

    client.force_login(empty.user)
    first = client.get("/vendor/").content.decode()
    client.force_login(busy.user)
    second = client.get("/vendor/").content.decode()

    assert 'data-testid="getting-started"' in first
    assert 'data-testid="getting-started"' not in second
    assert 'data-testid="live-services">1<' in second


def _grow(vendor, n: int, tag: str):
    """n more of everything a console page lists: plans on the first service, sold passes,
    usage, keys, failed deliveries."""
    from django.utils import timezone

    from marketplace.models import UsageEvent, WebhookDelivery
    from marketplace.services import keys, pass_purchase, webhooks
    from marketplace.tests.factories import fund

    service = vendor.services.order_by("pk").first() or ServiceFactory(vendor=vendor)
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    for i in range(n):
        plan = usage_plan(service=service, name=f"{tag}{i}")
        buyer = UserFactory()
        fund(buyer, 100_000)
        bought = pass_purchase(buyer=buyer, plan=plan, idempotency_key=f"{tag}{i}").pass_obj
        UsageEvent.objects.create(
            vendor=vendor,
            pass_obj=bought,
            event_id=f"{tag}{i}",
            units=1,
            occurred_at=timezone.now(),
        )
        keys.api_key_create(vendor=vendor, mode="test")
        WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=f"evt_{tag}{i}",
            event_type="usage.recorded",
            payload={},
            status="failed",
        )
    return service


@pytest.mark.parametrize("url", ["/vendor/", "/vendor/keys/", "/vendor/services/{service}/"])
def test_console_pages_do_the_same_number_of_queries_however_much_there_is(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    vendor = VendorFactory()
    service = _grow(vendor, 1, "a")
    client.force_login(vendor.user)
    address = url.format(service=service.pk)
    client.get(address)
    with CaptureQueriesContext(connection) as few:
        assert client.get(address).status_code == 200

    _grow(vendor, 6, "b")
    with CaptureQueriesContext(connection) as many:
        assert client.get(address).status_code == 200

    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/vendor/services/new/",
        "/vendor/services/1/status/",
        "/vendor/plans/1/active/",
        "/vendor/webhooks/",
        "/vendor/webhooks/replay/",
        "/vendor/keys/",
        "/vendor/keys/1/revoke/",
        "/vendor/keys/test-passes/",
    ],
)
def test_customers_cannot_post_to_the_console(client, url):
    from marketplace.models import ApiKey, Service, WebhookEndpoint

    client.force_login(UserFactory())

    response = client.post(url, {"name": "x", "mode": "live", "url": "https://example.com/"})

    assert response.status_code == 403
    assert (Service.objects.count(), ApiKey.objects.count(), WebhookEndpoint.objects.count()) == (
        0,
        0,
        0,
    )
