"""Reads shared by the support pages, the API and the consumers.

`conversation_access` is the one membership check: staff see every
conversation, a customer their own, a vendor the consultations about their
services. Everyone else gets ConversationNotFound, exactly as for an id that
does not exist, so guessing ids tells nothing.
"""

from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from support.errors import ConversationNotFound
from support.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    CannedReply,
    Conversation,
    ConversationKind,
    Message,
    MessageKind,
    Notification,
    NotificationKind,
    NotificationPreference,
    ReadMark,
)

CONVERSATION_RELATED = ("customer__profile", "vendor__profile", "assignee__profile")


def conversation_access(*, user, conversation_id) -> Conversation:
    """The conversation if `user` is a member (or staff); ConversationNotFound otherwise."""
    if user is None or not user.is_authenticated:
        raise ConversationNotFound("No such conversation.")
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        raise ConversationNotFound("No such conversation.") from None
    conversation = (
        Conversation.objects.for_member(user)
        .select_related(*CONVERSATION_RELATED)
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise ConversationNotFound("No such conversation.")
    return conversation


def can_post(*, user, conversation: Conversation) -> bool:
    return user.is_staff or user.pk in (conversation.customer_id, conversation.vendor_id)


def visible_kinds(user) -> list[str]:
    """Message kinds `user` may see: internal notes are for staff only."""
    kinds = [MessageKind.TEXT, MessageKind.SYSTEM]
    if user.is_staff:
        kinds.append(MessageKind.NOTE)
    return kinds


# --- lists -----------------------------------------------------------------------------------


def with_unread(conversations: QuerySet[Conversation], *, user) -> QuerySet[Conversation]:
    """Annotate `unread`: messages others sent after `user`'s read mark (in the same query)."""
    mark = ReadMark.objects.filter(conversation=OuterRef("pk"), user=user).values("last_read_id")[
        :1
    ]
    unread = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            id__gt=OuterRef("my_last_read"),
            kind__in=visible_kinds(user),
        )
        .exclude(sender=user)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return conversations.annotate(
        my_last_read=Coalesce(Subquery(mark), Value(0), output_field=IntegerField())
    ).annotate(unread=Coalesce(Subquery(unread), Value(0), output_field=IntegerField()))


@dataclass(frozen=True)
class QueueFilters:
    view: str = "mine"  # mine | unassigned | all | consultations
    status: str = "active"  # active | open | pending | snoozed | resolved | any
    query: str = ""


def agent_queue(*, agent, filters: QueueFilters) -> QuerySet[Conversation]:
    """The console's list: support conversations (and consultations for staff), with unread."""
    conversations = Conversation.objects.select_related(*CONVERSATION_RELATED)
    if filters.view == "consultations":
        conversations = conversations.filter(kind=ConversationKind.CONSULTATION)
    else:
        conversations = conversations.filter(kind=ConversationKind.SUPPORT)
        if filters.view == "mine":
            conversations = conversations.filter(assignee=agent)
        elif filters.view == "unassigned":
            conversations = conversations.filter(assignee__isnull=True)
    if filters.status == "active":
        conversations = conversations.filter(status__in=ACTIVE_STATUSES)
    elif filters.status != "any":
        conversations = conversations.filter(status=filters.status)
    if filters.query:
        text = filters.query.strip()
        match = (
            Q(subject__icontains=text)
            | Q(customer__email__icontains=text)
            | Q(customer__profile__display_name__icontains=text)
        )
        if text.lstrip("#SsCc-").isdigit():
            match |= Q(pk=int(text.lstrip("#SsCc-")))
        conversations = conversations.filter(match)
    return with_unread(conversations, user=agent).order_by("-last_message_at", "-id")


def queue_counts(*, agent) -> dict[str, int]:
    """How many active conversations each console tab holds. One query."""
    active = Conversation.objects.filter(status__in=ACTIVE_STATUSES)
    return active.aggregate(
        mine=Count("pk", filter=Q(kind=ConversationKind.SUPPORT, assignee=agent)),
        unassigned=Count("pk", filter=Q(kind=ConversationKind.SUPPORT, assignee__isnull=True)),
        all=Count("pk", filter=Q(kind=ConversationKind.SUPPORT)),
        consultations=Count("pk", filter=Q(kind=ConversationKind.CONSULTATION)),
    )


def conversations_for_customer(*, user) -> QuerySet[Conversation]:
    return with_unread(
        Conversation.objects.filter(customer=user).select_related(*CONVERSATION_RELATED),
        user=user,
    ).order_by("-last_message_at", "-id")


def consultations_for_vendor(*, user, status: str = "active") -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(
        kind=ConversationKind.CONSULTATION, vendor=user
    ).select_related(*CONVERSATION_RELATED, "service")
    if status == "active":
        conversations = conversations.filter(status__in=ACTIVE_STATUSES)
    elif status != "any":
        conversations = conversations.filter(status=status)
    return with_unread(conversations, user=user).order_by("-last_message_at", "-id")


def customer_widget_conversation(*, user, now=None) -> Conversation | None:
    """What the widget shows: the customer's latest support conversation, unless it was
    resolved and rated, or resolved more than a day ago (then: start a new one)."""
    from datetime import timedelta

    from django.utils import timezone

    conversation = (
        Conversation.objects.filter(customer=user, kind=ConversationKind.SUPPORT)
        .select_related(*CONVERSATION_RELATED, "rating")
        .order_by("-last_message_at", "-id")
        .first()
    )
    if conversation is None or conversation.status != "resolved":
        return conversation
    now = now or timezone.now()
    rated = hasattr(conversation, "rating")
    if rated or (conversation.resolved_at and conversation.resolved_at < now - timedelta(days=1)):
        return None
    return conversation


def support_unread_for_customer(*, user) -> int:
    """Unread messages across the customer's conversations (the widget's badge). One query."""
    conversations = with_unread(Conversation.objects.filter(customer=user), user=user)
    return sum(conversations.values_list("unread", flat=True))


# --- messages --------------------------------------------------------------------------------


def messages_after(
    *, conversation: Conversation, user, after_id: int = 0, limit: int | None = None
) -> tuple[list[Message], bool]:
    """Messages `user` may see with id > after_id, oldest first; and whether more follow."""
    limit = max(1, min(limit or settings.SUPPORT_HISTORY_LIMIT, settings.SUPPORT_HISTORY_LIMIT))
    rows = list(
        Message.objects.filter(
            conversation=conversation,
            id__gt=max(int(after_id or 0), 0),
            kind__in=visible_kinds(user),
        )
        .select_related("sender__profile")
        .order_by("id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def messages_latest(
    *, conversation: Conversation, user, before_id: int | None = None, limit: int = 50
) -> tuple[list[Message], bool]:
    """The newest `limit` messages (before `before_id`, if given), oldest first, and
    whether older ones exist: the page's first screen, and "show earlier" after it."""
    limit = max(1, min(limit, settings.SUPPORT_HISTORY_LIMIT))
    messages = Message.objects.filter(conversation=conversation, kind__in=visible_kinds(user))
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    rows = list(messages.select_related("sender__profile").order_by("-id")[: limit + 1])
    return list(reversed(rows[:limit])), len(rows) > limit


def read_marks(*, conversation: Conversation) -> dict[int, int]:
    """{user_id: last_read_id} for everyone who has read the conversation."""
    return dict(
        ReadMark.objects.filter(conversation=conversation).values_list("user_id", "last_read_id")
    )


def read_state(*, conversation: Conversation) -> dict:
    """What read receipts need: how far the customer side and the answering side have read."""
    marks = read_marks(conversation=conversation)
    customer = marks.get(conversation.customer_id, 0)
    if conversation.vendor_id:
        answering = marks.get(conversation.vendor_id, 0)
    else:
        staff_marks = [
            last for user_id, last in marks.items() if user_id != conversation.customer_id
        ]
        answering = max(staff_marks, default=0)
    return {"customer": customer, "team": answering}


def canned_replies() -> list[CannedReply]:
    return list(CannedReply.objects.order_by("shortcut"))


def agents_with_load() -> list[AgentProfile]:
    """Every agent with `open_count` (active support conversations assigned). One query."""
    return list(
        AgentProfile.objects.filter(user__is_staff=True, user__is_active=True)
        .select_related("user__profile")
        .annotate(
            open_count=Count(
                "user__assigned_conversations",
                filter=Q(
                    user__assigned_conversations__status__in=ACTIVE_STATUSES,
                    user__assigned_conversations__kind=ConversationKind.SUPPORT,
                ),
            )
        )
        .order_by("user__profile__display_name", "user__email")
    )


# --- notifications ---------------------------------------------------------------------------


def notifications_for_user(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user=user, in_app=True).order_by("-id")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def _unread_key(user_id: int, generation) -> str:
    return f"notif:unread:{user_id}:{generation}"


def notifications_unread_counts(*, user_id: int) -> dict[str, int]:
    """{"all": unread in-app notifications, "chat": of which support replies}: the bell and
    the chat launcher. Cached per user generation (moved on after every change commits):
    no query when cached, one when not."""
    try:
        generation = cache.get(f"notif:gen:{user_id}", 0)
        cached = cache.get(_unread_key(user_id, generation))
    except Exception:
        generation, cached = None, None
    if cached is not None:
        return cached
    counts = Notification.objects.filter(
        user_id=user_id, read_at__isnull=True, in_app=True
    ).aggregate(all=Count("pk"), chat=Count("pk", filter=Q(kind=NotificationKind.CHAT_REPLY)))
    if generation is not None:
        with suppress(Exception):
            cache.set(
                _unread_key(user_id, generation),
                counts,
                timeout=settings.NOTIFICATIONS_UNREAD_CACHE_SECONDS,
            )
    return counts


def notifications_unread_count(*, user_id: int) -> int:
    """The bell's number."""
    return notifications_unread_counts(user_id=user_id)["all"]


def notification_preferences(*, user) -> list[dict]:
    """Every kind with the user's (or the default) channels, for the settings page and API."""
    from support.services.notifications import KIND_DEFAULTS

    saved = {row.kind: row for row in NotificationPreference.objects.filter(user=user)}
    rows = []
    for kind, defaults in KIND_DEFAULTS.items():
        row = saved.get(kind)
        rows.append(
            {
                "kind": str(kind),
                "label": kind.label,
                "help": defaults.help,
                "in_app": row.in_app if row else defaults.in_app,
                "email": row.email if row else defaults.email,
            }
        )
    return rows
