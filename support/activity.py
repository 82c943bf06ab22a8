"""Who is active: a request or an open socket within ACTIVITY_WINDOW_SECONDS.

`activity_touch(user_id)` is called by every page that draws the top bar, by
every API request (through `ActivityRecorder`, a throttle that never throttles)
and by sockets when they connect and ping. A cache key lets through one database
write per user per minute, so a busy user costs one cache round trip per request.
"""

import logging

from django.core.cache import cache
from django.db import DatabaseError
from django.utils import timezone

logger = logging.getLogger(__name__)
_THROTTLE_SECONDS = 60


def _hour(now):
    return now.replace(minute=0, second=0, microsecond=0)


def activity_touch(user_id: int | None, *, now=None) -> bool:
    """Record that `user_id` is active now. Returns True when it wrote to the database."""
    if not user_id:
        return False
    try:
        if not cache.add(f"activity:seen:{user_id}", 1, timeout=_THROTTLE_SECONDS):
            return False
    except Exception:  # the cache being down must not break a page
        return False
    from support.models import ActivityHour, UserActivity

    now = now or timezone.now()
    try:
        UserActivity.objects.update_or_create(user_id=user_id, defaults={"last_seen_at": now})
        ActivityHour.objects.bulk_create(
            [ActivityHour(user_id=user_id, hour=_hour(now))], ignore_conflicts=True
        )
    except DatabaseError:
        logger.warning("could not record activity of user %s", user_id, exc_info=True)
        return False
    return True


class ActivityRecorder:
    """A DRF throttle class that never throttles: it records API activity.

    DRF runs every DEFAULT_THROTTLE_CLASSES entry with the authenticated user on
    every API request, which makes it the one hook on the API that needs no
    middleware (see flexpass/settings/components/support.py).
    """

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            activity_touch(user.pk)
        return True

    def wait(self):
        return None
