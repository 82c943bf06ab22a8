import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Profile, User
from accounts.tests.factories import UserFactory
from marketplace import services
from marketplace.catalog_cache import (
    GENERATION_KEY,
    cache_key,
    cached,
    catalog_cache_invalidate,
    catalog_generation,
)
from marketplace.models import Service, ServiceStatus
from marketplace.tests.factories import PlanFactory, fund

pytestmark = pytest.mark.django_db


def test_a_value_is_computed_once_per_generation(django_capture_on_commit_callbacks):
    calls = []

    def compute():
        calls.append(1)
        return f"v{len(calls)}"

    assert cached("x", ("a",), compute) == "v1"
    assert cached("x", ("a",), compute) == "v1"
    with django_capture_on_commit_callbacks(execute=True):
        catalog_cache_invalidate()
    assert cached("x", ("a",), compute) == "v2"
    assert len(calls) == 2


def test_invalidation_waits_for_the_commit(django_capture_on_commit_callbacks):
    before = catalog_generation()

    with django_capture_on_commit_callbacks(execute=False) as pending:
        catalog_cache_invalidate()
        assert catalog_generation() == before  # not yet: the change has not committed

    for callback in pending:
        callback()
    assert catalog_generation() == before + 1


def test_an_entry_rendered_under_an_old_generation_is_never_served():
    # given a slow reader that rendered before a change and stores afterwards
    old = catalog_generation()
    cache.incr(GENERATION_KEY)
    cache.set(cache_key("x", "a"), (old, "stale"), timeout=60)

    assert cached("x", ("a",), lambda: "fresh") == "fresh"


def test_an_evicted_generation_restarts_above_every_old_one():
    old = catalog_generation()
    cache.set(cache_key("x", "a"), (old, "old"), timeout=60)
    cache.delete(GENERATION_KEY)

    assert catalog_generation() > old
    assert cached("x", ("a",), lambda: "new") == "new"


def test_nothing_found_is_not_stored():
    assert cached("x", ("missing",), lambda: None) is None
    assert cache.get(cache_key("x", "missing")) is None


# --- the catalog page served from its cached frame ------------------------------------------

CATALOG = "/catalog/"


def _slugs(response) -> list[str]:
    return re.findall(r'data-testid="service-card" data-slug="([^"]+)"', response.content.decode())


def _token_on(response) -> str:
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]*)"\}\'', response.content.decode())[1]


def _person(name: str, **kwargs):
    user = UserFactory(**kwargs)
    Profile.objects.filter(user=user).update(display_name=name)
    return user


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_an_anonymous_hit_does_no_queries_and_carries_no_token(client, plan):
    client.get(CATALOG)  # renders and caches the page

    with CaptureQueriesContext(connection) as hit:
        response = client.get(CATALOG)

    assert len(hit) == 0
    html = response.content.decode()
    assert _slugs(response) == ["imagegen-pro"]
    assert "Log in" in html and "\x00" not in html
    assert _token_on(response) == ""  # nothing on it posts; no Set-Cookie per request either
    assert "csrftoken" not in response.cookies


def test_a_signed_in_hit_reads_only_who_is_asking(client, plan, signed_in, assert_domain_queries):
    signed_in(_person("Asha"))
    client.get(CATALOG)

    # user, profile (the user menu), the session from the cache: no catalog query, no page
    # template
    with assert_domain_queries(0) as hit:
        response = client.get(CATALOG)

    assert hit.total == 2
    assert _slugs(response) == ["imagegen-pro"]
    assert 'data-testid="nav-user">Asha<' in response.content.decode()
    assert _token_on(response)  # the logout form and htmx posts need it


def test_the_per_person_parts_are_never_shared(client, plan, signed_in):
    # given Asha's catalog page is cached
    asha, bala = _person("Asha"), _person("Bala")
    first = signed_in(asha).get(CATALOG).content.decode()
    asha_token = _token_on(signed_in(asha).get(CATALOG))
    assert 'data-testid="nav-user">Asha<' in first

    # when Bala, then an anonymous visitor, asks for the same page
    bala_page = signed_in(bala).get(CATALOG)
    client.logout()
    anonymous = client.get(CATALOG).content.decode()

    # then each sees only themselves
    html = bala_page.content.decode()
    assert 'data-testid="nav-user">Bala<' in html and "Asha" not in html
    assert _token_on(bala_page) not in ("", asha_token)
    assert _slugs(bala_page) == ["imagegen-pro"]
    assert "Asha" not in anonymous and "Bala" not in anonymous and "Log out" not in anonymous


def test_the_nav_follows_the_role(client, plan, signed_in):
    signed_in(_person("Cara")).get(CATALOG)  # a customer's frame is cached

    vendor = _person("Dev", role=User.Role.VENDOR)
    html = signed_in(vendor).get(CATALOG).content.decode()

    assert 'data-testid="nav-vendor"' in html and 'data-testid="nav-user">Dev<' in html
    customer_again = signed_in(_person("Esha")).get(CATALOG).content.decode()
    assert 'data-testid="nav-vendor"' not in customer_again


@pytest.mark.parametrize("who", ["anonymous", "signed in"])
def test_a_pause_and_a_price_change_show_right_after_commit(
    client, plan, signed_in, who, django_capture_on_commit_callbacks
):
    # given the catalog is cached, full page and htmx fragment
    if who == "signed in":
        signed_in(_person("Asha"))
    other = PlanFactory(service__name="Weather API", service__slug="weather-api", price_paise=900)
    htmx = {"HX-Request": "true"}
    assert "₹9.00" in client.get(CATALOG).content.decode()
    assert sorted(_slugs(client.get(CATALOG, headers=htmx))) == ["imagegen-pro", "weather-api"]

    # when a service is paused and a plan's price changes, each in its own transaction
    with django_capture_on_commit_callbacks(execute=True):
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        catalog_cache_invalidate()  # update() sends no signal
    with django_capture_on_commit_callbacks(execute=True):
        other.price_paise = 1_900
        other.save(update_fields=["price_paise"])

    # then the very next page and fragment show it
    page = client.get(CATALOG)
    assert _slugs(page) == ["weather-api"]
    assert "₹19.00" in page.content.decode() and "₹9.00" not in page.content.decode()
    assert _slugs(client.get(CATALOG, headers=htmx)) == ["weather-api"]


def test_the_pause_is_not_shown_before_it_commits_nor_cached_after(
    client, plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        catalog_cache_invalidate()
        # a page rendered now (the test's own transaction sees the pause) is
        # stored under the generation the commit is about to retire
        client.get(CATALOG)
    for callback in pending:
        callback()

    assert _slugs(client.get(CATALOG)) == []


def test_an_htmx_hit_is_the_cached_fragment_with_no_queries(client, plan):
    htmx = {"HX-Request": "true"}
    client.get(CATALOG, {"q": "imagegen"}, headers=htmx)

    with CaptureQueriesContext(connection) as hit:
        response = client.get(CATALOG, {"q": "imagegen"}, headers=htmx)

    assert len(hit) == 0
    assert response.content.decode().lstrip().startswith('<section id="catalog-results"')
    assert "HX-Request" in response["Vary"]


def test_a_flash_message_shows_once_on_a_cached_page(client, plan, signed_in):
    signed_in(_person("Asha"))
    client.get(CATALOG)
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(messages.SUCCESS, "Welcome back, Asha.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[storage.cookie_name] = carrier.cookies[storage.cookie_name].value

    shown = client.get(CATALOG).content.decode()
    again = client.get(CATALOG).content.decode()

    assert 'role="status"><span>Welcome back, Asha.</span>' in shown
    assert "Welcome back" not in again


# --- the service page served from its cached frame ------------------------------------------

SERVICE = "/services/imagegen-pro/"


def _balance_on(response) -> str:
    return re.search(r'data-testid="service-balance">([^<]*)<', response.content.decode())[1]


def test_an_anonymous_service_hit_does_no_queries(client, plan):
    client.get(SERVICE)

    with CaptureQueriesContext(connection) as hit:
        response = client.get(SERVICE)

    html = response.content.decode()
    assert len(hit) == 0
    assert html.count('data-testid="plan-card"') == 1 and "Log in to buy" in html
    assert f"?next={SERVICE}" in html
    assert _token_on(response) == ""


def test_the_service_side_card_is_each_persons_own(client, plan, signed_in):
    # given Asha (₹100, a pass here) has the service page cached
    asha, bala = _person("Asha"), _person("Bala")
    fund(asha, 10_000)
    fund(bala, 2_500)
    services.pass_purchase(buyer=asha, plan=plan, idempotency_key="asha-1")
    first = signed_in(asha).get(SERVICE)
    assert _balance_on(first) == "₹51.00"
    assert 'data-testid="my-service-passes"' in first.content.decode()

    # when Bala asks for it
    response = signed_in(bala).get(SERVICE)

    # then Bala sees Bala's balance and no passes, and nothing of Asha's
    html = response.content.decode()
    assert _balance_on(response) == "₹25.00"
    assert 'data-testid="my-service-passes"' not in html and "Asha" not in html
    assert 'data-testid="nav-user">Bala<' in html and 'data-testid="plan-card"' in html


def test_the_vendor_sees_no_ask_the_vendor_button_on_their_own_service(client, plan, signed_in):
    signed_in(_person("Asha")).get(SERVICE)  # a customer's frame is cached with the button

    owner = plan.service.vendor.user
    html = signed_in(owner).get(SERVICE).content.decode()

    assert 'data-testid="ask-vendor"' not in html
    assert 'data-testid="ask-vendor"' in signed_in(_person("Bala")).get(SERVICE).content.decode()


@pytest.mark.parametrize("who", ["anonymous", "signed in"])
def test_a_service_page_follows_a_price_change_and_a_pause_right_after_commit(
    client, plan, signed_in, who, django_capture_on_commit_callbacks
):
    if who == "signed in":
        signed_in(_person("Asha"))
    assert "₹49.00" in client.get(SERVICE).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        plan.price_paise = 5_900
        plan.save(update_fields=["price_paise"])
    html = client.get(SERVICE).content.decode()
    assert "₹59.00" in html and "₹49.00" not in html

    with django_capture_on_commit_callbacks(execute=True):
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        catalog_cache_invalidate()
    assert client.get(SERVICE).status_code == 404


def test_the_token_on_a_cached_signed_in_page_is_valid_and_one_per_page(plan):
    # given a browser that enforces CSRF, on a catalog page served from the cache
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(_person("Asha"))
    browser.get(CATALOG)
    page = browser.get(CATALOG)
    token = _token_on(page)
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert token == form_token

    # when the page's htmx header is used to log out
    response = browser.post(reverse("account_logout"), headers={"X-CSRFToken": token})

    # then the token was accepted
    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session


# --- whole anonymous pages, answered before the middleware chain (page_cache) ---------------


def _views_must_not_run(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the view ran")

    monkeypatch.setattr("marketplace.views.frame_fill", boom)


@pytest.mark.parametrize("url", [CATALOG, SERVICE])
def test_a_page_seen_twice_is_then_answered_whole_without_the_view(client, plan, url, monkeypatch):
    # given an anonymous page rendered once, then served from its frame once
    first, second = client.get(url), client.get(url)
    _views_must_not_run(monkeypatch)

    # when it is asked for again
    with CaptureQueriesContext(connection) as queries:
        third = client.get(url, headers={"X-Request-ID": "abc-123"})

    # then the same page and headers come back, with this request's id
    assert len(queries) == 0
    assert third.status_code == 200 and third.content == second.content == first.content
    for header in ("Content-Type", "Vary", "X-Frame-Options", "X-Content-Type-Options"):
        assert third[header] == second[header]
    assert third["X-Request-ID"] == "abc-123"
    assert client.get(url)["X-Request-ID"] not in ("abc-123", second["X-Request-ID"])


def test_a_whole_page_is_not_served_once_a_change_commits(
    client, plan, django_capture_on_commit_callbacks
):
    for _ in range(3):
        assert _slugs(client.get(CATALOG)) == ["imagegen-pro"]  # the third from the page cache

    with django_capture_on_commit_callbacks(execute=True):
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        catalog_cache_invalidate()

    assert _slugs(client.get(CATALOG)) == []
    assert client.get(SERVICE).status_code == 404


def test_signed_in_visitors_and_flash_messages_never_get_the_shared_page(client, plan, signed_in):
    for _ in range(3):
        client.get(CATALOG)

    html = signed_in(_person("Asha")).get(CATALOG).content.decode()
    assert 'data-testid="nav-user">Asha<' in html

    client.logout()
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(messages.INFO, "You have signed out.")
    carrier = HttpResponse()
    storage.update(carrier)
    client.cookies[storage.cookie_name] = carrier.cookies[storage.cookie_name].value
    assert "You have signed out." in client.get(CATALOG).content.decode()


def test_htmx_requests_and_unknown_hosts_go_through_django(client, plan):
    for _ in range(3):
        client.get(CATALOG)

    fragment = client.get(CATALOG, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="catalog-results"')
    assert client.get(CATALOG, HTTP_HOST="evil.example").status_code == 400


def test_under_asgi_the_page_is_answered_on_the_event_loop(
    plan, monkeypatch, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    browser = AsyncClient()
    pages = [async_to_sync(browser.get)(CATALOG) for _ in range(2)]
    with monkeypatch.context() as patched:
        _views_must_not_run(patched)
        pages.append(async_to_sync(browser.get)(CATALOG))
    assert [_slugs(page) for page in pages] == [["imagegen-pro"]] * 3
    assert pages[2].content == pages[1].content

    with django_capture_on_commit_callbacks(execute=True):
        Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
        catalog_cache_invalidate()
    assert _slugs(async_to_sync(browser.get)(CATALOG)) == []
