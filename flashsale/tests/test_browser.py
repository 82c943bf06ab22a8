"""A buyer's story in a real browser (system Chromium) against a live Daphne server.

Two people watch the same item; one holds it and the other sees the stock bar
drop without reloading; the holder pays; a second hold runs out on screen. A
buyer with a short wallet pays the rest through the simulated gateway.
"""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from flashsale.models import FlashOrder, Hold, HoldStatus, SaleItem
from flashsale.tests.factories import FlashSaleFactory, UserFactory, fund, item_make

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def _serve_test_database():
    """Daphne child setup: the test database, and no thread machinery from the parent.

    Threads do not survive the fork, but asgiref's shared single-thread executor
    would still believe it has its worker (if an earlier test used it), and the
    WebSocket auth middleware's database calls would queue forever: give the
    child a fresh executor and a fresh channel layer.
    """
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from channels.testing.live import set_database_connection

    set_database_connection()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()


@pytest.fixture
def live_server_url(transactional_db):
    """Daphne in a child process (HTTP and WebSockets) on the test database (notes §6)."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    connections.close_all()  # the child must not share the parent's database socket
    server = DaphneProcess(
        "localhost",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_serve_test_database,
    )
    server.start()
    assert server.ready.wait(20), "the live server did not start"
    yield f"http://localhost:{server.port.value}"
    server.terminate()
    server.join(10)
    if server.is_alive():
        server.kill()
        server.join(5)


def signed_in_page(browser, base_url, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
    )
    return context.new_page()


@pytest.fixture
def close_body_connections():
    """With Playwright's loop running in this thread, Django keys connections by context,
    so the test body gets its own: close it there, or the test database cannot be dropped."""
    yield
    connections.close_all()


@pytest.fixture
def shipped_throttle(settings):
    """The anti-bot limits as shipped (the flash tests' conftest lifts them); request it
    before live_server_url, whose server process copies the settings when it starts."""
    settings.FLASH_HOLDS_PER_USER = settings.FLASH_HOLDS_PER_IP = 2


def test_two_buyers_watch_one_item_hold_pay_and_a_hold_runs_out(
    browser, shipped_throttle, live_server_url, close_body_connections
):
    # given a live sale with 10 units of one item, and two funded buyers
    item = item_make(total=10, per_user_limit=2, price_paise=49_900)
    asha, ravi = UserFactory(), UserFactory()
    fund(asha, 200_000)
    fund(ravi, 200_000)
    shop = f"{live_server_url}/flash/"
    asha_page = signed_in_page(browser, live_server_url, asha)
    ravi_page = signed_in_page(browser, live_server_url, ravi)
    for page in (asha_page, ravi_page):
        page.goto(shop)
        expect(page.get_by_test_id("live-dot")).to_have_text("Live stock")
        expect(page.get_by_test_id(f"stock-label-{item.pk}")).to_have_text("10 of 10 left")

    # when Asha holds one
    asha_page.get_by_test_id(f"hold-{item.pk}").click()

    # then she lands on her hold with a two-minute countdown...
    expect(asha_page).to_have_url(re.compile(r"/flash/holds/\d+/$"))
    expect(asha_page.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"0[12]m \d\ds"))
    # ...and Ravi, without reloading, sees the bar drop
    expect(ravi_page.get_by_test_id(f"stock-label-{item.pk}")).to_have_text("9 of 10 left")
    expect(ravi_page.get_by_test_id(f"stock-bar-{item.pk}")).to_have_attribute(
        "style", re.compile(r"width: 90%")
    )

    # when Asha pays
    asha_page.get_by_test_id("checkout").click()

    # then she sees her order, and the money moved once
    expect(asha_page.get_by_test_id("order-amount")).to_have_text("₹499.00")
    order = FlashOrder.objects.get(user=asha)
    expect(asha_page.get_by_test_id("order-number")).to_have_text(order.number)

    # when Ravi holds one and lets the timer run out on the hold page
    ravi_page.get_by_test_id(f"hold-{item.pk}").click()
    expect(ravi_page).to_have_url(re.compile(r"/flash/holds/\d+/$"))
    hold = Hold.objects.get(user=ravi)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() + timedelta(seconds=3))
    ravi_page.reload()

    # then the page says it expired without a reload, and the unit is back on sale
    expect(ravi_page.get_by_test_id("hold-expired")).to_be_visible(timeout=10_000)
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.EXPIRED
    assert SaleItem.objects.get(pk=item.pk).available == 9

    # when Ravi tries again at once: it would be the third hold from this network
    # (both buyers share localhost) inside the throttle window
    ravi_page.goto(shop)
    ravi_page.get_by_test_id(f"hold-{item.pk}").click()

    # then one toast says why, and nothing was held
    toast = ravi_page.locator(".toast")
    expect(toast).to_have_count(1)
    expect(toast).to_contain_text("Too many holds from your network: at most 2 in 10 minutes")
    assert Hold.objects.filter(user=ravi).count() == 1


def test_a_short_wallet_pays_the_rest_by_card_and_sees_the_order(
    browser, live_server_url, close_body_connections
):
    # given Meera with ₹200 in her wallet and a ₹499 item on sale
    item = item_make(total=5, per_user_limit=1, price_paise=49_900)
    meera = UserFactory()
    fund(meera, 20_000)
    page = signed_in_page(browser, live_server_url, meera)
    page.goto(f"{live_server_url}/flash/")

    # when she holds it
    page.get_by_test_id(f"hold-{item.pk}").click()
    expect(page).to_have_url(re.compile(r"/flash/holds/\d+/$"))

    # then the hold page offers to split the price between her wallet and her card
    expect(page.get_by_test_id("split-wallet")).to_have_text("₹200.00")
    expect(page.get_by_test_id("split-gateway")).to_have_text("₹299.00")
    pay = page.get_by_test_id("pay-mixed")
    expect(pay).to_have_text("Pay ₹200.00 from wallet + ₹299.00 by card")
    page.screenshot(path="/tmp/flash-hold-split.png", full_page=True)

    # when she pays the rest on the (simulated) Razorpay sheet
    pay.click()
    expect(page.get_by_test_id("checkout-amount")).to_have_text("₹299.00")
    page.get_by_test_id("pay-succeed").click()

    # then she lands on her order, paid from both
    expect(page.get_by_test_id("order-amount")).to_have_text("₹499.00")
    expect(page.get_by_test_id("order-wallet-part")).to_have_text("₹200.00")
    expect(page.get_by_test_id("order-gateway-part")).to_have_text("₹299.00")
    order = FlashOrder.objects.get(user=meera)
    expect(page.get_by_test_id("order-number")).to_have_text(order.number)
    page.screenshot(path="/tmp/flash-order-mixed.png", full_page=True)
    assert order.payment.status == "fulfilled"
    assert Hold.objects.get(pk=order.hold_id).status == HoldStatus.CONFIRMED
    assert SaleItem.objects.get(pk=item.pk).available == 4


def test_a_fast_browser_clock_does_not_end_the_countdown_early(
    browser, live_server_url, close_body_connections
):
    # given a sale that opens in ten minutes, watched from a browser whose clock is an hour fast
    sale = FlashSaleFactory(
        name="Midnight drop",
        starts_at=timezone.now() + timedelta(minutes=10),
        ends_at=timezone.now() + timedelta(hours=2),
    )
    item_make(sale=sale, total=5)
    context = browser.new_context()
    page = context.new_page()
    page.clock.install(time=timezone.now() + timedelta(hours=1))
    reloads = []
    page.on("load", lambda _: reloads.append(1))

    # when the storefront opens
    page.goto(f"{live_server_url}/flash/")

    # then it counts down the server's ten minutes, and nothing reloads the page
    countdown = page.locator("[data-countdown]").first
    expect(countdown).to_have_text(re.compile(r"^(09m [0-5]\ds|10m 00s)$"), timeout=10_000)
    page.wait_for_timeout(2_500)
    assert len(reloads) == 1
    context.close()
