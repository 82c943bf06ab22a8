"""Services and plans in the vendor console: create, edit, pause; the catalog follows."""

import pytest

from marketplace.models import Plan, Service
from marketplace.services import catalog_admin
from marketplace.tests.factories import (
    PlanFactory,
    ServiceFactory,
    VendorFactory,
    category,
    usage_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor(client):
    vendor = VendorFactory(business_name="PixelForge")
    client.force_login(vendor.user)
    return vendor


def service_data(**overrides):
    return {
        "name": "ImageGen Pro",
        "category": category("ai-tools").pk,
        "tagline": "Images from a sentence",
        "description": "Fast.",
        "status": "live",
        **overrides,
    }


def test_a_vendor_creates_a_service_and_lands_on_its_page(client, vendor):
    response = client.post("/vendor/services/new/", service_data())

    service = Service.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/vendor/services/{service.pk}/"
    assert (service.vendor, service.name, service.slug, service.status) == (
        vendor,
        "ImageGen Pro",
        "imagegen-pro",
        "live",
    )


def test_a_second_service_with_the_same_name_gets_its_own_address(client, vendor):
    ServiceFactory(name="ImageGen Pro", slug="imagegen-pro")

    client.post("/vendor/services/new/", service_data())

    assert Service.objects.get(vendor=vendor).slug == "imagegen-pro-2"


def test_a_service_without_a_name_is_refused_with_the_error_on_the_field(client, vendor):
    response = client.post("/vendor/services/new/", service_data(name="", status="nonsense"))

    page = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in page
    assert "Select a valid choice." in page
    assert Service.objects.count() == 0


def test_a_vendor_edits_its_service_and_keeps_its_address(client, vendor):
    service = ServiceFactory(vendor=vendor, name="Old", slug="old")

    response = client.post(
        f"/vendor/services/{service.pk}/", service_data(name="New name", status="draft")
    )

    service.refresh_from_db()
    assert response.status_code == 302
    assert (service.name, service.slug, service.status) == ("New name", "old", "draft")


def test_editing_another_vendors_service_is_not_found_and_changes_nothing(client, vendor):
    other = ServiceFactory(name="Theirs")

    response = client.post(f"/vendor/services/{other.pk}/", service_data(name="Mine now"))

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.name == "Theirs"


def test_pausing_over_htmx_returns_the_updated_row(client, vendor):
    service = ServiceFactory(vendor=vendor)

    response = client.post(
        f"/vendor/services/{service.pk}/status/", {"status": "paused"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="service-{service.pk}"')
    assert 'data-status="paused"' in body
    assert 'data-testid="resume-service"' in body
    assert "<html" not in body
    service.refresh_from_db()
    assert service.status == "paused"


def test_a_paused_service_leaves_the_catalog_once_the_pause_commits(
    client, vendor, django_capture_on_commit_callbacks
):
    service = ServiceFactory(vendor=vendor, name="ImageGen Pro", slug="imagegen-pro")
    PlanFactory(service=service)
    listed = client.get("/catalog/").content.decode()  # now cached
    assert client.get("/services/imagegen-pro/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/vendor/services/{service.pk}/status/", {"status": "paused"}, HTTP_HX_REQUEST="true"
        )

    after = client.get("/catalog/").content.decode()
    assert (listed.count('data-testid="service-card"'), "ImageGen Pro" in listed) == (1, True)
    assert (after.count('data-testid="service-card"'), "ImageGen Pro" in after) == (0, False)
    assert client.get("/services/imagegen-pro/").status_code == 404


def test_the_catalog_keeps_its_cache_until_the_pause_commits(django_capture_on_commit_callbacks):
    from marketplace.catalog_cache import catalog_generation

    vendor = VendorFactory()
    service = ServiceFactory(vendor=vendor)
    before = catalog_generation()

    with django_capture_on_commit_callbacks(execute=False) as pending:
        catalog_admin.service_set_status(vendor=vendor, service_id=service.pk, status="paused")
        assert catalog_generation() == before

    assert pending, "the invalidation waits for the commit"
    for callback in pending:
        callback()
    assert catalog_generation() > before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "time", "price": "", "duration_hours": "24"}, "price", "Required"),
        ({"kind": "time", "price": "49.999", "duration_hours": "24"}, "price", "two decimal"),
        ({"kind": "time", "price": "abc", "duration_hours": "24"}, "price", "in rupees"),
        ({"kind": "time", "price": "0", "duration_hours": "24"}, "price", "above zero"),
        ({"kind": "usage", "price": "99", "units": ""}, "units", "Required"),
        ({"kind": "usage", "price": "99", "units": "0"}, "units", "greater than or equal"),
        ({"kind": "metered", "metered_rate": "2", "metered_unit": ""}, "metered_unit", "Required"),
    ],
)
def test_bad_plan_terms_are_refused_with_a_clear_error(client, vendor, data, field, message):
    service = ServiceFactory(vendor=vendor)

    response = client.post(f"/vendor/services/{service.pk}/plans/new/", {"name": "P", **data})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Plan.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"kind": "time", "price": "₹1,499.50", "duration_hours": "48"},
            {"kind": "time", "price_paise": 149_950, "duration_hours": 48, "units": None},
        ),
        (
            {"kind": "usage", "price": "99", "units": "100", "unit_label": "images"},
            {"kind": "usage", "price_paise": 9_900, "units": 100, "unit_label": "images"},
        ),
        (
            {"kind": "usage", "price": "99", "units": "100", "validity_days": "30"},
            {"kind": "usage", "units": 100, "validity_days": 30},
        ),
        (
            {"kind": "metered", "metered_rate": "2.50", "metered_unit": "minute", "price": ""},
            {"kind": "metered", "price_paise": 0, "metered_rate_paise": 250},
        ),
    ],
)
def test_a_vendor_adds_each_kind_of_plan(client, vendor, data, expected):
    service = ServiceFactory(vendor=vendor)

    response = client.post(f"/vendor/services/{service.pk}/plans/new/", {"name": "P", **data})

    assert response.status_code == 302
    plan = Plan.objects.get()
    assert {k: getattr(plan, k) for k in expected} == expected
    assert plan.service == service


def test_a_plan_is_edited_but_its_kind_stays(client, vendor):
    plan = usage_plan(service__vendor=vendor)

    response = client.post(
        f"/vendor/plans/{plan.pk}/",
        {"kind": "time", "name": "200 calls", "price": "149", "units": "200"},
    )

    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.kind, plan.name, plan.price_paise, plan.units) == (
        "usage",
        "200 calls",
        14_900,
        200,
    )


def test_pausing_and_resuming_a_plan_over_htmx(client, vendor):
    plan = usage_plan(service__vendor=vendor)

    paused = client.post(
        f"/vendor/plans/{plan.pk}/active/", {"active": "0"}, HTTP_HX_REQUEST="true"
    )
    plan.refresh_from_db()
    was = plan.is_active
    client.post(f"/vendor/plans/{plan.pk}/active/", {"active": "1"}, HTTP_HX_REQUEST="true")
    plan.refresh_from_db()

    assert paused.content.decode().lstrip().startswith(f'<tr id="plan-{plan.pk}"')
    assert 'data-testid="resume-plan"' in paused.content.decode()
    assert (was, plan.is_active) == (False, True)


def test_a_paused_plan_cannot_be_bought(client, vendor):
    from accounts.tests.factories import UserFactory
    from marketplace.tests.factories import fund

    plan = usage_plan(service__vendor=vendor)
    catalog_admin.plan_set_active(vendor=vendor, plan_id=plan.pk, active=False)
    buyer = UserFactory()
    fund(buyer, 100_000)
    client.force_login(buyer)

    response = client.get(f"/checkout/{plan.pk}/")

    assert response.status_code in (302, 404)


def test_the_services_page_does_a_fixed_number_of_queries(client, vendor, assert_domain_queries):
    usage_plan(service__vendor=vendor)
    client.get("/vendor/services/")  # first visit: per-session bookkeeping of other apps
    with assert_domain_queries(3) as few:  # vendor profile, services, plans
        client.get("/vendor/services/")
    for _ in range(5):
        usage_plan(service=ServiceFactory(vendor=vendor))
        PlanFactory(service=ServiceFactory(vendor=vendor))

    with assert_domain_queries(3) as many:
        response = client.get("/vendor/services/")

    assert response.content.decode().count('data-testid="service-row"') == 11
    assert many.total == few.total


def test_a_logo_is_uploaded_and_can_be_removed(client, vendor):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "#5b4cf0").save(buffer, format="PNG")
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")

    client.post("/vendor/services/new/", {**service_data(), "logo": logo})
    service = Service.objects.get()
    had_logo = bool(service.logo)
    client.post(f"/vendor/services/{service.pk}/", {**service_data(), "clear_logo": "on"})
    service.refresh_from_db()

    assert had_logo is True
    assert not service.logo
