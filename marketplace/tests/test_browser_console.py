"""Browser story: a vendor lists a service with a usage plan and creates an API key in the
console; a buyer buys the plan; the vendor's backend reports usage with the key and the
buyer's open passes page counts down without a reload.

Daphne serves the test database in a child process (WebSockets included), with the
fixtures of the wallet's browser story. The story reads everything from the pages: no
ORM calls while Playwright's loop owns the thread (see the wallet story's `people`). Each console page is also photographed into
/tmp/console-shots/ (outside the repository) for a look at how it renders.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.services import profile_ensure
from accounts.tests.factories import UserFactory
from marketplace.tests.factories import VendorFactory, category, fund
from wallet.tests.test_browser_wallet import (  # noqa: F401  (fixtures)
    channels_live_server,
    pages,
    session_cookie,
    signed_in_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SHOTS = Path("/tmp/console-shots")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def people(transactional_db):
    """A vendor with nothing listed yet and a buyer with ₹1,000 (made before the browser
    starts: see the wallet story's `people`)."""
    vendor = VendorFactory(business_name="PixelForge Studio", user__email="pixel@example.com")
    buyer = UserFactory(email="asha@example.com")
    profile = profile_ensure(user=buyer)
    profile.display_name = "Asha"
    profile.save(update_fields=["display_name"])
    fund(buyer, 100_000)
    return {
        "vendor": session_cookie(vendor.user),
        "buyer": session_cookie(buyer),
        "category": str(category("ai-tools").pk),
    }


@pytest.mark.django_db(transaction=True)
def test_a_vendor_lists_a_plan_and_reported_usage_reaches_the_buyer_live(
    people,
    browser,
    channels_live_server,  # noqa: F811
    pages,  # noqa: F811
):
    base = channels_live_server
    vendor = signed_in_page(browser, base, people["vendor"])
    pages.append(vendor)
    vendor.set_default_timeout(15_000)

    # Given a new vendor's console: nothing listed yet
    vendor.goto("/vendor/")
    expect(vendor.get_by_test_id("getting-started")).to_be_visible()
    shoot(vendor, "01-overview-empty")
    vendor.get_by_role("link", name="Earnings").click()
    expect(vendor.get_by_test_id("earnings-empty")).to_be_visible()
    shoot(vendor, "02-earnings-empty")

    # When she creates a live service
    vendor.get_by_role("link", name="Services & plans").click()
    expect(vendor.get_by_test_id("services-empty")).to_be_visible()
    shoot(vendor, "03-services-empty")
    vendor.get_by_test_id("service-new").click()
    vendor.get_by_label("Name").fill("ImageGen Pro")
    vendor.get_by_label("Category").select_option(people["category"])
    vendor.get_by_label("Tagline").fill("Images from a sentence")
    vendor.get_by_label("Description").fill("Type a sentence, get four images in seconds.")
    vendor.get_by_label("Status").select_option("live")
    shoot(vendor, "04-service-new")
    vendor.get_by_test_id("service-save").click()
    expect(vendor.get_by_role("heading", name="ImageGen Pro")).to_be_visible()
    expect(vendor.get_by_test_id("plans-empty")).to_be_visible()

    # And adds a usage plan: 100 images for ₹99, after one typo in the price
    vendor.get_by_test_id("plan-new").first.click()
    vendor.get_by_label("Usage pass").check()
    vendor.get_by_label("Name").fill("100 images")
    vendor.get_by_label("Price (₹)").fill("99.999")
    vendor.get_by_label("Units").fill("100")
    vendor.get_by_label("Unit label").fill("images")
    vendor.get_by_test_id("plan-save").click()
    expect(vendor.get_by_test_id("plan-form")).to_contain_text("at most two decimal places")
    shoot(vendor, "05-plan-form-error")
    vendor.get_by_label("Price (₹)").fill("99")
    vendor.get_by_test_id("plan-save").click()
    row = vendor.get_by_test_id("plan-row")
    expect(row).to_contain_text("₹99.00 for 100 images")
    shoot(vendor, "06-service-with-plan")

    # And creates a live API key, shown once
    vendor.get_by_role("link", name="API keys").click()
    vendor.get_by_label("Name").fill("backend")
    vendor.get_by_label("Mode").select_option("live")
    vendor.get_by_test_id("key-create").click()
    secret = vendor.get_by_test_id("shown-key").inner_text().strip()
    assert re.fullmatch(r"fp_live_[\w-]{40,}", secret)
    expect(vendor.get_by_test_id("key-row")).to_contain_text(f"fp_live_…{secret[-4:]}")
    shoot(vendor, "07-keys-shown-once")

    # And registers a webhook endpoint (nothing listens there: deliveries fail and are logged)
    vendor.get_by_role("link", name="Webhooks").click()
    vendor.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/flexpass")
    vendor.get_by_test_id("endpoint-add").click()
    expect(vendor.get_by_test_id("shown-secret")).to_contain_text("whsec_")

    # When the buyer finds the service and buys the plan from her wallet
    buyer = signed_in_page(browser, base, people["buyer"])
    pages.append(buyer)
    buyer.set_default_timeout(15_000)
    buyer.goto("/catalog/")
    buyer.get_by_test_id("service-card").filter(has_text="ImageGen Pro").click()
    buyer.get_by_test_id("plan-card").filter(has_text="100 images").get_by_test_id(
        "buy-plan"
    ).click()
    expect(buyer.get_by_test_id("checkout-price")).to_have_text("₹99.00")
    with buyer.expect_websocket(lambda ws: ws.url.endswith("/ws/live/")) as socket:
        buyer.get_by_test_id("pay-wallet").click()
        expect(buyer).to_have_url(re.compile(r"/passes/\?new=\d+"))
    assert socket.value.url.endswith("/ws/live/")
    card = buyer.get_by_test_id("pass-card").filter(has_text="ImageGen Pro")
    expect(card.get_by_test_id("units-left")).to_contain_text("100 / 100 images")
    buyer.evaluate("window.__sameDocument = true")
    token = card.locator("code.token").inner_text().strip()
    buyer.wait_for_timeout(500)  # let the socket join the buyer's group

    # And the vendor's backend reports 3 images used, with the key from the console
    api = browser.new_context(base_url=base)
    response = api.request.post(
        "/api/v1/vendor/usage/batch/",
        headers={"Authorization": f"Bearer {secret}"},
        data={"events": [{"event_id": "img-1", "pass_token": token, "units": 3}]},
    )
    status, body = response.status, response.json()
    api.close()
    assert (status, body["accepted"]) == (200, 1), body

    # Then the buyer's open page shows 97 left without a reload
    expect(card.get_by_test_id("units-left")).to_contain_text("97 / 100 images")
    assert buyer.evaluate("window.__sameDocument") is True

    # And the vendor sees the sale, the pass and the usage in the console
    vendor.get_by_role("link", name="Overview").click()
    expect(vendor.get_by_test_id("payable")).to_have_text("₹89.10")
    shoot(vendor, "08-overview")
    vendor.get_by_role("link", name="Earnings").click()
    expect(vendor.get_by_test_id("earnings-by-service")).to_contain_text("ImageGen Pro")
    shoot(vendor, "09-earnings")
    vendor.get_by_role("link", name="Passes & usage").click()
    expect(vendor.get_by_test_id("console-pass-row")).to_contain_text("a•••a@example.com")
    expect(vendor.get_by_test_id("usage-row")).to_contain_text("img-1")
    shoot(vendor, "10-passes-usage")
    vendor.get_by_role("link", name="Webhooks").click()
    expect(vendor.get_by_test_id("delivery-row").first).to_be_visible()
    vendor.once("dialog", lambda dialog: dialog.accept())
    vendor.get_by_test_id("rotate-secret").first.click()
    expect(vendor.get_by_test_id("secret-once")).to_contain_text("previous secret keeps signing")
    shoot(vendor, "11-webhooks")
    vendor.get_by_role("link", name="Services & plans").click()
    expect(vendor.get_by_test_id("service-row")).to_have_attribute("data-status", "live")

    # When she pauses the service from the list (HTMX, no reload)
    vendor.evaluate("window.__sameDocument = true")
    vendor.get_by_test_id("pause-service").click()
    expect(vendor.get_by_test_id("service-row")).to_have_attribute("data-status", "paused")
    assert vendor.evaluate("window.__sameDocument") is True
    shoot(vendor, "12-services-paused")

    # Then the catalog no longer lists it
    buyer.goto("/catalog/")
    expect(buyer.get_by_test_id("service-card").filter(has_text="ImageGen Pro")).to_have_count(0)

    # And the buyer, a customer, is invited to sell from her profile
    buyer.goto("/profile/")
    expect(buyer.get_by_test_id("become-vendor")).to_contain_text("Become a vendor")
    shoot(buyer, "13-profile-become-vendor")
    buyer.get_by_test_id("become-vendor-link").click()
    expect(buyer.get_by_test_id("apply-form")).to_be_visible()
    shoot(buyer, "14-apply")
