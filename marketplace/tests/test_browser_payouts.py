"""Browser story: a vendor with ₹900 of earnings moves part of them to her wallet from the
console's Earnings page (over htmx), follows the link and asks for the money at her bank.

Uses the wallet story's Daphne live server and fixtures; the Earnings page is also
photographed into /tmp/console-shots/ (outside the repository).
"""

import pytest
from playwright.sync_api import expect

from marketplace.tests.factories import VendorFactory
from marketplace.tests.test_browser_console import shoot
from marketplace.tests.test_payouts import earn
from wallet.tests.test_browser_wallet import (  # noqa: F401  (fixtures)
    channels_live_server,
    pages,
    session_cookie,
    signed_in_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def vendor_session(transactional_db):
    """A vendor owed ₹900 (made before the browser starts: see the wallet story's `people`)."""
    vendor = VendorFactory(business_name="PixelForge Studio", user__email="pixel@example.com")
    earn(vendor, 90_000)
    return session_cookie(vendor.user)


@pytest.mark.django_db(transaction=True)
def test_a_vendor_moves_earnings_to_her_wallet_and_withdraws_them(
    vendor_session,
    browser,
    channels_live_server,  # noqa: F811
    pages,  # noqa: F811
):
    page = signed_in_page(browser, channels_live_server, vendor_session)
    pages.append(page)
    page.set_default_timeout(15_000)

    # Given her Earnings page: ₹900 payable, nothing in the wallet
    page.goto("/vendor/earnings/")
    expect(page.get_by_test_id("payable")).to_have_text("₹900.00")
    expect(page.get_by_test_id("wallet-available")).to_have_text("₹0.00")
    shoot(page, "20-earnings-move-form")

    # When she asks for more than she has, she is told how much there is
    page.get_by_label("Amount in rupees").fill("1000")
    page.get_by_test_id("move-submit").click()
    expect(page.get_by_test_id("move-error")).to_contain_text("You have ₹900.00 of earnings")
    expect(page.get_by_test_id("payable")).to_have_text("₹900.00")

    # And then moves ₹600: the panel updates in place
    page.get_by_label("Amount in rupees").fill("600")
    page.get_by_test_id("move-submit").click()
    expect(page.get_by_test_id("move-notice")).to_contain_text("₹600.00 moved to your wallet.")
    expect(page.get_by_test_id("payable")).to_have_text("₹300.00")
    expect(page.get_by_test_id("wallet-available")).to_have_text("₹600.00")
    expect(page.get_by_test_id("earnings-move")).to_have_count(1)
    shoot(page, "21-earnings-moved")

    # Then the link takes her to the withdrawal page, where ₹600 is available to withdraw
    page.get_by_test_id("move-withdraw-link").click()
    expect(page.get_by_test_id("available")).to_have_text("₹600.00")
    page.get_by_label("Amount in rupees").fill("600")
    page.get_by_label("Account holder's name").fill("Pixel Forge")
    page.get_by_label("Account number").fill("123456789012")
    page.get_by_label("IFSC").fill("HDFC0001234")
    page.get_by_role("button", name="Request withdrawal").click()
    expect(page.get_by_test_id("withdrawal-list")).to_contain_text("₹600.00")
    expect(page.get_by_test_id("available")).to_have_text("₹0.00")
