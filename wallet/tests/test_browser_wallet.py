"""A customer's wallet story in a real browser against Daphne, WebSockets included.

Asha adds money through the (simulated) Razorpay checkout, watches Ravi's
payment arrive without reloading, sends Ravi money back and downloads her
statement.
"""

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import expect

from accounts.services import profile_ensure
from wallet import services
from wallet.tests.factories import UserFactory, fund, wallet_for

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _serve_test_database():
    """Daphne child setup: the test database, and no thread machinery from the parent.

    The child is forked from the test process. Threads do not survive a fork,
    but asgiref's shared single-thread executor still believes it has its worker
    (if an earlier test used it), so database_sync_to_async calls outside a
    request context - the WebSocket auth middleware's - would queue forever.
    Give the child fresh ones, and a fresh channel layer too.
    """
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from channels.testing.live import set_database_connection

    set_database_connection()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()


@pytest.fixture
def channels_live_server(transactional_db):
    """Daphne in a child process serving the test database: HTTP and WebSockets."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    connections.close_all()  # the child must not share the parent's database socket
    process = DaphneProcess(
        "localhost",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_serve_test_database,
    )
    process.start()
    assert process.ready.wait(20), "Daphne did not start"
    yield f"http://localhost:{process.port.value}"
    process.terminate()
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)


def person(name: str, email: str):
    user = UserFactory(email=email)
    profile = profile_ensure(user=user)
    profile.display_name = name
    profile.save(update_fields=["display_name"])
    wallet_for(user)
    return user


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def signed_in_page(browser, base_url: str, session: str):
    """A fresh browser context carrying a session cookie."""
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    context.add_cookies(
        [{"name": "sessionid", "value": session, "domain": "localhost", "path": "/"}]
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


@pytest.fixture
def people(transactional_db):
    """Asha with an empty wallet, Ravi with ₹1,000: their session cookies.

    Made before the browser starts: while Playwright's sync API runs, its event
    loop owns the main thread, so broadcasts from here would be refused and
    database connections opened here escape Django's cleanup (the test database
    could then not be dropped)."""
    asha = person("Asha Rao", "asha@example.com")
    ravi = person("Ravi Menon", "ravi@example.com")
    fund(services.wallet_ensure(user=ravi), 100_000, key="ravi-start")
    return {"asha": session_cookie(asha), "ravi": session_cookie(ravi)}


@pytest.mark.django_db(transaction=True)
def test_wallet_story_top_up_live_credit_send_and_statement(
    people, browser, channels_live_server, pages
):
    # Given: Asha with an empty wallet, Ravi with ₹1,000
    page = signed_in_page(browser, channels_live_server, people["asha"])
    pages.append(page)

    # When Asha opens her wallet
    page.goto("/wallet/")

    # Then she sees nothing yet, and the page is live
    expect(page.get_by_test_id("balance-available")).to_have_text("₹0.00")
    expect(page.get_by_test_id("statement-empty")).to_contain_text("No transactions yet.")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # When she adds ₹500 with a quick pick and pays on the checkout sheet
    page.get_by_role("button", name="₹500").click()
    expect(page.locator("#topup-amount")).to_have_value("500")
    page.get_by_test_id("topup-submit").click()
    expect(page.get_by_test_id("checkout-amount")).to_have_text("₹500.00")
    page.get_by_test_id("pay-succeed").click()
    expect(page.get_by_test_id("topup-status")).to_have_attribute("data-status", "captured")
    page.get_by_role("link", name="Go to wallet").click()

    # Then the money is in her wallet
    expect(page.get_by_test_id("balance-available")).to_have_text("₹500.00")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # When Ravi sends her ₹200 from his own browser
    ravi_page = signed_in_page(browser, channels_live_server, people["ravi"])
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
