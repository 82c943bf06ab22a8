"""ws/flash/<sale_id>/: a snapshot on connect, then coalesced stock updates after commits."""

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import close_old_connections, connection

from flashsale import selectors, services
from flashsale.live import batched
from flashsale.models import SaleStatus
from flashsale.tests.factories import FlashSaleFactory, UserFactory, item_make
from flexpass import realtime
from flexpass.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://testserver")]


async def connect(sale_id):
    communicator = WebsocketCommunicator(application, f"/ws/flash/{sale_id}/", headers=ORIGIN)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def stock_messages(communicator, until: float, last_available: int) -> list[dict]:
    """Messages until one shows `last_available` (then 0.5 s more), or until `until`.

    receive_nothing never cancels the application the way a receive timeout does.
    """
    messages = []
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        if await communicator.receive_nothing(timeout=0.1, interval=0.02):
            continue
        messages.append(await communicator.receive_json_from(timeout=1))
        if messages[-1]["item"]["available"] == last_available:
            until = min(until, loop.time() + 0.5)
    return messages


async def test_a_hold_broadcasts_the_new_stock_to_watchers():
    # given someone watching a sale with a 10-unit item
    item = await database_sync_to_async(item_make)(total=10)
    buyer = await database_sync_to_async(UserFactory)()
    communicator, connected, _ = await connect(item.sale_id)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot == {
        "type": "snapshot",
        "sale_id": item.sale_id,
        "items": [
            {"id": item.pk, "available": 10, "total": 10, "percent": 100, "state": "in_stock"}
        ],
    }

    # when a buyer holds 2
    await database_sync_to_async(services.hold_create)(user=buyer, item_id=item.pk, quantity=2)

    # then the watcher gets the new stock
    message = await communicator.receive_json_from(timeout=5)
    assert message == {
        "type": "stock",
        "item": {"id": item.pk, "available": 8, "total": 10, "percent": 80, "state": "in_stock"},
    }
    await communicator.disconnect()


async def storm_of_25_holds(settings, hold_one) -> tuple[list[dict], float]:
    """With updates at most every 0.3 s, 25 buyers hold one unit each of a 40-unit item,
    one after the other, through `hold_one(buyer, item)`. Returns the stock messages a
    watcher received and how long the holds took."""
    settings.FLASH_BROADCAST_INTERVAL_SECONDS = 0.3
    item = await database_sync_to_async(item_make)(total=40, per_user_limit=1)
    buyers = await database_sync_to_async(UserFactory.create_batch)(25)
    communicator, _, _ = await connect(item.sale_id)
    await communicator.receive_json_from(timeout=5)  # snapshot
    loop = asyncio.get_running_loop()
    started = loop.time()
    for buyer in buyers:
        await hold_one(buyer, item)
    elapsed = loop.time() - started
    messages = await stock_messages(communicator, until=loop.time() + 3, last_available=15)
    await communicator.disconnect()
    return messages, elapsed


def assert_coalesced(messages: list[dict], elapsed: float) -> None:
    """A few updates (at most one per 0.3 s, not one per hold), the last showing all 25."""
    assert 1 <= len(messages) <= elapsed / 0.3 + 3
    assert len(messages) < 25
    assert messages[-1]["item"]["available"] == 15


async def test_a_storm_of_holds_is_coalesced_and_the_last_update_is_current(settings):
    async def hold_one(buyer, item):  # as fast as the database allows
        await database_sync_to_async(services.hold_create)(user=buyer, item_id=item.pk, quantity=1)

    assert_coalesced(*await storm_of_25_holds(settings, hold_one))


async def test_holds_made_in_full_mode_request_threads_are_coalesced_too(settings):
    # the full-mode web server runs requests in plain threads (flexpass.asgi): no asgiref loop
    def hold_in_a_request_thread(buyer, item):
        def request():
            realtime.request_thread_mark()
            try:
                services.hold_create(user=buyer, item_id=item.pk, quantity=1)
            finally:
                connection.close()

        thread = threading.Thread(target=request)
        thread.start()
        thread.join()

    async def hold_one(buyer, item):
        await asyncio.to_thread(hold_in_a_request_thread, buyer, item)

    assert_coalesced(*await storm_of_25_holds(settings, hold_one))


async def test_unknown_and_draft_sales_are_refused():
    draft = await database_sync_to_async(FlashSaleFactory)(status=SaleStatus.DRAFT)

    for sale_id in (draft.pk, 999_999):
        communicator, connected, code = await connect(sale_id)
        assert (connected, code) == (False, 4404)
        await communicator.disconnect()
    # The refused consumers' database thread keeps its last connection until its next
    # call; close it so the test database can be dropped at the end of the run.
    await database_sync_to_async(close_old_connections)()


def _kill_layer_subscribers() -> int:
    """Drop this test run's channel-layer subscriber connections, as a Redis restart
    or a network cut would (only ours: the name carries this run's prefix)."""
    import redis
    from django.conf import settings

    layer = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    name = layer["hosts"][0]["client_name"]
    client = redis.Redis.from_url(layer["hosts"][0]["address"])
    killed = 0
    for entry in client.client_list(_type="pubsub"):
        if entry.get("name") == name:
            killed += client.client_kill_filter(_id=entry["id"])
    client.close()
    return killed


async def test_watchers_reconnect_for_a_fresh_snapshot_when_the_layer_lost_redis():
    # given someone watching a sale
    item = await database_sync_to_async(item_make)(total=10)
    communicator, connected, _ = await connect(item.sale_id)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot

    # when the layer's subscription to Redis drops, and a hold happens meanwhile
    assert await asyncio.to_thread(_kill_layer_subscribers) >= 1
    buyer = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(services.hold_create)(user=buyer, item_id=item.pk, quantity=2)

    # then the socket is closed with 1012 (the browser reconnects at once)...
    closed = await communicator.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": realtime.RESYNC_CLOSE_CODE}
    # ...and the new socket's snapshot has the stock it would have missed
    again, connected, _ = await connect(item.sale_id)
    assert connected
    snapshot = await again.receive_json_from(timeout=5)
    assert snapshot["items"][0]["available"] == 8
    await again.disconnect()


async def test_a_change_while_a_watcher_connects_is_not_lost(monkeypatch):
    # given a sale whose stock changes just as a new watcher reads its snapshot
    item = await database_sync_to_async(item_make)(total=10)
    buyer = await database_sync_to_async(UserFactory)()
    read = selectors.sale_stock_rows

    def read_then_someone_holds(sale_id):
        rows = read(sale_id)
        monkeypatch.setattr(selectors, "sale_stock_rows", read)  # once
        with batched():  # sent at once, as the expiry job sends: no delayed resend
            services.hold_create(user=buyer, item_id=item.pk, quantity=2)
        return rows

    monkeypatch.setattr(selectors, "sale_stock_rows", read_then_someone_holds)

    # when the watcher connects
    communicator, connected, _ = await connect(item.sale_id)

    # then the snapshot (taken before the hold) is followed by the hold's update
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["items"][0]["available"] == 10
    update = await communicator.receive_json_from(timeout=5)
    assert (update["type"], update["item"]["available"]) == ("stock", 8)
    await communicator.disconnect()
