"""The one way sync code talks to browsers: group sends after the transaction commits."""

import asyncio
import logging
import os
import threading
import weakref

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5


def broadcast_now(group: str, event: dict) -> None:
    _send_all([(group, event)])


def _send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send():
        for group, event in messages:
            await layer.group_send(group, event)

    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Embedded mode: the groups live in the server's own event loop, and
            # asgiref's hop (this request runs in one of its threads) is the way in.
            async_to_sync(send)()
        else:
            # Full mode: requests run in plain worker threads (flexpass.asgi), where
            # async_to_sync would build an event loop, and a Redis connection, per call.
            asyncio.run_coroutine_threadsafe(send(), _sender_loop()).result(
                timeout=SEND_TIMEOUT_SECONDS
            )
    except Exception:  # a live update is best-effort; the page can always reload
        logger.warning("broadcast to %s failed", [group for group, _ in messages], exc_info=True)


_sender = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_threads = threading.local()


def request_thread_mark() -> None:
    """flexpass.asgi calls this in the threads that run web requests: work that waits
    for later (coalesced live stock, flashsale.live) may be scheduled on this process's
    sender loop from them."""
    _threads.serving = True


def later_loop() -> asyncio.AbstractEventLoop | None:
    """The loop to schedule a later send on from a web request thread; None elsewhere
    (tests, jobs, commands), where there is nothing to wait for and sends go at once."""
    return _sender_loop() if getattr(_threads, "serving", False) else None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for channel-layer sends, on a daemon thread of its own:
    the Redis layer's connections stay open on it between broadcasts."""
    global _loop, _loop_pid
    with _sender:
        # A forked child (a Celery prefork worker, a test server) inherits the parent's
        # loop object but not its thread: it starts its own.
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            loop.call_soon(started.set)
            threading.Thread(
                target=loop.run_forever, name="flexpass-broadcasts", daemon=True
            ).start()
            started.wait()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


class _Batch:
    """The broadcasts of one transaction, sent together by a single on_commit callback."""

    def __init__(self):
        self.messages: list[tuple[str, dict]] = []

    def __call__(self) -> None:
        _send_all(self.messages)


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` ({"type": "x.y", ...}) to `group` once the current transaction commits."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        broadcast_now(group, event)
        return
    # One batch per savepoint level, so a rolled-back savepoint drops its own messages.
    batches = connection.__dict__.setdefault("_flexpass_broadcasts", {})
    level = tuple(connection.savepoint_ids)
    batch = batches.get(level)
    # The batch's callback is gone once its transaction or savepoint ended: start another.
    if batch is None or not any(func is batch for _, func, _ in connection.run_on_commit):
        batch = batches[level] = _Batch()
        transaction.on_commit(batch)
    batch.messages.append((group, event))


# --- sockets that must resync after the layer lost Redis (flexpass.layer_reconnect) ---------

RESYNC_CLOSE_CODE = 1012  # "service restart": every client reconnects at once
_sockets: "weakref.WeakSet" = weakref.WeakSet()
_closing: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


class Resyncing:
    """Mixin for every WebSocket consumer (first in the bases): the socket is closed
    with 1012 when this process's channel-layer subscription reconnects to Redis, so
    the browser reconnects and gets what it missed in its consumer's connect snapshot."""

    async def websocket_connect(self, message):
        self.resync_loop = asyncio.get_running_loop()
        _sockets.add(self)
        await super().websocket_connect(message)

    async def websocket_disconnect(self, message):
        _sockets.discard(self)
        await super().websocket_disconnect(message)


def sockets_resync() -> int:
    """Close this event loop's sockets (see Resyncing); returns how many."""
    loop = asyncio.get_running_loop()
    closing = [socket for socket in list(_sockets) if socket.resync_loop is loop]
    for socket in closing:
        _sockets.discard(socket)
        task = loop.create_task(socket.close(code=RESYNC_CLOSE_CODE))
        _closing.add(task)
        task.add_done_callback(_closing.discard)
    if closing:
        logger.warning(
            "channel layer reconnected to Redis: %d sockets closed to resync", len(closing)
        )
    return len(closing)


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
