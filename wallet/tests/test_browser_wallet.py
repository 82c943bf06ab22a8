"""A customer's wallet story in a real browser against Daphne, WebSockets included.

Asha adds money through the (simulated) Razorpay checkout, watches Ravi's
payment arrive without reloading, sends Ravi money back and downloads her
statement.
"""

import csv
import io
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from accounts.services import profile_ensure
from wallet import services
from wallet.tests.factories import UserFactory, fund, wallet_for

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def channels_live_server(transactional_db):
    """Daphne in a child process serving the test database: HTTP and WebSockets."""
    from channels.testing.live import make_application, set_database_connection
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    connections.close_all()  # the child must not share the parent's database socket
    process = DaphneProcess(
        "localhost",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=set_database_connection,
    )
    process.start()
    assert process.ready.wait(20), "Daphne did not start"
    yield f"http://localhost:{process.port.value}"
    process.terminate()
    process.join(10)


def person(name: str, email: str):
    user = UserFactory(email=email)
    profile = profile_ensure(user=user)
    profile.display_name = name
    profile.save(update_fields=["display_name"])
    wallet_for(user)
    return user


def signed_in_page(browser, base_url: str, user):
    """A fresh browser context carrying `user`'s session cookie."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": "localhost",
                "path": "/",
            }
        ]
    )
    return context.new_page()


@pytest.fixture
def pages(request):
    """Every page the story opens; if the test fails, each is saved to test-artifacts/."""
    opened = []
    failed_before = request.session.testsfailed
    yield opened
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        for number, page in enumerate(opened):
            page.screenshot(
                path=str(ARTIFACTS / f"{request.node.name}-{number}.png"), full_page=True
            )
    for page in opened:
        page.context.close()


def billing_checkout_available() -> bool:
    try:
        reverse("billing:topup_start")
    except NoReverseMatch:
        return False
    return True


@pytest.mark.django_db(transaction=True)
def test_wallet_story_top_up_live_credit_send_and_statement(browser, channels_live_server, pages):
    # Given: Asha with an empty wallet, Ravi with ₹1,000
    asha = person("Asha Rao", "asha@example.com")
    ravi = person("Ravi Menon", "ravi@example.com")
    fund(services.wallet_ensure(user=ravi), 100_000, key="ravi-start")
    page = signed_in_page(browser, channels_live_server, asha)
    pages.append(page)

    # When Asha opens her wallet
    page.goto("/wallet/")

    # Then she sees nothing yet, and the page is live
    expect(page.get_by_test_id("balance-available")).to_have_text("₹0.00")
    expect(page.get_by_test_id("statement-empty")).to_contain_text("No transactions yet.")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    if billing_checkout_available():
        # When she adds ₹500 with a quick pick and pays on the checkout sheet
        page.get_by_role("button", name="₹500").click()
        expect(page.locator("#topup-amount")).to_have_value("500")
        page.get_by_test_id("topup-submit").click()
        expect(page.get_by_test_id("checkout-amount")).to_have_text("₹500.00")
        page.get_by_test_id("pay-succeed").click()
        expect(page.get_by_test_id("topup-status")).to_have_attribute("data-status", "captured")
        page.get_by_role("link", name="Go to wallet").click()
    else:  # billing not deployed: Ravi's first payment stands in for the top-up
        services.wallet_transfer(
            sender=ravi, recipient=asha, amount_paise=50_000, idempotency_key="stand-in"
        )
        page.reload()

    # Then the money is in her wallet
    expect(page.get_by_test_id("balance-available")).to_have_text("₹500.00")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # When Ravi sends her ₹200 from his own browser
    ravi_page = signed_in_page(browser, channels_live_server, ravi)
    pages.append(ravi_page)
    ravi_page.goto("/wallet/send/?to=@asha")
    ravi_page.get_by_label("Amount (₹)").fill("200")
    ravi_page.get_by_label("Note").fill("Concert tickets")
    ravi_page.get_by_test_id("send-review").click()
    expect(ravi_page.get_by_test_id("recipient-name")).to_have_text("Asha Rao")
    ravi_page.get_by_test_id("confirm-send").click()
    expect(ravi_page.locator("#toasts")).to_contain_text("Sent ₹200.00 to Asha Rao.")

    # Then Asha's open page updates without a reload
    expect(page.get_by_test_id("balance-available")).to_have_text("₹700.00")
    expect(page.get_by_test_id("balance-total")).to_have_text("₹700.00")
    expect(page.locator("#toasts")).to_contain_text("Money received: ₹200")
    expect(page.get_by_test_id("statement-row").first).to_contain_text(
        "Received from @ravi · Concert tickets"
    )

    # When Asha sends ₹150 to Ravi
    page.get_by_test_id("send-money").click()
    page.get_by_label("Send to").fill("ravi@example.com")
    page.get_by_label("Amount (₹)").fill("150")
    page.get_by_test_id("send-review").click()
    expect(page.get_by_test_id("recipient-name")).to_have_text("Ravi Menon")
    expect(page.get_by_test_id("confirm-amount")).to_have_text("₹150.00")
    page.get_by_test_id("confirm-send").click()

    # Then she is back on her wallet with the new balance
    expect(page).to_have_url(f"{channels_live_server}/wallet/")
    expect(page.locator("#toasts")).to_contain_text("Sent ₹150.00 to Ravi Menon.")
    expect(page.get_by_test_id("balance-available")).to_have_text("₹550.00")

    # When she filters to transfers and downloads the statement
    page.get_by_label("Type").select_option("transfer")
    expect(page.get_by_test_id("statement-row")).to_have_count(2)
    with page.expect_download() as download_info:
        page.get_by_test_id("csv-link").click()
    download = download_info.value

    # Then the CSV holds exactly the two transfers, newest first
    lines = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert download.suggested_filename.startswith("flexpass-statement-")
    assert lines[0] == ["Date", "Type", "Description", "Amount (INR)", "Balance after (INR)"]
    assert [line[1:] for line in lines[1:]] == [
        ["Transfer", "Sent to @ravi", "-150.00", "550.00"],
        ["Transfer", "Received from @ravi · Concert tickets", "200.00", "700.00"],
    ]
