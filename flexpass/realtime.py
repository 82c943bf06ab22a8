"""The one way sync code talks to browsers: group sends after the transaction commits."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def broadcast_now(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # a live update is best-effort; the page can always reload
        logger.warning("broadcast to %s failed", group, exc_info=True)


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` ({"type": "x.y", ...}) to `group` once the current transaction commits."""
    transaction.on_commit(lambda: broadcast_now(group, event))


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
