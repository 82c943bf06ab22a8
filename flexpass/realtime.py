"""The one way sync code talks to browsers: group sends after the transaction commits."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


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
        async_to_sync(send)()  # one hop to the event loop for the lot, not one per message
    except Exception:  # a live update is best-effort; the page can always reload
        logger.warning("broadcast to %s failed", [group for group, _ in messages], exc_info=True)


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


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
