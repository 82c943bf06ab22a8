"""Support: one chat engine (support conversations and user-vendor consultations),
notifications, and the records behind the operator dashboard's security panel.

A conversation's members are its customer, its vendor (consultations) and staff.
Messages are append-only; a message's `client_id` (chosen by the sending client)
is unique per sender in a conversation, so a resent message is stored once.
Read state is one monotonic mark per (conversation, user): the id of the last
message that user has seen; unread counts and read receipts derive from it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from support.storage import get_attachment_storage

# --- chat ------------------------------------------------------------------------------------


class ConversationKind(models.TextChoices):
    SUPPORT = "support", "Support"
    CONSULTATION = "consultation", "Consultation"


class ConversationStatus(models.TextChoices):
    # support conversations (Chatwoot's four states)
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    # consultations
    REQUESTED = "requested", "Requested"
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    CLOSED = "closed", "Closed"


SUPPORT_STATUSES = (
    ConversationStatus.OPEN,
    ConversationStatus.PENDING,
    ConversationStatus.SNOOZED,
    ConversationStatus.RESOLVED,
)
CONSULTATION_STATUSES = (
    ConversationStatus.REQUESTED,
    ConversationStatus.ACCEPTED,
    ConversationStatus.IN_PROGRESS,
    ConversationStatus.CLOSED,
)
# Conversations that still need someone (they count against an agent's cap).
ACTIVE_STATUSES = (
    ConversationStatus.OPEN,
    ConversationStatus.PENDING,
    ConversationStatus.REQUESTED,
    ConversationStatus.ACCEPTED,
    ConversationStatus.IN_PROGRESS,
)
FINISHED_STATUSES = (ConversationStatus.RESOLVED, ConversationStatus.CLOSED)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class AgentStatus(models.TextChoices):
    ONLINE = "online", "Online"
    BUSY = "busy", "Busy"
    OFFLINE = "offline", "Offline"


class AgentProfile(models.Model):
    """A staff member answering support chats: chosen presence and a cap for auto-assignment."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_agent"
    )
    status = models.CharField(
        max_length=10, choices=AgentStatus.choices, default=AgentStatus.OFFLINE
    )
    max_open = models.PositiveSmallIntegerField(default=5)
    last_seen_at = models.DateTimeField(null=True, blank=True)  # the console's socket pings
    last_assigned_at = models.DateTimeField(null=True, blank=True)  # round-robin order
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Agent {self.user} ({self.status})"


class ConversationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def for_member(self, user):
        """Conversations `user` may read: staff all, others their own or their consultations."""
        if user.is_staff:
            return self
        return self.filter(Q(customer=user) | Q(vendor=user))


class Conversation(models.Model):
    kind = models.CharField(max_length=12, choices=ConversationKind.choices)
    subject = models.CharField(max_length=160)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_conversations"
    )
    # Consultations: the vendor's user, the service asked about and, when the
    # service has a metered plan, that plan and its rate (snapshot) for billing.
    vendor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="consultations",
    )
    service = models.ForeignKey(
        "marketplace.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metered_plan = models.ForeignKey(
        "marketplace.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rate_paise = models.BigIntegerField(null=True, blank=True)
    rate_unit = models.CharField(max_length=10, blank=True)
    # The metered session billing the consultation while it is in progress.
    metered_session = models.ForeignKey(
        "marketplace.MeteredSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(max_length=12, choices=ConversationStatus.choices)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Denormalised for list pages: the last message's time, id and first words.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_id = models.BigIntegerField(default=0)
    last_message_preview = models.CharField(max_length=140, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # consultations: in progress since

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["status", "assignee"], name="support_conv_queue"),
            models.Index(fields=["customer", "-last_message_at"], name="support_conv_customer"),
            models.Index(fields=["vendor", "-last_message_at"], name="support_conv_vendor"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="consultation") | Q(vendor__isnull=False),
                name="support_consultation_has_vendor",
            ),
            models.CheckConstraint(
                condition=(Q(kind="support") & Q(status__in=[s.value for s in SUPPORT_STATUSES]))
                | (Q(kind="consultation") & Q(status__in=[s.value for s in CONSULTATION_STATUSES])),
                name="support_status_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_consultation(self) -> bool:
        return self.kind == ConversationKind.CONSULTATION

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def reference(self) -> str:
        return f"{'C' if self.is_consultation else 'S'}-{self.pk:05d}"


class MessageKind(models.TextChoices):
    TEXT = "text", "Message"
    NOTE = "note", "Internal note"  # staff only
    SYSTEM = "system", "Event"  # "Asha assigned this to Ravi", status changes


def _attachment_path(instance, filename: str) -> str:
    return f"{instance.conversation_id}/{uuid.uuid4().hex}/{filename[-80:]}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.TEXT)
    body = models.TextField(blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    attachment = models.FileField(
        upload_to=_attachment_path, storage=get_attachment_storage, blank=True, max_length=200
    )
    attachment_name = models.CharField(max_length=120, blank=True)
    attachment_type = models.CharField(max_length=40, blank=True)
    attachment_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="support_msg_conv")]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_id"],
                condition=~Q(client_id=""),
                name="support_msg_client_id_once",
            )
        ]

    def __str__(self) -> str:
        return f"Message #{self.pk} in conversation {self.conversation_id}"

    @property
    def is_internal(self) -> bool:
        return self.kind == MessageKind.NOTE


class ReadMark(models.Model):
    """The last message id `user` has seen in a conversation. Only ever moves forward."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_marks"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="support_read_mark_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} up to {self.last_read_id}"


class CannedReply(models.Model):
    shortcut = models.SlugField(max_length=40, unique=True)  # typed as /shortcut in the console
    title = models.CharField(max_length=80)
    body = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["shortcut"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class CsatRating(models.Model):
    """The customer's rating of a resolved conversation, counted for the agent who had it."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="rating"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="support_csat_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for conversation {self.conversation_id}"


# --- notifications ---------------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Low balance"
    TOPUP_CAPTURED = "topup_captured", "Money added"
    PURCHASE_RECEIPT = "purchase_receipt", "Purchase receipts"
    PASS_EXPIRING = "pass_expiring", "Pass expiring soon"
    PASS_EXPIRED = "pass_expired", "Pass expired"
    CASHBACK_RELEASED = "cashback_released", "Cashback released"
    REFERRAL_REWARD = "referral_reward", "Referral rewards"
    HOLD_EXPIRING = "hold_expiring", "Flash-sale hold expiring"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offers"
    FLASH_PAYMENT_RETURNED = "flash_payment_returned", "Flash-sale payment returned"
    WITHDRAWAL_APPROVED = "withdrawal_approved", "Withdrawal paid out"
    WITHDRAWAL_REJECTED = "withdrawal_rejected", "Withdrawal rejected"
    WITHDRAWAL_RETURNED = "withdrawal_returned", "Withdrawal returned by the bank"
    CHAT_REPLY = "chat_reply", "Support replies"
    CONSULTATION = "consultation", "Consultations"
    SESSION_AUTO_STOPPED = "session_auto_stopped", "Session auto-stopped"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    title = models.CharField(max_length=140)
    body = models.CharField(max_length=500, blank=True)
    url = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Set by callers that may run twice (jobs): one notification per (user, key).
    dedupe_key = models.CharField(max_length=120, blank=True)
    in_app = models.BooleanField(default=True)  # False: email only (the user's preference)
    email_wanted = models.BooleanField(default=False)
    # The email's outbox (flexpass.mail): claimed while being sent, then emailed.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "-id"], name="notif_user_recent"),
            models.Index(
                fields=["user"],
                condition=Q(read_at__isnull=True, in_app=True),
                name="notif_user_unread",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(email_wanted=True, emailed_at__isnull=True),
                name="notif_email_unsent",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notif_dedupe_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """One row per (user, kind) the user changed; kinds without a row use the defaults."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notif_pref_once_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.kind}: in_app={self.in_app} email={self.email}"


# --- security, audit ---------------------------------------------------------------


class SecurityEventKind(models.TextChoices):
    LOGIN_FAILED = "login_failed", "Failed login"
    ACCOUNT_LOCKED = "account_locked", "Account locked (too many failures)"
    LOGIN_CODE_REJECTED = "login_code_rejected", "Wrong sign-in code"
    VERIFICATION_CODE_REJECTED = "verification_code_rejected", "Wrong verification code"
    RESET_CODE_REJECTED = "reset_code_rejected", "Wrong password-reset code"
    ACCOUNT_UNLOCKED = "account_unlocked", "Account unlocked by staff"


class SecurityEvent(models.Model):
    kind = models.CharField(max_length=32, choices=SecurityEventKind.choices)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    host = models.CharField(max_length=120, blank=True)  # allauth's lockout key includes it
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="security_kind_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.email or self.ip} at {self.created_at:%Y-%m-%d %H:%M}"


class AuditLog(models.Model):
    """Who did what, when and why: every staff action taken from the dashboard or console."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=200)
    reason = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.target} by {self.actor_id}"
