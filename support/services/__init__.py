"""Support's writes, one function per use case. Other apps call `notify(...)` from here.

from support.services import notify
notify(user=buyer, kind="purchase_receipt", title="...", body="...", url="/orders/12/")
"""

from support.services.assignment import (
    agent_profile_ensure,
    agent_set_status,
    agent_touch,
    conversation_assign,
    conversation_auto_assign,
    conversations_assign_backlog,
    conversations_wake_snoozed,
)
from support.services.chat import (
    attachment_check,
    chat_group,
    consultation_heartbeat,
    consultation_start,
    conversation_read,
    conversation_set_priority,
    conversation_set_status,
    conversation_start,
    csat_submit,
    message_send,
)
from support.services.notifications import (
    KIND_DEFAULTS,
    notification_delete,
    notification_email_deliver,
    notification_mark_read,
    notifications_mark_all_read,
    notify,
    preferences_update,
)

__all__ = [
    "KIND_DEFAULTS",
    "agent_profile_ensure",
    "agent_set_status",
    "agent_touch",
    "attachment_check",
    "chat_group",
    "consultation_heartbeat",
    "consultation_start",
    "conversation_assign",
    "conversation_auto_assign",
    "conversation_read",
    "conversation_set_priority",
    "conversation_set_status",
    "conversation_start",
    "conversations_assign_backlog",
    "conversations_wake_snoozed",
    "csat_submit",
    "message_send",
    "notification_delete",
    "notification_email_deliver",
    "notification_mark_read",
    "notifications_mark_all_read",
    "notify",
    "preferences_update",
]
