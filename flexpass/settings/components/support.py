"""Support chat, consultations, notifications and the operator dashboard.

Values from the environment; the defaults are the product's promises. The
support app's periodic jobs join the beat schedule here so the app stays
self-contained (like flashsale and marketplace).
"""

from datetime import timedelta
from pathlib import Path

import environ

from .celery import CELERY_BEAT_SCHEDULE

env = environ.Env()
_base_dir = Path(__file__).resolve().parents[3]

# Chat attachments: images and PDFs only (checked by their first bytes, not by
# what the browser claims), at most this big. They are stored outside
# MEDIA_ROOT (which is served publicly) and only served to the conversation's
# members, through a view that checks membership.
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
SUPPORT_ATTACHMENTS_ROOT = env.str(
    "SUPPORT_ATTACHMENTS_ROOT", default=str(_base_dir / "var" / "private" / "support")
)
SUPPORT_MESSAGE_MAX_CHARS = env.int("SUPPORT_MESSAGE_MAX_CHARS", default=4000)
# Round-robin auto-assignment: an agent takes at most this many open
# conversations, and only while Online and seen within the presence window.
SUPPORT_AGENT_DEFAULT_CAP = env.int("SUPPORT_AGENT_DEFAULT_CAP", default=5)
SUPPORT_PRESENCE_SECONDS = env.int("SUPPORT_PRESENCE_SECONDS", default=90)
# History sent on open / catch-up after a reconnect, at most this many messages per frame.
SUPPORT_HISTORY_LIMIT = env.int("SUPPORT_HISTORY_LIMIT", default=100)
# A socket may send at most this many chat messages per 10 seconds.
SUPPORT_SOCKET_MESSAGES_PER_10S = env.int("SUPPORT_SOCKET_MESSAGES_PER_10S", default=20)

# Notifications: how long the bell's unread count may be served from the cache
# (it is also invalidated after every change commits).
NOTIFICATIONS_UNREAD_CACHE_SECONDS = env.int("NOTIFICATIONS_UNREAD_CACHE_SECONDS", default=300)
# Flash-sale holds get a "hold expiring" notice this many seconds before they end.
NOTIFY_HOLD_EXPIRING_SECONDS = env.int("NOTIFY_HOLD_EXPIRING_SECONDS", default=45)
# Expired passes older than this are not announced (a fresh deploy must not flood people).
NOTIFY_PASS_EXPIRED_LOOKBACK_HOURS = env.int("NOTIFY_PASS_EXPIRED_LOOKBACK_HOURS", default=24)

# Operator dashboard: a user is "active now" after a request or an open socket
# within this window; the page refreshes itself this often.
ACTIVITY_WINDOW_SECONDS = env.int("ACTIVITY_WINDOW_SECONDS", default=300)
DASHBOARD_REFRESH_SECONDS = env.int("DASHBOARD_REFRESH_SECONDS", default=20)

CELERY_BEAT_SCHEDULE.update(
    {
        # Deliver what other apps recorded for later (wallet low-balance alerts,
        # expired passes, holds about to expire) as notifications. Idempotent.
        "support-notifications-sweep": {
            "task": "support.tasks.notifications_sweep",
            "schedule": timedelta(seconds=15),
        },
        # Wake snoozed conversations and hand unassigned ones to available agents.
        "support-conversations-tick": {
            "task": "support.tasks.conversations_tick",
            "schedule": timedelta(seconds=60),
        },
    }
)

# OpenAPI: name support's enums instead of letting them collide with other "status"/"kind"s.
from .drf import SPECTACULAR_SETTINGS  # noqa: E402

SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ConversationKindEnum": "support.models.ConversationKind",
        "ConversationStatusEnum": "support.models.ConversationStatus",
        "ConversationPriorityEnum": "support.models.Priority",
        "AgentStatusEnum": "support.models.AgentStatus",
        "NotificationKindEnum": "support.models.NotificationKind",
        "MessageSenderRoleEnum": ["customer", "vendor", "agent", "member", "system"],
    }
)
