"""The vendor console: a key's secret is shown once, listed masked; revoke; endpoints; 404 for others."""

import pytest

from accounts.tests.factories import UserFactory
from marketplace.models import ApiKey
from marketplace.tests.factories import VendorFactory

pytestmark = pytest.mark.django_db
URL = "/sessions/vendor/"


def test_a_vendor_creates_a_key_sees_it_once_then_masked_and_revokes_it(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)

    created = client.post(URL, {"action": "key_create", "mode": "live", "name": "prod"})
    key = ApiKey.objects.get()
    listed = client.get(URL)
    client.post(URL, {"action": "key_revoke", "key_id": key.pk})

    page = created.content.decode()
    assert 'data-testid="secret-once"' in page
    assert key.masked in listed.content.decode()
    assert 'data-testid="secret-once"' not in listed.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_bad_endpoint_url_is_refused_on_the_page(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)

    response = client.post(URL, {"action": "endpoint_create", "url": "javascript:alert(1)"})

    assert response.status_code == 200
    assert vendor.webhook_endpoints.count() == 0


def test_a_customer_applies_and_staff_approval_makes_them_a_vendor(client):
    from marketplace.models import VendorApplication
    from marketplace.services.vendor_applications import vendor_application_decide

    user = UserFactory()
    client.force_login(user)
    client.post(URL, {"action": "apply", "business_name": "Acme AI", "payout_details": "acme@upi"})
    again = client.post(
        URL, {"action": "apply", "business_name": "Acme AI", "payout_details": "acme@upi"}
    )
    assert VendorApplication.objects.count() == 1
    assert "already have an application" in again.content.decode()

    vendor_application_decide(
        application_id=VendorApplication.objects.get().pk,
        approve=True,
        acting_user=UserFactory(is_staff=True),
    )

    user.refresh_from_db()
    assert (user.role, user.vendor_profile.business_name) == ("vendor", "Acme AI")
    assert 'data-testid="secret-once"' not in client.get(URL).content.decode()
    assert "API keys" in client.get(URL).content.decode()


def test_a_rejected_application_makes_no_vendor(client):
    from marketplace.models import VendorApplication
    from marketplace.services.vendor_applications import vendor_application_decide

    user = UserFactory()
    client.force_login(user)
    client.post(URL, {"action": "apply", "business_name": "X", "payout_details": "x@upi"})

    vendor_application_decide(
        application_id=VendorApplication.objects.get().pk,
        approve=False,
        acting_user=UserFactory(is_staff=True),
    )

    user.refresh_from_db()
    assert user.role == "customer"
    assert not hasattr(user, "vendor_profile")


def test_a_vendor_mints_a_test_pass_for_its_own_plan_only(client):
    from marketplace.models import Pass
    from marketplace.tests.factories import usage_plan

    vendor = VendorFactory()
    own, foreign = usage_plan(service__vendor=vendor), usage_plan()
    client.force_login(vendor.user)

    client.post(URL, {"action": "test_pass_mint", "plan_id": own.pk})
    refused = client.post(URL, {"action": "test_pass_mint", "plan_id": foreign.pk})

    assert refused.status_code == 404
    p = Pass.objects.get()
    assert (p.plan, p.is_test, p.purchase_id, p.owner) == (own, True, None, vendor.user)


def test_a_vendors_passes_page_shows_its_test_pass_without_a_receipt(client):
    from django.urls import reverse

    from marketplace.services import keys
    from marketplace.tests.factories import usage_plan

    vendor = VendorFactory()
    keys.test_pass_mint(vendor=vendor, plan=usage_plan(service__vendor=vendor))
    client.force_login(vendor.user)

    page = client.get(reverse("marketplace:passes"))

    assert page.status_code == 200
    assert page.content.decode().count('data-testid="pass-card"') == 1
    assert 'data-testid="receipt-link"' not in page.content.decode()
