"""Live stock over WebSockets: one group per sale (`sale.<id>`), coalesced per item.

A storm of holds changes an item's stock hundreds of times a second; browsers
need a few updates a second. After each change commits, `stock_changed` claims
"an update for this item is scheduled" (a cache key, shared by all web
processes) and, if it won the claim, schedules one send on the server's event
loop FLASH_BROADCAST_INTERVAL_SECONDS later. The send drops the claim first and
then reads the stock, so it carries the number current at send time: changes
skipped while the claim stood are included, and a change that lands after the
read finds the claim gone and schedules the next send. A skipped intermediate
number can never leave a stale bar.

Outside a server loop (tests, management commands, a Celery worker) there is
nothing to schedule on, so the update is sent at once; the expiry job batches
its updates with `batched()` (one per item per run). If the cache is
unreachable, claims fall back to this process's memory. Broadcasts are
best-effort: a page that missed one still shows the right stock on reload and
gets a fresh snapshot whenever its socket (re)connects.
"""

import asyncio
import contextvars
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from flexpass import redis_guard
from flexpass.realtime import broadcast_now, broadcast_on_commit, later_loop

logger = logging.getLogger(__name__)

_local_claims: set[int] = set()
_local_lock = threading.Lock()
_batch = threading.local()


def sale_group(sale_id: int) -> str:
    return f"sale.{sale_id}"


def user_group(user_id: int) -> str:
    """Flash-sale news for one person (waitlist offers). Not `user.<id>`: other apps own that."""
    return f"flash.user.{user_id}"


def stock_event(row: dict) -> dict:
    return {"type": "flash.stock", "item": row}


def stock_changed(*, item_id: int, sale_id: int) -> None:
    """An item's stock changed in the current transaction: update watchers after commit."""
    transaction.on_commit(lambda: _changed(item_id, sale_id))


@contextmanager
def batched() -> Iterator[None]:
    """Collect stock changes made inside the block; send one update per item at the end."""
    outer = getattr(_batch, "items", None)
    if outer is not None:
        yield
        return
    _batch.items = set()
    try:
        yield
    finally:
        items, _batch.items = _batch.items, None
        for item_id, sale_id in sorted(items):
            send_stock(item_id=item_id, sale_id=sale_id)


def send_stock(*, item_id: int, sale_id: int) -> None:
    """Send the item's current stock to its sale's group now."""
    from flashsale import selectors

    row = selectors.item_stock_row(item_id)
    if row is not None:
        broadcast_now(sale_group(sale_id), stock_event(row))


def offer_on_commit(*, user_id: int, payload: dict) -> None:
    broadcast_on_commit(user_group(user_id), {"type": "flash.offer", **payload})


# --- coalescing -----------------------------------------------------------------------------


def _changed(item_id: int, sale_id: int) -> None:
    pending = getattr(_batch, "items", None)
    if pending is not None:
        pending.add((item_id, sale_id))
        return
    loop = _server_loop()
    if loop is None:
        send_stock(item_id=item_id, sale_id=sale_id)
        return
    if not _claim(item_id):
        return  # a send is already scheduled; it will read the stock we just committed
    loop.call_soon_threadsafe(_send_later, loop, item_id, sale_id, context=contextvars.Context())


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop to schedule the send on when this runs in a web request: the ASGI
    server's (embedded mode) or this process's sender loop (full mode's request threads,
    flexpass.asgi); None outside requests."""
    local = SyncToAsync.threadlocal
    loop = getattr(local, "main_event_loop", None)
    if loop is None or getattr(local, "main_event_loop_pid", None) != os.getpid():
        return later_loop()
    if loop.is_closed() or not loop.is_running():
        return None
    return loop


def _claim_key(item_id: int) -> str:
    return f"flash:live:{item_id}"


def _claim(item_id: int) -> bool:
    # Outlives the delay; if the process dies before sending, the claim still lapses.
    ttl = max(2.0, settings.FLASH_BROADCAST_INTERVAL_SECONDS * 5)
    if not redis_guard.is_down():
        try:
            return bool(cache.add(_claim_key(item_id), 1, timeout=ttl))
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.mark_down(exc)
    with _local_lock:
        if item_id in _local_claims:
            return False
        _local_claims.add(item_id)
        return True


def _unclaim(item_id: int) -> None:
    with _local_lock:
        _local_claims.discard(item_id)
    if not redis_guard.is_down():
        try:
            cache.delete(_claim_key(item_id))
        except redis_guard.REDIS_ERRORS as exc:
            redis_guard.mark_down(exc)


def _send_later(loop, item_id: int, sale_id: int) -> None:
    loop.call_later(
        settings.FLASH_BROADCAST_INTERVAL_SECONDS,
        lambda: loop.create_task(_send_async(item_id, sale_id)),
    )


def _unclaim_and_read(item_id: int) -> dict | None:
    from flashsale import selectors

    _unclaim(item_id)  # first: a change committed after the read below schedules a new send
    try:
        return selectors.item_stock_row(item_id)
    finally:
        connection.close()  # a pool thread outside any request: do not keep a connection


async def _send_async(item_id: int, sale_id: int) -> None:
    try:
        row = await sync_to_async(_unclaim_and_read, thread_sensitive=False)(item_id)
        layer = get_channel_layer()
        if row is not None and layer is not None:
            await layer.group_send(sale_group(sale_id), stock_event(row))
    except Exception:  # best-effort: the next change or a reconnect brings the bar back
        logger.warning("live stock update for item %s failed", item_id, exc_info=True)
