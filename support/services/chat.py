"""The chat engine: conversations, messages, read marks, status, ratings.

Support conversations and user-vendor consultations share everything here;
they differ only in who the members are and which statuses they move through.

Ordering promise: a message is inserted while its conversation's row is locked,
so message ids within a conversation increase in commit order. A client that
reconnects with the last id it saw therefore gets exactly what it missed; the
`client_id` each client gives its message makes a resend land once.
Persist first, broadcast after commit (flexpass.realtime).
"""

import logging
import os
import re
from contextlib import suppress

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename

from flexpass.realtime import broadcast_on_commit
from support.errors import (
    AttachmentRefused,
    ChatRefused,
    ConversationNotFound,
    InvalidTransition,
    NotAllowed,
)
from support.models import (
    CONSULTATION_STATUSES,
    SUPPORT_STATUSES,
    Conversation,
    ConversationKind,
    ConversationStatus,
    CsatRating,
    Message,
    MessageKind,
    Notification,
    NotificationKind,
    Priority,
    ReadMark,
)
from support.payloads import conversation_payload, message_payload
from support.presence import presence_online, viewing
from support.selectors import CONVERSATION_RELATED, can_post
from support.services.notifications import (
    notifications_mark_read_where,
    notify,
    preference_for,
)

logger = logging.getLogger(__name__)

QUEUE_GROUP = "support.queue"


def chat_group(conversation_id: int) -> str:
    return f"chat.{conversation_id}"


# --- input checks ----------------------------------------------------------------------------

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# (first bytes, MIME type, extension): what a file *is*, whatever its name says.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


def _sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def attachment_check(upload) -> tuple[str, str]:
    """(content type, safe file name) of an upload, or AttachmentRefused.

    Size from the upload, type from the file's first bytes (never the name or
    the browser's claim); images must also open as images.
    """
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if not upload.size:
        raise AttachmentRefused("That file is empty.")
    if upload.size > limit:
        raise AttachmentRefused(
            f"Attachments can be at most {limit // (1024 * 1024)} MB; this one is "
            f"{upload.size / (1024 * 1024):.1f} MB."
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    sniffed = _sniff(head)
    if sniffed is None:
        raise AttachmentRefused("Only images (PNG, JPEG, GIF, WebP) and PDF files can be attached.")
    content_type, extension = sniffed
    if content_type.startswith("image/"):
        from PIL import Image

        try:
            with Image.open(upload) as image:
                image.verify()
        except Exception:
            raise AttachmentRefused("That image file is damaged.") from None
        finally:
            upload.seek(0)
    stem = os.path.splitext(os.path.basename(upload.name or "file"))[0]
    name = get_valid_filename(stem)[:60] or "file"
    return content_type, f"{name}{extension}"


def _clean_body(body) -> str:
    body = str(body or "").replace("\r\n", "\n").strip()
    if len(body) > settings.SUPPORT_MESSAGE_MAX_CHARS:
        raise ChatRefused(
            f"Messages can be at most {settings.SUPPORT_MESSAGE_MAX_CHARS} characters."
        )
    return body


def _clean_client_id(client_id) -> str:
    client_id = str(client_id or "").strip()
    if client_id and not _CLIENT_ID.match(client_id):
        raise ChatRefused("client_id must be 1-64 letters, digits, '-', '_', '.' or ':'.")
    return client_id


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 140 else text[:139] + "…"


# --- broadcasts ------------------------------------------------------------------------------


def _loaded(conversation_id: int) -> Conversation:
    return Conversation.objects.select_related(*CONVERSATION_RELATED).get(pk=conversation_id)


def _broadcast_conversation(conversation_id: int, reason: str) -> None:
    """After commit: members see the new state; staff consoles refresh their lists."""

    def send():
        from flexpass.realtime import broadcast_now

        try:
            conversation = _loaded(conversation_id)
        except Conversation.DoesNotExist:
            return
        broadcast_now(
            chat_group(conversation_id),
            {"type": "chat.conversation", "conversation": conversation_payload(conversation)},
        )

    transaction.on_commit(send, robust=True)
    _queue_changed(conversation_id, reason)


def _queue_changed(conversation_id: int, reason: str) -> None:
    broadcast_on_commit(
        QUEUE_GROUP,
        {"type": "queue.changed", "conversation": conversation_id, "reason": reason},
    )


def _system_message(conversation: Conversation, text: str, *, actor=None) -> Message:
    """An event line in the conversation ("Ravi resolved the conversation"), seen by all.

    `actor` is who caused it (None for FlexPass's own events): stored as the sender so
    the line is not unread for the person who did it.
    """
    message = Message.objects.create(
        conversation=conversation, sender=actor, kind=MessageKind.SYSTEM, body=text
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_id=message.pk)
    broadcast_on_commit(
        chat_group(conversation.pk),
        {"type": "chat.message", "message": message_payload(message, conversation)},
    )
    return message


# --- messages --------------------------------------------------------------------------------


def _existing(conversation_id: int, sender, client_id: str) -> Message | None:
    if not client_id:
        return None
    return (
        Message.objects.filter(conversation_id=conversation_id, sender=sender, client_id=client_id)
        .select_related("sender__profile", "conversation")
        .first()
    )


def message_send(
    *,
    conversation_id: int,
    sender,
    body: str = "",
    client_id: str = "",
    internal: bool = False,
    attachment=None,
) -> tuple[Message, bool]:
    """Store a message, then (after commit) send it to the conversation's sockets.

    Returns (message, created). A repeat of the same `client_id` by the same
    sender returns the first message with created=False and sends nothing.
    Raises ConversationNotFound for non-members, NotAllowed for a non-staff
    internal note, ChatRefused / AttachmentRefused for bad input.
    """
    body = _clean_body(body)
    client_id = _clean_client_id(client_id)
    content_type = file_name = ""
    if attachment is not None:
        content_type, file_name = attachment_check(attachment)
    if not body and attachment is None:
        raise ChatRefused("Write a message first.")
    first = _existing(conversation_id, sender, client_id)
    if first is not None:
        return first, False

    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related(*CONVERSATION_RELATED)
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or not can_post(user=sender, conversation=conversation):
            raise ConversationNotFound("No such conversation.")
        if internal and not sender.is_staff:
            raise NotAllowed("Only staff can write internal notes.")
        if conversation.is_consultation and conversation.status == ConversationStatus.CLOSED:
            raise ChatRefused("This consultation is closed. Start a new one to ask again.")
        first = _existing(conversation_id, sender, client_id)  # a twin that held the lock first
        if first is not None:
            return first, False

        now = timezone.now()
        message = Message(
            conversation=conversation,
            sender=sender,
            kind=MessageKind.NOTE if internal else MessageKind.TEXT,
            body=body,
            client_id=client_id,
            created_at=now,
        )
        if attachment is not None:
            message.attachment_name = file_name
            message.attachment_type = content_type
            message.attachment_size = attachment.size
            message.attachment.save(file_name, attachment, save=False)
        message.save()

        role = _role(conversation, sender)
        update = {"last_message_id": message.pk, "updated_at": now}
        changed = False
        if not internal:
            update["last_message_at"] = now
            update["last_message_preview"] = _preview(body or f"Attachment: {file_name}")
            if conversation.kind == ConversationKind.SUPPORT:
                if role == "customer" and conversation.status != ConversationStatus.OPEN:
                    # A customer writing again reopens the conversation (snoozed, pending, resolved).
                    update.update(
                        status=ConversationStatus.OPEN, snoozed_until=None, resolved_at=None
                    )
                    changed = True
                if role == "agent" and conversation.assignee_id is None:
                    update["assignee"] = sender  # replying claims an unassigned conversation
                    changed = True
        Conversation.objects.filter(pk=conversation.pk).update(**update)
        _advance_mark(conversation_id=conversation.pk, user_id=sender.pk, message_id=message.pk)

        broadcast_on_commit(
            chat_group(conversation.pk),
            {"type": "chat.message", "message": message_payload(message, conversation)},
        )
        if changed:
            _broadcast_conversation(conversation.pk, "status")
        else:
            _queue_changed(conversation.pk, "message")
        if not internal:
            _notify_other_side(conversation, message, role)
    return message, True


def _role(conversation: Conversation, user) -> str:
    if user.pk == conversation.customer_id:
        return "customer"
    if user.pk == conversation.vendor_id:
        return "vendor"
    return "agent"


def _notify_other_side(conversation: Conversation, message: Message, role: str) -> None:
    """A reply reaches the customer (and a customer's message the vendor) even when away.

    Nothing while the person has this conversation open (the chat shows it).
    One unread notification per conversation at a time: further replies before
    the person reads add nothing (no email storm). Email only when the person
    has no FlexPass page open.
    """
    if role in ("agent", "vendor"):
        recipient_id = conversation.customer_id
        kind = (
            NotificationKind.CONSULTATION
            if conversation.is_consultation
            else NotificationKind.CHAT_REPLY
        )
        who = message.sender.display_name
        title = (
            f"{who} replied to your consultation"
            if conversation.is_consultation
            else "Support replied to your message"
        )
        url = reverse("support:conversation", args=[conversation.pk])
    elif role == "customer" and conversation.is_consultation:
        recipient_id = conversation.vendor_id
        kind = NotificationKind.CONSULTATION
        title = f"New message from {conversation.customer.display_name}"
        url = reverse("support:inbox") + f"?c={conversation.pk}"
    else:
        return
    if viewing(conversation.pk, recipient_id):
        return  # they are looking at the conversation: the chat itself shows the reply
    online = presence_online(recipient_id)
    # {email_wanted} of the unread notices about this conversation: {}, {False}, ...
    unread = set(
        Notification.objects.filter(
            user_id=recipient_id,
            kind=kind,
            read_at__isnull=True,
            data__conversation=conversation.pk,
        )
        .order_by()
        .values_list("email_wanted", flat=True)
        .distinct()
    )
    # An unread notice already says so; but if it only rang the bell while they were
    # here and they have gone since, this reply is emailed (a new notice that emails),
    # for people who want these emails at all.
    if unread and (online or True in unread):
        return
    if unread and not preference_for(user_id=recipient_id, kind=kind)[1]:
        return
    body = message.body or f"Sent you a file: {message.attachment_name}"
    notify(
        user=recipient_id,
        kind=kind,
        title=title,
        body=_preview(f"{conversation.subject}: {body}"),
        url=url,
        data={"conversation": conversation.pk, "message": message.pk},
        allow_email=not online,
    )


# --- read marks ------------------------------------------------------------------------------


def _advance_mark(*, conversation_id: int, user_id: int, message_id: int) -> bool:
    """Move the user's read mark forward to message_id (never back). True if it moved."""
    mark, created = ReadMark.objects.get_or_create(
        conversation_id=conversation_id,
        user_id=user_id,
        defaults={"last_read_id": message_id},
    )
    if created:
        return True
    return bool(
        ReadMark.objects.filter(pk=mark.pk, last_read_id__lt=message_id).update(
            last_read_id=message_id, updated_at=timezone.now()
        )
    )


def conversation_read(*, conversation: Conversation, user, message_id: int) -> int:
    """`user` has seen everything up to `message_id`. Returns the read mark after the call.

    The mark only moves forward and never past the conversation's last message.
    When it moves, the other members get a read receipt and the user's chat
    notifications for this conversation are marked read.
    """
    try:
        message_id = int(message_id)
    except (TypeError, ValueError):
        raise ChatRefused("message_id must be a message id.") from None
    last = Conversation.objects.filter(pk=conversation.pk).values_list(
        "last_message_id", flat=True
    )[0]
    message_id = max(0, min(message_id, last))
    with transaction.atomic():
        moved = message_id and _advance_mark(
            conversation_id=conversation.pk, user_id=user.pk, message_id=message_id
        )
        if moved:
            broadcast_on_commit(
                chat_group(conversation.pk),
                {
                    "type": "chat.read",
                    "user_id": user.pk,
                    "role": _role(conversation, user),
                    "message_id": message_id,
                },
            )
            for kind in (NotificationKind.CHAT_REPLY, NotificationKind.CONSULTATION):
                notifications_mark_read_where(
                    user_id=user.pk, kind=kind, conversation=conversation.pk
                )
    return (
        ReadMark.objects.filter(conversation=conversation, user=user)
        .values_list("last_read_id", flat=True)
        .first()
        or 0
    )


# --- starting conversations ------------------------------------------------------------------


def _started_under(*, customer, client_id: str) -> int | None:
    """The conversation this customer already started with a first message of this
    `client_id` (a retried request, a double submit), or None.

    The customer's row is locked first, so two twins cannot both miss each other.
    """
    if not client_id:
        return None
    list(get_user_model().objects.select_for_update().filter(pk=customer.pk).values_list("pk"))
    return (
        Message.objects.filter(
            sender=customer, client_id=client_id, conversation__customer=customer
        )
        .values_list("conversation_id", flat=True)
        .first()
    )


def conversation_start(
    *, customer, subject: str, body: str, client_id: str = "", attachment=None
) -> Conversation:
    """A customer asks support something: a conversation, its first message, an agent if one is free."""
    from support.services.assignment import conversation_auto_assign

    subject = " ".join(str(subject or "").split())[:160] or _preview(_clean_body(body))[:80]
    if not subject:
        raise ChatRefused("Tell us what you need help with.")
    with transaction.atomic():
        started = _started_under(customer=customer, client_id=client_id)
        if started is not None:
            return _loaded(started)
        conversation = Conversation.objects.create(
            kind=ConversationKind.SUPPORT,
            subject=subject,
            customer=customer,
            status=ConversationStatus.OPEN,
            priority=Priority.MEDIUM,
        )
        message_send(
            conversation_id=conversation.pk,
            sender=customer,
            body=body,
            client_id=client_id,
            attachment=attachment,
        )
        conversation_auto_assign(conversation_id=conversation.pk)
        _queue_changed(conversation.pk, "new")
    return _loaded(conversation.pk)


def consultation_start(
    *, customer, service_slug: str, subject: str, body: str, client_id: str = ""
) -> Conversation:
    """A user asks a vendor about one of their live services; the vendor sees it in their inbox.

    When the service has an active per-minute metered plan, the consultation
    records it and its rate: time "in progress" is what would be billed.
    """
    from marketplace.models import MeteredUnit, PlanKind
    from marketplace.selectors import service_live

    service = service_live(slug=service_slug)
    vendor_user_id = service.vendor.user_id
    if vendor_user_id == customer.pk:
        raise ChatRefused("This is your own service.")
    metered = next(
        (
            plan
            for plan in service.plans.all()
            if plan.kind == PlanKind.METERED and plan.metered_unit == MeteredUnit.MINUTE
        ),
        None,
    )
    subject = " ".join(str(subject or "").split())[:160] or f"Question about {service.name}"
    with transaction.atomic():
        started = _started_under(customer=customer, client_id=client_id)
        if started is not None:
            return _loaded(started)
        conversation = Conversation.objects.create(
            kind=ConversationKind.CONSULTATION,
            subject=subject,
            customer=customer,
            vendor_id=vendor_user_id,
            service=service,
            metered_plan=metered,
            rate_paise=metered.metered_rate_paise if metered else None,
            rate_unit=metered.metered_unit if metered else "",
            status=ConversationStatus.REQUESTED,
        )
        message_send(
            conversation_id=conversation.pk, sender=customer, body=body, client_id=client_id
        )
        _queue_changed(conversation.pk, "new")
    return _loaded(conversation.pk)


# --- status, priority, rating ----------------------------------------------------------------

# Consultations: who may move them where.
_VENDOR_MOVES = {
    ConversationStatus.REQUESTED: {ConversationStatus.ACCEPTED, ConversationStatus.CLOSED},
    ConversationStatus.ACCEPTED: {ConversationStatus.IN_PROGRESS, ConversationStatus.CLOSED},
    ConversationStatus.IN_PROGRESS: {ConversationStatus.CLOSED},
}
_CONSULTATION_NOTICES = {
    ConversationStatus.ACCEPTED: "accepted your consultation",
    ConversationStatus.IN_PROGRESS: "started your consultation",
    ConversationStatus.CLOSED: "closed the consultation",
}


def _allowed(conversation: Conversation, user, status: str) -> bool:
    if conversation.kind == ConversationKind.SUPPORT:
        if status not in SUPPORT_STATUSES:
            return False
        if user.is_staff:
            return True
        # A customer may end their own chat.
        return user.pk == conversation.customer_id and status == ConversationStatus.RESOLVED
    if status not in CONSULTATION_STATUSES:
        return False
    if user.is_staff:
        return True
    if user.pk == conversation.vendor_id:
        return status in _VENDOR_MOVES.get(conversation.status, set())
    if user.pk == conversation.customer_id:  # the customer may cancel or end it
        return status == ConversationStatus.CLOSED and not conversation.is_finished
    return False


def conversation_set_status(
    *, conversation_id: int, acting_user, status: str, snoozed_until=None
) -> Conversation:
    """Move a conversation to `status` (with a system line saying who did it).

    A consultation on a metered plan is billed as a metered session while it is
    in progress: the session starts (reserving the first block from the
    customer's wallet, or refusing with InsufficientFunds) before the move and
    stops, settling the exact cost, when the consultation leaves "in progress".
    """
    session_id = None
    if status == ConversationStatus.IN_PROGRESS:
        session_id = _consultation_session_start(conversation_id, acting_user)
    try:
        conversation, stop_session_id = _set_status(
            conversation_id=conversation_id,
            acting_user=acting_user,
            status=status,
            snoozed_until=snoozed_until,
            session_id=session_id,
        )
    except BaseException:
        if session_id:
            _consultation_session_stop(session_id)  # the move failed: bill nothing more
        raise
    if stop_session_id:
        _consultation_session_stop(stop_session_id, acting_user=acting_user)
    return conversation


def _consultation_session_start(conversation_id: int, acting_user) -> int | None:
    """Start the customer's metered session for a consultation about to be in progress."""
    conversation = (
        Conversation.objects.select_related("metered_plan__service", "customer", "metered_session")
        .filter(pk=conversation_id, kind=ConversationKind.CONSULTATION)
        .first()
    )
    if (
        conversation is None
        or conversation.metered_plan is None
        or not _allowed(conversation, acting_user, ConversationStatus.IN_PROGRESS)
    ):
        return None
    from marketplace.services.sessions import session_start

    # The rate the customer saw when they asked for the consultation, not today's.
    terms = (
        (conversation.rate_paise, conversation.rate_unit)
        if conversation.rate_paise is not None
        else None
    )
    session = session_start(user=conversation.customer, plan=conversation.metered_plan, terms=terms)
    return session.pk


def _consultation_session_stop(session_id: int, acting_user=None) -> None:
    """Stop the consultation's meter, recorded as stopped by whoever ended it."""
    from marketplace.models import MeteredSession
    from marketplace.services.sessions import SessionStopped, session_stop

    row = MeteredSession.objects.filter(pk=session_id).values_list("vendor_id", "user_id")
    vendor_id, customer_id = row[0]
    by_customer = acting_user is not None and acting_user.pk == customer_id
    with suppress(SessionStopped):  # it may have stopped on its own (balance, no heartbeat)
        if by_customer:
            session_stop(session_id=session_id, user=acting_user)
        else:
            session_stop(session_id=session_id, vendor_id=vendor_id)


def consultation_heartbeat(*, conversation_id: int, vendor_user_id: int) -> None:
    """The vendor is still in the consultation (their chat socket pinged): keep billing.

    Without heartbeats the marketplace closes the session after
    SESSION_HEARTBEAT_TIMEOUT_SECONDS, so a vendor who leaves stops the meter.
    """
    row = (
        Conversation.objects.filter(
            pk=conversation_id,
            vendor_id=vendor_user_id,
            status=ConversationStatus.IN_PROGRESS,
            metered_session__isnull=False,
        )
        .values_list("metered_session_id", "metered_session__vendor_id")
        .first()
    )
    if row is None:
        return
    from marketplace.services.sessions import SessionStopped, session_heartbeat

    try:
        session_heartbeat(session_id=row[0], vendor_id=row[1])
    except SessionStopped:
        _meter_stopped(conversation_id)


def _meter_stopped(conversation_id: int) -> None:
    """The consultation's meter stopped on its own (the customer stopped it, their balance
    ran out): it is no longer in progress, so no time goes on unbilled. It goes back to
    accepted, and both see why; the vendor may start it again."""
    with transaction.atomic():
        paused = Conversation.objects.filter(
            pk=conversation_id, status=ConversationStatus.IN_PROGRESS
        ).update(status=ConversationStatus.ACCEPTED, updated_at=timezone.now())
        if not paused:
            return
        conversation = Conversation.objects.get(pk=conversation_id)
        _system_message(
            conversation,
            "The meter stopped, so the consultation is paused. Start it again to go on.",
        )
        _broadcast_conversation(conversation_id, "status")


def _set_status(
    *, conversation_id: int, acting_user, status: str, snoozed_until, session_id
) -> tuple[Conversation, int | None]:
    """The move itself; returns the conversation and a metered session to stop, if any."""
    now = timezone.now()
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related(*CONVERSATION_RELATED)
            .filter(pk=conversation_id)
            .first()
        )
        if conversation is None or not can_post(user=acting_user, conversation=conversation):
            raise ConversationNotFound("No such conversation.")
        if status == conversation.status:
            if session_id:
                return _loaded(conversation_id), session_id  # a twin started it already
            return conversation, None
        if not _allowed(conversation, acting_user, status):
            raise InvalidTransition(
                f"A {conversation.get_kind_display().lower()} cannot go from "
                f"{conversation.get_status_display().lower()} to "
                f"{ConversationStatus(status).label.lower() if status in ConversationStatus.values else status}."
            )
        if (
            status == ConversationStatus.SNOOZED
            and snoozed_until is not None
            and snoozed_until <= now
        ):
            raise ChatRefused("Snooze until a time in the future.")
        update = {"status": status, "updated_at": now}
        update["snoozed_until"] = snoozed_until if status == ConversationStatus.SNOOZED else None
        if status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
            update["resolved_at"] = now
        else:
            update["resolved_at"] = None
        if status == ConversationStatus.IN_PROGRESS:
            update["started_at"] = now
            if session_id:
                update["metered_session_id"] = session_id
        stop_session_id = None
        if (
            conversation.status == ConversationStatus.IN_PROGRESS
            and conversation.metered_session_id
        ):
            stop_session_id = conversation.metered_session_id
        Conversation.objects.filter(pk=conversation.pk).update(**update)
        label = ConversationStatus(status).label.lower()
        actor = acting_user.display_name
        text = {
            ConversationStatus.RESOLVED: f"{actor} marked the conversation resolved",
            ConversationStatus.OPEN: f"{actor} reopened the conversation",
            ConversationStatus.SNOOZED: f"{actor} snoozed the conversation"
            + (f" until {timezone.localtime(snoozed_until):%d %b, %H:%M}" if snoozed_until else ""),
        }.get(status, f"{actor} moved the conversation to {label}")
        _system_message(conversation, text, actor=acting_user)
        _broadcast_conversation(conversation.pk, "status")
        if conversation.is_consultation and acting_user.pk != conversation.customer_id:
            notice = _CONSULTATION_NOTICES.get(status)
            if notice:
                notify(
                    user=conversation.customer_id,
                    kind=NotificationKind.CONSULTATION,
                    title=f"{actor} {notice}",
                    body=conversation.subject,
                    url=reverse("support:conversation", args=[conversation.pk]),
                    data={"conversation": conversation.pk, "status": status},
                )
    return _loaded(conversation_id), stop_session_id


def conversation_set_priority(*, conversation_id: int, acting_user, priority: str) -> Conversation:
    if not acting_user.is_staff:
        raise NotAllowed("Only staff can change the priority.")
    if priority not in Priority.values:
        raise ChatRefused(f"Priority must be one of {', '.join(Priority.values)}.")
    with transaction.atomic():
        updated = Conversation.objects.filter(pk=conversation_id).update(
            priority=priority, updated_at=timezone.now()
        )
        if not updated:
            raise ConversationNotFound("No such conversation.")
        _broadcast_conversation(conversation_id, "priority")
    return _loaded(conversation_id)


def csat_submit(*, conversation: Conversation, user, score: int, comment: str = "") -> CsatRating:
    """The customer rates a resolved support conversation, once (1 to 5)."""
    if user.pk != conversation.customer_id:
        raise NotAllowed("Only the customer can rate this conversation.")
    if conversation.kind != ConversationKind.SUPPORT or conversation.status not in (
        ConversationStatus.RESOLVED,
    ):
        raise InvalidTransition("You can rate a conversation once it is resolved.")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ChatRefused("Rate from 1 to 5.")
    comment = " ".join(str(comment or "").split())[:500]
    with transaction.atomic():
        rating, created = CsatRating.objects.get_or_create(
            conversation=conversation,
            defaults={"agent_id": conversation.assignee_id, "score": score, "comment": comment},
        )
        if not created:
            raise InvalidTransition("You already rated this conversation. Thank you!")
        _queue_changed(conversation.pk, "rating")
    return rating
