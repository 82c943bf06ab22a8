"""Browser story: browse, filter, buy a time pass, watch its countdown, open the receipt,
see the pending cashback on the wallet.

Runs the system Chromium against pytest-django's live server (no WebSockets needed).
"""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.services import profile_ensure
from accounts.tests.factories import UserFactory
from marketplace.models import Pass, Purchase
from marketplace.tests.factories import PlanFactory, ServiceFactory, category, fund, usage_plan

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def signed_in_page(browser, base_url: str, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url)
    host = re.sub(r"^https?://([^:/]+).*$", r"\1", base_url)
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
    return context.new_page()


@pytest.fixture
def catalog_for_story(transactional_db):
    imagegen = ServiceFactory(
        name="ImageGen Pro",
        slug="imagegen-pro",
        tagline="Images from a sentence",
        vendor__business_name="PixelForge Studio",
        category=category("ai-tools"),
    )
    day = PlanFactory(service=imagegen, name="Day pass", price_paise=4_900, duration_hours=24)
    usage_plan(service=imagegen, name="100 images", price_paise=14_900)
    weather = ServiceFactory(
        name="WeatherNow API",
        slug="weathernow",
        tagline="Forecasts for any pin code",
        category=category("data-apis"),
    )
    usage_plan(service=weather, name="1,000 calls", price_paise=19_900, units=1000)
    return day


@pytest.mark.django_db(transaction=True)
def test_browse_filter_buy_a_time_pass_see_the_countdown_and_the_receipt(
    browser, live_server, catalog_for_story
):
    # Given Asha with ₹100 in her wallet
    asha = UserFactory(email="asha@example.com")
    profile = profile_ensure(user=asha)
    profile.display_name = "Asha"
    profile.save(update_fields=["display_name"])
    fund(asha, 10_000)
    page = signed_in_page(browser, live_server.url, asha)
    page.set_default_timeout(10_000)

    # When she opens the catalog she sees both services
    page.goto("/catalog/")
    cards = page.get_by_test_id("service-card")
    expect(cards).to_have_count(2)

    # And filtering by AI tools narrows it down without a full reload
    page.evaluate("window.__sameDocument = true")
    page.get_by_test_id("category-ai-tools").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("ImageGen Pro")
    assert page.evaluate("window.__sameDocument") is True
    expect(page).to_have_url(re.compile(r"category=ai-tools"))

    # And searching finds it too
    page.get_by_test_id("catalog-search").fill("images from")
    expect(page.get_by_test_id("results-count")).to_contain_text("1 service")

    # When she opens it and buys the day pass from her wallet
    cards.first.click()
    expect(page.get_by_role("heading", name="ImageGen Pro")).to_be_visible()
    page.get_by_test_id("plan-card").filter(has_text="Day pass").get_by_test_id("buy-plan").click()
    expect(page.get_by_test_id("checkout-price")).to_have_text("₹49.00")
    page.get_by_test_id("pay-wallet").click()

    # Then she lands on My passes with a live countdown
    expect(page).to_have_url(re.compile(r"/passes/\?new=\d+"))
    card = page.get_by_test_id("pass-card").first
    expect(card).to_contain_text("ImageGen Pro")
    countdown = card.get_by_test_id("countdown")
    expect(countdown).to_have_text(re.compile(r"^2[34]h \d\dm \d\ds$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # it ticks

    # And the receipt shows what she paid and the cashback on its way
    card.get_by_test_id("receipt-link").click()
    purchase = Purchase.objects.get()
    expect(page.get_by_test_id("receipt-number")).to_have_text(purchase.number)
    expect(page.get_by_test_id("receipt-total")).to_have_text("₹49.00")
    expect(page.get_by_test_id("receipt-cashback")).to_have_text("₹2.45")
    assert Pass.objects.get().owner == asha

    # And her wallet shows the 5 % cashback as pending, beside what is left to spend
    page.goto("/wallet/")
    expect(page.get_by_test_id("balance-pending")).to_have_text("₹2.45")
    expect(page.get_by_test_id("balance-available")).to_have_text("₹51.00")
    expect(page.locator('[data-badge="first_purchase"]')).to_be_visible()
    page.context.close()
