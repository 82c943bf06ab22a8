"""Support's domain errors (flexpass.errors hierarchy: mapped once for the API and pages)."""

from flexpass.errors import DomainError, NotFound


class ConversationNotFound(NotFound):
    """Also what someone gets for a conversation that exists but is not theirs."""

    code = "conversation_not_found"
    title = "Conversation not found"


class ChatRefused(DomainError):
    code = "chat_refused"
    title = "Message not sent"


class NotAllowed(DomainError):
    status_code = 403
    code = "not_allowed"
    title = "Not allowed"


class AttachmentRefused(DomainError):
    code = "attachment_refused"
    title = "Attachment refused"


class InvalidTransition(DomainError):
    status_code = 409
    code = "invalid_transition"
    title = "Not possible in this state"
