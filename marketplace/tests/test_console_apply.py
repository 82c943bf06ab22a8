"""Becoming a vendor: the profile card, the application, staff approval in the admin."""

import pytest

from accounts.tests.factories import UserFactory
from marketplace.models import VendorApplication
from marketplace.services.vendor_applications import vendor_application_decide
from marketplace.tests.factories import VendorFactory

pytestmark = pytest.mark.django_db
APPLY = "/vendor/apply/"


def test_the_profile_invites_a_customer_to_become_a_vendor(client):
    client.force_login(UserFactory())

    page = client.get("/profile/").content.decode()

    assert 'data-testid="become-vendor"' in page
    assert 'href="/vendor/apply/" data-testid="become-vendor-link"' in page


def test_the_profile_shows_the_applications_status(client):
    user = UserFactory()
    VendorApplication.objects.create(user=user, business_name="Acme AI", payout_details="a@upi")
    client.force_login(user)

    page = client.get("/profile/").content.decode()

    assert "Acme AI" in page
    assert 'data-testid="application-status">Pending<' in page


def test_the_profile_links_a_vendor_to_the_console(client):
    client.force_login(VendorFactory().user)

    page = client.get("/profile/").content.decode()

    assert "Open the vendor console" in page
    assert 'data-testid="become-vendor-link"' not in page


def test_a_customer_applies_once_and_staff_approval_makes_them_a_vendor(client):
    user = UserFactory()
    client.force_login(user)

    applied = client.post(APPLY, {"business_name": "Acme AI", "payout_details": "acme@upi"})
    again = client.post(APPLY, {"business_name": "Acme AI", "payout_details": "acme@upi"})

    assert applied.status_code == 302
    assert again.status_code == 400
    assert "already have an application" in again.content.decode()
    assert VendorApplication.objects.count() == 1
    assert client.get("/vendor/").status_code == 302  # still a customer: back to the application

    vendor_application_decide(
        application_id=VendorApplication.objects.get().pk,
        approve=True,
        acting_user=UserFactory(is_staff=True),
    )

    user.refresh_from_db()
    assert (user.role, user.vendor_profile.business_name) == ("vendor", "Acme AI")
    assert client.get("/vendor/").status_code == 200
    assert client.get(APPLY)["Location"] == "/vendor/"


def test_a_rejected_application_makes_no_vendor_and_they_may_apply_again(client):
    user = UserFactory()
    client.force_login(user)
    client.post(APPLY, {"business_name": "X", "payout_details": "x@upi"})

    vendor_application_decide(
        application_id=VendorApplication.objects.get().pk,
        approve=False,
        acting_user=UserFactory(is_staff=True),
    )

    user.refresh_from_db()
    assert user.role == "customer"
    assert not hasattr(user, "vendor_profile")
    page = client.get(APPLY).content.decode()
    assert 'data-testid="apply-form"' in page
    assert "Rejected" in page


def test_an_empty_application_is_refused_on_its_fields(client):
    client.force_login(UserFactory())

    response = client.post(APPLY, {"business_name": " ", "payout_details": ""})

    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2
    assert VendorApplication.objects.count() == 0


def test_staff_approve_in_the_admin_and_the_role_changes(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    application = VendorApplication.objects.create(
        user=user, business_name="Acme AI", payout_details="a@upi"
    )
    client.force_login(staff)

    response = client.post(
        "/admin/marketplace/vendorapplication/",
        {"action": "approve", "_selected_action": [application.pk]},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    application.refresh_from_db()
    assert (user.role, application.status, application.decided_by) == (
        "vendor",
        "approved",
        staff,
    )
