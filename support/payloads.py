"""The JSON shapes of chat objects, shared by the sockets, the API and broadcasts."""

from django.urls import reverse

from support.models import Conversation, Message, MessageKind


def sender_role(conversation: Conversation, sender_id: int | None, sender_is_staff: bool) -> str:
    if sender_id is None:
        return "system"
    if sender_id == conversation.customer_id:
        return "customer"
    if sender_id == conversation.vendor_id:
        return "vendor"
    return "agent" if sender_is_staff else "member"


def message_payload(message: Message, conversation: Conversation | None = None) -> dict:
    """A message as every client sees it. `sender` should be loaded with its profile."""
    conversation = conversation or message.conversation
    # An event line speaks for FlexPass; its stored sender is only who caused it.
    sender = None if message.kind == MessageKind.SYSTEM else message.sender
    attachment = None
    if message.attachment:
        attachment = {
            "name": message.attachment_name,
            "type": message.attachment_type,
            "size": message.attachment_size,
            "is_image": message.attachment_type.startswith("image/"),
            "url": reverse("support:attachment", args=[message.pk]),
        }
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "client_id": message.client_id,
        "kind": message.kind,
        "internal": message.kind == MessageKind.NOTE,
        "body": message.body,
        "sender": {
            "id": sender.pk if sender else None,
            "name": sender.display_name if sender else "FlexPass",
            "role": sender_role(
                conversation, sender.pk if sender else None, bool(sender and sender.is_staff)
            ),
        },
        "attachment": attachment,
        "created_at": message.created_at.isoformat(),
    }


def conversation_payload(conversation: Conversation) -> dict:
    """Status and people of a conversation (assignee/customer/vendor loaded with profiles)."""
    assignee = conversation.assignee
    return {
        "id": conversation.pk,
        "reference": conversation.reference,
        "kind": conversation.kind,
        "subject": conversation.subject,
        "status": conversation.status,
        "status_display": conversation.get_status_display(),
        "priority": conversation.priority,
        "priority_display": conversation.get_priority_display(),
        "customer": {"id": conversation.customer_id, "name": conversation.customer.display_name},
        "vendor": (
            {"id": conversation.vendor_id, "name": conversation.vendor.display_name}
            if conversation.vendor_id
            else None
        ),
        "assignee": {"id": assignee.pk, "name": assignee.display_name} if assignee else None,
        "snoozed_until": conversation.snoozed_until.isoformat()
        if conversation.snoozed_until
        else None,
        "rate_paise": conversation.rate_paise,
        "rate_unit": conversation.rate_unit,
        "last_message_id": conversation.last_message_id,
        "last_message_at": conversation.last_message_at.isoformat(),
        "created_at": conversation.created_at.isoformat(),
    }
