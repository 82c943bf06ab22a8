"""Money in (top-ups through a payment gateway) and money out (withdrawals).

A TopUp mirrors one gateway order. Its status only moves forward through
conditional UPDATEs, and the wallet credit is one ledger entry with the
idempotency key `topup:<pk>:capture`, so a payment is credited exactly once
whichever of the browser return, the webhook and reconciliation comes first.

SimulatedOrder / SimulatedPayment are not ours: they are the state kept by the
offline simulated Razorpay (billing.gateways.simulated), the way Razorpay keeps
its orders, so reconciliation can ask "the gateway" what happened.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TopUpStatus(models.TextChoices):
    CREATED = "created", "Created"  # order made, nothing heard from the payer yet
    PENDING = "pending", "Pending"  # the payer came back or a payment is in flight
    CAPTURED = "captured", "Captured"  # paid and credited to the wallet (final)
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


# A capture may still arrive after a failed attempt (Razorpay lets the payer
# retry on the same order) or after we gave up waiting: the money was taken,
# so it is credited. Only CAPTURED is final.
CAPTURABLE = (TopUpStatus.CREATED, TopUpStatus.PENDING, TopUpStatus.FAILED, TopUpStatus.EXPIRED)
OPEN = (TopUpStatus.CREATED, TopUpStatus.PENDING)


class TopUpQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN)


class TopUp(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups"
    )
    amount_paise = models.BigIntegerField()
    gateway = models.CharField(max_length=20)  # "simulated" | "razorpay"
    # Null only between our row and the gateway's answer (see topup_create).
    gateway_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    gateway_payment_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=TopUpStatus.choices, default=TopUpStatus.CREATED
    )
    idempotency_key = models.CharField(max_length=255)
    captured_via = models.CharField(max_length=12, blank=True)  # return | webhook | reconcile
    failure_reason = models.CharField(max_length=200, blank=True)
    entry = models.OneToOneField(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    captured_at = models.DateTimeField(null=True, blank=True)
    # When reconciliation last asked the gateway about this top-up, so each run asks
    # the ones asked least recently (see topups_reconcile). The column keeps its first
    # name: renaming it would break the code still running during a deploy.
    asked_at = models.DateTimeField(null=True, blank=True, db_column="late_asked_at")

    objects = TopUpQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="topup_amount_positive"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="topup_idempotency_key_per_user"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="topup_open_by_age")]

    def __str__(self) -> str:
        return f"Top-up #{self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status not in OPEN


class WebhookEvent(models.Model):
    """Every webhook call we received: valid ones deduplicated by the gateway's event id.

    Only events with a valid signature take part in the uniqueness constraint, so
    a forged call carrying a real event id cannot block the real delivery.
    """

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=60, blank=True)
    raw_body = models.TextField()
    signature_valid = models.BooleanField()
    outcome = models.CharField(max_length=40, blank=True)  # credited, duplicate_capture, ...
    topup = models.ForeignKey(
        TopUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "event_id"],
                condition=Q(signature_valid=True),
                name="webhook_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type or '?'} {self.event_id}"


class WithdrawalStatus(models.TextChoices):
    REQUESTED = "requested", "Under review"
    APPROVED = "approved", "Paid out"
    REJECTED = "rejected", "Rejected"
    RETURNED = "returned", "Returned by the bank"  # paid out, then bounced back


class Withdrawal(models.Model):
    """A request to send wallet money to a bank account, reviewed by staff.

    The full account number is never stored: we keep the last four digits to
    show and an HMAC (keyed with SECRET_KEY) of the whole number so staff can
    spot the same account across requests. Payouts are simulated; a real one
    would go through the payout provider's tokenised fund account.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals"
    )
    amount_paise = models.BigIntegerField()
    account_holder = models.CharField(max_length=100)
    account_last4 = models.CharField(max_length=4)
    account_hash = models.CharField(max_length=64)
    ifsc = models.CharField(max_length=11)
    status = models.CharField(
        max_length=10, choices=WithdrawalStatus.choices, default=WithdrawalStatus.REQUESTED
    )
    reservation = models.OneToOneField(
        "wallet.Reservation", on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_paise__gt=0), name="withdrawal_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="withdrawal_idempotency_key_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"Withdrawal #{self.pk} ({self.status})"

    @property
    def account_masked(self) -> str:
        return f"•••• {self.account_last4}"


# --- the simulated gateway's own state (stands in for Razorpay's servers) -------------------


class SimulatedOrder(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"
        ATTEMPTED = "attempted"
        PAID = "paid"

    order_id = models.CharField(max_length=64, unique=True)
    amount_paise = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="INR")
    receipt = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.order_id


class SimulatedPayment(models.Model):
    class Status(models.TextChoices):
        CAPTURED = "captured"
        FAILED = "failed"

    payment_id = models.CharField(max_length=64, unique=True)
    order = models.ForeignKey(SimulatedOrder, on_delete=models.CASCADE, related_name="payments")
    amount_paise = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices)
    error_description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Razorpay captures an order at most once.
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="captured"), name="simulated_one_capture"
            )
        ]

    def __str__(self) -> str:
        return self.payment_id
