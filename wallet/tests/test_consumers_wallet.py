"""Live balances over ws/wallet/, through the real ASGI stack (origin check, session auth).

Each test is an async scenario run by `on_own_loop`: a fresh event loop in a
worker thread. pytest-asyncio would run it on the main thread, where a browser
test's Playwright (sync API) may have left its event loop running for the rest
of the session; then every asyncio test after it fails with "Runner.run()
cannot be called from a running event loop". A thread of our own always works.
Database work still goes through database_sync_to_async, committed
(transaction=True) so the consumer's connections see it.
"""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from flexpass.asgi import application
from flexpass.money import format_rupees
from flexpass.realtime import broadcast_now, user_group
from wallet import services
from wallet.tests.factories import UserFactory, fund, reserve, wallet_for

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


def on_own_loop(scenario):
    @functools.wraps(scenario)
    def test(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, scenario(*args, **kwargs)).result(timeout=60)

    return test


@database_sync_to_async
def signed_in(email: str, *, paise: int = 0):
    """A user with a wallet (and `paise` in it) and the cookie header of a session."""
    user = UserFactory(email=email)
    wallet = wallet_for(user)
    if paise:
        fund(wallet, paise, key=f"fund-{email}")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return user, (b"cookie", cookie.encode())


async def connect(*headers) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/wallet/", headers=list(headers))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def balance_message(
    available: int, reserved: int, shown: tuple[str, str, str], pending: int = 0
) -> dict:
    return {
        "type": "balance",
        "available_paise": available,
        "reserved_paise": reserved,
        "total_paise": available + reserved,
        "pending_paise": pending,
        "available_display": shown[0],
        "reserved_display": shown[1],
        "total_display": shown[2],
        "pending_display": format_rupees(pending),
    }


@on_own_loop
async def test_anonymous_sockets_are_closed_with_4401():
    # Given
    communicator = WebsocketCommunicator(application, "/ws/wallet/", headers=[ORIGIN])

    # When
    connected, code = await communicator.connect()

    # Then
    assert (connected, code) == (False, 4401)


@on_own_loop
async def test_foreign_origins_are_refused():
    # Given
    _user, cookie = await signed_in("asha@example.com")
    communicator = WebsocketCommunicator(
        application, "/ws/wallet/", headers=[cookie, (b"origin", b"https://evil.example")]
    )

    # When
    connected, _ = await communicator.connect()

    # Then
    assert connected is False


@on_own_loop
async def test_a_new_socket_gets_the_current_balance_first():
    # Given
    _user, cookie = await signed_in("asha@example.com", paise=123_456)

    # When
    communicator = await connect(cookie, ORIGIN)

    # Then
    assert await communicator.receive_json_from(timeout=2) == balance_message(
        123_456, 0, ("₹1,234.56", "₹0.00", "₹1,234.56")
    )
    await communicator.disconnect()


@on_own_loop
async def test_a_transfer_from_sync_code_reaches_the_recipient_live():
    # Given
    asha, _ = await signed_in("asha@example.com", paise=50_000)
    ravi, ravi_cookie = await signed_in("ravi@example.com")
    communicator = await connect(ravi_cookie, ORIGIN)
    await communicator.receive_json_from(timeout=2)  # the snapshot on connect

    # When
    await database_sync_to_async(services.wallet_transfer)(
        sender=asha, recipient=ravi, amount_paise=12_500, idempotency_key="live-1"
    )

    # Then
    assert await communicator.receive_json_from(timeout=3) == balance_message(
        12_500, 0, ("₹125.00", "₹0.00", "₹125.00")
    )
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@on_own_loop
async def test_reservations_show_in_the_reserved_balance():
    # Given
    asha, cookie = await signed_in("asha@example.com", paise=50_000)
    communicator = await connect(cookie, ORIGIN)
    await communicator.receive_json_from(timeout=2)

    # When
    wallet = await database_sync_to_async(services.wallet_ensure)(user=asha)
    await database_sync_to_async(reserve)(wallet, 20_000, key="res-1")

    # Then
    assert await communicator.receive_json_from(timeout=3) == balance_message(
        30_000, 20_000, ("₹300.00", "₹200.00", "₹500.00")
    )
    await communicator.disconnect()


@on_own_loop
async def test_low_balance_alerts_are_forwarded():
    # Given: threshold ₹100, balance ₹150
    asha, cookie = await signed_in("asha@example.com", paise=15_000)
    ravi, _ = await signed_in("ravi@example.com")
    communicator = await connect(cookie, ORIGIN)
    await communicator.receive_json_from(timeout=2)

    # When: ₹60 leaves, crossing ₹100
    await database_sync_to_async(services.wallet_transfer)(
        sender=asha, recipient=ravi, amount_paise=6_000, idempotency_key="low-1"
    )

    # Then
    messages = [
        await communicator.receive_json_from(timeout=3),
        await communicator.receive_json_from(timeout=3),
    ]
    assert sorted(messages, key=lambda m: m["type"]) == [
        balance_message(9_000, 0, ("₹90.00", "₹0.00", "₹90.00")),
        {
            "type": "low_balance",
            "balance_paise": 9_000,
            "threshold_paise": 10_000,
            "balance_display": "₹90.00",
            "threshold_display": "₹100.00",
        },
    ]
    await communicator.disconnect()


@on_own_loop
async def test_other_users_events_do_not_arrive():
    # Given
    asha, cookie = await signed_in("asha@example.com", paise=1_000)
    ravi, _ = await signed_in("ravi@example.com", paise=1_000)
    communicator = await connect(cookie, ORIGIN)
    await communicator.receive_json_from(timeout=2)

    # When
    await database_sync_to_async(broadcast_now)(
        user_group(ravi.pk), {"type": "wallet.balance", "user_id": ravi.pk}
    )

    # Then
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


@on_own_loop
async def test_ping_is_answered():
    # Given
    _user, cookie = await signed_in("asha@example.com")
    communicator = await connect(cookie, ORIGIN)
    await communicator.receive_json_from(timeout=2)

    # When
    await communicator.send_json_to({"type": "ping"})

    # Then
    assert await communicator.receive_json_from(timeout=2) == {"type": "pong"}
    await communicator.disconnect()
