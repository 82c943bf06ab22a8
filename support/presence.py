"""Is someone looking at FlexPass right now? A cache key refreshed by their open sockets.

Every signed-in page keeps the notifications socket open, which pings every
25 seconds; the key lives 60 seconds, so a closed tab counts as away within a
minute. The chat uses it to decide whether a reply also goes out by email.
"""

import time
from contextlib import suppress

from django.core.cache import cache

PRESENCE_TTL_SECONDS = 60


def _key(user_id: int) -> str:
    return f"presence:{user_id}"


def presence_touch(user_id: int) -> None:
    with suppress(Exception):  # presence is a hint; losing it means one extra email at most
        cache.set(_key(user_id), time.time(), timeout=PRESENCE_TTL_SECONDS)


def presence_online(user_id: int) -> bool:
    try:
        return cache.get(_key(user_id)) is not None
    except Exception:
        return False


def _viewing_key(conversation_id: int, user_id: int) -> str:
    return f"viewing:{conversation_id}:{user_id}"


def viewing_touch(conversation_id: int, user_id: int) -> None:
    """`user_id` has this conversation open (a chat socket): replies need no notification."""
    with suppress(Exception):
        cache.set(_viewing_key(conversation_id, user_id), 1, timeout=PRESENCE_TTL_SECONDS)


def viewing_clear(conversation_id: int, user_id: int) -> None:
    with suppress(Exception):
        cache.delete(_viewing_key(conversation_id, user_id))


def viewing(conversation_id: int, user_id: int) -> bool:
    try:
        return cache.get(_viewing_key(conversation_id, user_id)) is not None
    except Exception:
        return False
