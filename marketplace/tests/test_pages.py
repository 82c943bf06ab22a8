import re

import pytest
from django.urls import reverse

from marketplace import services
from marketplace.models import Pass, Plan, Purchase, Service, ServiceStatus
from marketplace.tests.factories import (
    PlanFactory,
    ServiceFactory,
    VendorFactory,
    balance,
    category,
    fund,
    metered_plan,
    usage_plan,
)
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db

CATALOG = reverse("marketplace:catalog")


def _slugs(response) -> list[str]:
    return re.findall(r'data-testid="service-card" data-slug="([^"]+)"', response.content.decode())


def _catalog_of(count: int) -> None:
    vendor = VendorFactory(business_name="PixelForge")
    for i in range(count):
        service = ServiceFactory(vendor=vendor, name=f"Tool {i}", slug=f"tool-{i}")
        PlanFactory(service=service, price_paise=1_000 + i)
        usage_plan(service=service)


# --- catalog --------------------------------------------------------------------------------


def test_the_catalog_lists_live_services_with_price_and_plan_kinds(client, plan):
    ServiceFactory(name="Secret draft", slug="draft", status=ServiceStatus.DRAFT)
    usage_plan(service=plan.service, price_paise=9_900)

    response = client.get(CATALOG)

    assert response.status_code == 200
    html = response.content.decode()
    assert _slugs(response) == ["imagegen-pro"]
    assert "<small>from</small> ₹49.00" in html
    assert 'data-kind="time"' in html and 'data-kind="usage"' in html
    assert "Secret draft" not in html
    assert "HX-Request" in response["Vary"]


def test_search_matches_name_tagline_vendor_and_category(client):
    ServiceFactory(name="ImageGen Pro", slug="imagegen", tagline="Pictures from words")
    ServiceFactory(
        name="WeatherNow",
        slug="weather",
        tagline="Forecast API",
        vendor__business_name="SkyData",
        category=category("data-apis"),
    )
    for service in Service.objects.all():
        PlanFactory(service=service)

    assert _slugs(client.get(CATALOG, {"q": "imagegen"})) == ["imagegen"]
    assert _slugs(client.get(CATALOG, {"q": "forecast"})) == ["weather"]
    assert _slugs(client.get(CATALOG, {"q": "skydata"})) == ["weather"]
    assert _slugs(client.get(CATALOG, {"q": "data apis"})) == ["weather"]
    empty = client.get(CATALOG, {"q": "nothing like this"})
    assert _slugs(empty) == []
    assert 'data-testid="catalog-empty"' in empty.content.decode()


def test_category_filter_and_sorts(client):
    cheap = ServiceFactory(name="Cheap", slug="cheap", category=category("creative-assets"))
    PlanFactory(service=cheap, price_paise=500)
    popular = ServiceFactory(name="Popular", slug="popular", purchases_count=50)
    PlanFactory(service=popular, price_paise=9_000)
    newest = ServiceFactory(name="Newest", slug="newest")
    PlanFactory(service=newest, price_paise=3_000)

    assert _slugs(client.get(CATALOG, {"category": "creative-assets"})) == ["cheap"]
    assert _slugs(client.get(CATALOG)) == ["popular", "newest", "cheap"]
    assert _slugs(client.get(CATALOG, {"sort": "price"})) == ["cheap", "newest", "popular"]
    assert _slugs(client.get(CATALOG, {"sort": "new"})) == ["newest", "popular", "cheap"]
    # unknown values fall back to the defaults instead of failing
    assert _slugs(client.get(CATALOG, {"sort": "'; drop", "kind": "x"})) == [
        "popular",
        "newest",
        "cheap",
    ]


def test_kind_filter_shows_services_selling_that_kind(client):
    timed = PlanFactory(service__slug="timed").service
    metered = metered_plan(service__slug="metered").service

    assert _slugs(client.get(CATALOG, {"kind": "metered"})) == [metered.slug]
    assert _slugs(client.get(CATALOG, {"kind": "time"})) == [timed.slug]


def test_an_htmx_request_gets_only_the_results_fragment(client, plan):
    response = client.get(CATALOG, {"q": "imagegen"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="catalog-results"')
    assert "<html" not in html and "catalog-filters" not in html
    assert "HX-Request" in response["Vary"]
    full = client.get(CATALOG, {"q": "imagegen"})
    assert "<html" in full.content.decode()


def test_the_catalog_does_a_fixed_number_of_queries(client, assert_domain_queries):
    from flexpass.testing import cache_clear

    _catalog_of(3)
    with assert_domain_queries(4) as few:  # categories, count, services, plans
        client.get(CATALOG)
    for i in range(8):
        PlanFactory(service=ServiceFactory(name=f"More {i}"))
    cache_clear()

    with assert_domain_queries(4) as many:
        response = client.get(CATALOG)

    assert len(_slugs(response)) == 11
    assert many.total == few.total


def test_a_cached_catalog_page_does_no_queries(client, django_assert_num_queries):
    _catalog_of(3)
    client.get(CATALOG)

    with django_assert_num_queries(0):  # anonymous: no session either
        response = client.get(CATALOG)

    assert len(_slugs(response)) == 3


def test_the_catalog_paginates(client, settings):
    settings.CATALOG_PAGE_SIZE = 2
    _catalog_of(3)

    first = client.get(CATALOG)
    second = client.get(CATALOG, {"page": 2})

    assert len(_slugs(first)) == 2 and len(_slugs(second)) == 1
    assert "Page 1 of 2" in first.content.decode()
    assert len(_slugs(client.get(CATALOG, {"page": "nonsense"}))) == 2


def test_a_paused_service_disappears_from_the_cached_catalog_once_the_pause_commits(
    client, plan, django_capture_on_commit_callbacks
):
    assert _slugs(client.get(CATALOG)) == ["imagegen-pro"]  # now cached
    service = plan.service

    with django_capture_on_commit_callbacks(execute=True):
        service.status = ServiceStatus.PAUSED
        service.save(update_fields=["status"])

    assert _slugs(client.get(CATALOG)) == []
    assert client.get(reverse("marketplace:service", args=[service.slug])).status_code == 404


def test_a_plan_price_change_shows_after_commit(client, plan, django_capture_on_commit_callbacks):
    url = reverse("marketplace:service", args=[plan.service.slug])
    assert "₹49.00" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        Plan.objects.get(pk=plan.pk).__class__.objects.filter(pk=plan.pk)  # no signal: no change
        plan.price_paise = 5_900
        plan.save(update_fields=["price_paise"])

    html = client.get(url).content.decode()
    assert "₹59.00" in html and "₹49.00" not in html


# --- service page ---------------------------------------------------------------------------


def test_the_service_page_shows_plans_with_buy_links(client, plan):
    usage_plan(service=plan.service, name="100 calls", units=100, validity_days=30)
    metered_plan(service=plan.service)

    response = client.get(reverse("marketplace:service", args=["imagegen-pro"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="plan-card"') == 3
    assert reverse("marketplace:checkout", args=[plan.pk]) in html
    assert "Unlimited use for 24 hours" in html
    assert "100 calls · valid 30 days" in html
    assert "₹2.00/min" in html
    assert "Log in to buy" in html


def test_the_service_page_does_a_fixed_number_of_queries(
    client, buyer, plan, assert_domain_queries
):
    from flexpass.testing import cache_clear

    client.force_login(buyer)
    url = reverse("marketplace:service", args=["imagegen-pro"])
    # service, plans, related services, wallet balance, my passes here; both visits start
    # with an empty cache (the session included)
    cache_clear()
    with assert_domain_queries(5) as few:
        client.get(url)
    for i in range(4):
        PlanFactory(service=plan.service, name=f"Plan {i}")
        PlanFactory(service__category=plan.service.category)  # related services

    cache_clear()
    with assert_domain_queries(5) as many:
        client.get(url)
    with assert_domain_queries(2):  # cached: only the per-person parts
        client.get(url)
    assert many.total == few.total


def test_an_unknown_service_is_404(client, db):
    assert client.get(reverse("marketplace:service", args=["nope"])).status_code == 404


# --- checkout -------------------------------------------------------------------------------


def test_checkout_shows_the_price_and_the_balance_after(client, funded_buyer, plan):
    client.force_login(funded_buyer)

    response = client.get(reverse("marketplace:checkout", args=[plan.pk]))

    html = response.content.decode()
    assert "Pay ₹49.00 from wallet" in html
    assert "₹51.00" in html  # ₹100 - ₹49


def test_buying_from_checkout_creates_the_pass_and_redirects_to_it(client, funded_buyer, plan):
    client.force_login(funded_buyer)
    url = reverse("marketplace:checkout", args=[plan.pk])

    response = client.post(url, {"idempotency_key": "abc", "expected_price_paise": "4900"})
    again = client.post(url, {"idempotency_key": "abc", "expected_price_paise": "4900"})

    pass_obj = Pass.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('marketplace:passes')}?new={pass_obj.pk}"
    assert again["Location"] == response["Location"]
    assert balance(wallet_ensure(user=funded_buyer).available) == 5_100


def test_a_tampered_price_is_refused_with_nothing_charged(client, funded_buyer, plan):
    client.force_login(funded_buyer)

    response = client.post(
        reverse("marketplace:checkout", args=[plan.pk]),
        {"idempotency_key": "abc", "expected_price_paise": "1"},
    )

    assert response.status_code == 409
    assert "price of this plan has changed" in response.content.decode()
    assert not Purchase.objects.exists()
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000


def test_checkout_offers_mixed_payment_when_the_wallet_is_short(client, buyer, plan):
    fund(buyer, 1_000)
    client.force_login(buyer)

    html = client.get(reverse("marketplace:checkout", args=[plan.pk])).content.decode()

    assert "Your wallet is ₹39.00 short" in html
    assert "Pay ₹10.00 from wallet + ₹39.00 by UPI/card" in html


def test_checkout_needs_a_login(client, plan):
    response = client.get(reverse("marketplace:checkout", args=[plan.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_checkout_of_a_paused_service_is_404(client, funded_buyer, plan):
    Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
    client.force_login(funded_buyer)

    assert client.get(reverse("marketplace:checkout", args=[plan.pk])).status_code == 404
    assert (
        client.post(
            reverse("marketplace:checkout", args=[plan.pk]), {"idempotency_key": "a"}
        ).status_code
        == 404
    )
    assert not Purchase.objects.exists()


def test_a_service_paused_during_checkout_shows_the_refusal(
    client, funded_buyer, plan, monkeypatch
):
    from marketplace import views

    buy = views.services.pass_purchase

    def paused_just_now(**kwargs):
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        return buy(**kwargs)

    monkeypatch.setattr(views.services, "pass_purchase", paused_just_now)
    client.force_login(funded_buyer)

    response = client.post(
        reverse("marketplace:checkout", args=[plan.pk]), {"idempotency_key": "a"}
    )

    assert response.status_code == 409
    assert "not on sale right now" in response.content.decode()
    assert not Purchase.objects.exists()


# --- my passes and receipts -----------------------------------------------------------------


def test_my_passes_shows_countdown_units_renew_and_receipt(client, funded_buyer, plan):
    timed = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")
    usage = services.pass_purchase(
        buyer=funded_buyer, plan=usage_plan(price_paise=1_000, units=100), idempotency_key="b"
    )
    Pass.objects.filter(pk=usage.pass_obj.pk).update(units_left=40)
    client.force_login(funded_buyer)

    html = client.get(reverse("marketplace:passes")).content.decode()

    assert html.count('data-testid="pass-card"') == 2
    assert f'data-countdown="{timed.pass_obj.expires_at.astimezone().isoformat()}"' in html or (
        "data-countdown=" in html
    )
    assert "<strong>40</strong> / 100" in html
    assert 'style="width:40%"' in html
    assert reverse("marketplace:receipt", args=[timed.pk]) in html
    assert reverse("marketplace:checkout", args=[plan.pk]) in html


def test_my_passes_tabs_and_lazy_expiry(client, funded_buyer, plan):
    bought = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")
    from datetime import timedelta

    from django.utils import timezone

    Pass.objects.filter(pk=bought.pass_obj.pk).update(
        starts_at=timezone.now() - timedelta(hours=25),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    client.force_login(funded_buyer)

    active = client.get(reverse("marketplace:passes")).content.decode()
    expired = client.get(reverse("marketplace:passes"), {"tab": "expired"}).content.decode()

    assert 'data-testid="passes-empty"' in active
    assert 'data-status="expired"' in expired
    assert Pass.objects.get().status == "expired"


def test_my_passes_does_a_fixed_number_of_queries(client, funded_buyer, assert_domain_queries):
    fund(funded_buyer, 100_000)
    services.pass_purchase(buyer=funded_buyer, plan=PlanFactory(), idempotency_key="k")
    client.force_login(funded_buyer)
    client.get(reverse("marketplace:passes"))  # warm-up: per-user caches (bell count) fill here
    # lazy expiry (two UPDATEs), the passes with plan/service/vendor/purchase, tab counts
    with assert_domain_queries(4) as few:
        client.get(reverse("marketplace:passes"))
    for i in range(4):
        services.pass_purchase(buyer=funded_buyer, plan=PlanFactory(), idempotency_key=f"k{i}")
    client.get(reverse("marketplace:passes"))  # warm-up again: new notifications reset the bell

    with assert_domain_queries(4) as many:
        response = client.get(reverse("marketplace:passes"))

    assert response.content.decode().count('data-testid="pass-card"') == 5
    assert many.total == few.total


def test_my_passes_htmx_tab_returns_the_fragment(client, funded_buyer):
    client.force_login(funded_buyer)

    response = client.get(
        reverse("marketplace:passes"), {"tab": "used_up"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="pass-tabs">')
    assert "Nothing used up yet" in html


def test_the_receipt_shows_the_purchase_and_is_private(client, funded_buyer, plan):
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")
    url = reverse("marketplace:receipt", args=[purchase.pk])
    client.force_login(funded_buyer)

    html = client.get(url).content.decode()

    assert purchase.number in html
    assert "ImageGen Pro" in html and "₹49.00" in html and "PAID" in html
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.get(reverse("marketplace:purchases")).content.decode().count("purchase-row") == 0


def test_the_receipt_states_the_terms_as_sold_after_the_plan_changes(client, funded_buyer, plan):
    purchase = services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")
    type(plan).objects.filter(pk=plan.pk).update(duration_hours=48)  # the vendor, later
    client.force_login(funded_buyer)

    html = client.get(reverse("marketplace:receipt", args=[purchase.pk])).content.decode()
    api = client.get(f"/api/v1/passes/receipts/{purchase.pk}/").json()

    assert "Unlimited use for 24 hours" in html and "48 hours" not in html
    assert api["plan_terms"] == "Unlimited use for 24 hours"


def test_the_receipts_list(client, funded_buyer, plan):
    services.pass_purchase(buyer=funded_buyer, plan=plan, idempotency_key="a")
    client.force_login(funded_buyer)

    html = client.get(reverse("marketplace:purchases")).content.decode()

    assert html.count('data-testid="purchase-row"') == 1
