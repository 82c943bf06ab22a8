"""The double-entry ledger. Money is integer paise; postings are append-only.

An account's balance is the sum of its postings; `balance_paise` caches it and
is updated in the same transaction as the postings (check_ledger proves it).
Sign convention: a positive posting increases the account's balance. User
wallets and vendor payables are liabilities of the platform and never go
negative; platform source accounts (gateway clearing, cashback, referral,
adjustments) go negative as money leaves them into user wallets.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class AccountKind(models.TextChoices):
    USER_AVAILABLE = "user_available", "User available"
    USER_RESERVED = "user_reserved", "User reserved"
    USER_PENDING = "user_pending", "User pending rewards"  # cashback inside its refund window
    VENDOR_PAYABLE = "vendor_payable", "Vendor payable"
    PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
    PLATFORM_CASHBACK = "platform_cashback", "Platform cashback"
    PLATFORM_REFERRAL = "platform_referral", "Platform referral"
    GATEWAY_CLEARING = "gateway_clearing", "Gateway clearing"
    PLATFORM_PAYOUTS = "platform_payouts", "Payouts"
    PLATFORM_ADJUSTMENTS = "platform_adjustments", "Staff adjustments"


# Accounts that hold someone's money (or the platform's earnings) never go negative.
NO_NEGATIVE_KINDS = frozenset(
    {
        AccountKind.USER_AVAILABLE,
        AccountKind.USER_RESERVED,
        AccountKind.USER_PENDING,
        AccountKind.VENDOR_PAYABLE,
        AccountKind.PLATFORM_REVENUE,
        AccountKind.PLATFORM_PAYOUTS,
    }
)
PLATFORM_KINDS = frozenset(
    {
        AccountKind.PLATFORM_REVENUE,
        AccountKind.PLATFORM_CASHBACK,
        AccountKind.PLATFORM_REFERRAL,
        AccountKind.GATEWAY_CLEARING,
        AccountKind.PLATFORM_PAYOUTS,
        AccountKind.PLATFORM_ADJUSTMENTS,
    }
)


class LedgerAccount(models.Model):
    code = models.CharField(max_length=64, unique=True)  # "user:12:available", "platform:revenue"
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    may_go_negative = models.BooleanField(default=False)
    balance_paise = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(may_go_negative=True) | Q(balance_paise__gte=0),
                name="ledger_account_no_negative",
            ),
            models.UniqueConstraint(
                fields=["owner", "kind"],
                condition=Q(owner__isnull=False),
                name="ledger_account_one_per_owner_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Wallet(models.Model):
    """A user's view of their money: the available and reserved accounts, and a handle."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet"
    )
    handle = models.CharField(max_length=32, unique=True)
    available = models.OneToOneField(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    reserved = models.OneToOneField(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    low_balance_threshold_paise = models.BigIntegerField(default=10_000)  # ₹100
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        permissions = [("adjust_balance", "Can adjust a wallet balance (staff adjustment)")]
        constraints = [
            # Recipients are looked up by the lowered input on the unique index
            # (selectors.recipient_find): a handle with a capital could never be found.
            models.CheckConstraint(
                condition=Q(handle=Lower("handle")), name="wallet_handle_lowercase"
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class EntryKind(models.TextChoices):
    TOPUP = "topup", "Top-up"
    TRANSFER = "transfer", "Transfer"
    PURCHASE = "purchase", "Purchase"
    RESERVE = "reserve", "Reservation"
    SETTLE = "settle", "Settlement"
    VOID = "void", "Release"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    REFUND = "refund", "Refund"
    CASHBACK = "cashback", "Cashback"
    REFERRAL = "referral", "Referral reward"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"
    EARNINGS = "earnings", "Earnings"  # a vendor's payable moved to their own wallet


class JournalEntry(models.Model):
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    memo = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=40, blank=True)  # for spending charts
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request_hash = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.memo}"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    amount_paise = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "-id"], name="posting_account_recent")]
        constraints = [models.CheckConstraint(condition=~Q(amount_paise=0), name="posting_nonzero")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_paise:+d}"


class ReservationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SETTLED = "settled", "Settled"
    VOIDED = "voided", "Released"
    EXPIRED = "expired", "Expired"


class ReservationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=ReservationStatus.PENDING)

    def overdue(self, now=None):
        return self.pending().filter(expires_at__lte=now or timezone.now())


class Reservation(models.Model):
    """Money set aside: available -> reserved, then settled to a payee or voided, once."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="reservations")
    amount_paise = models.BigIntegerField()
    settled_paise = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.PENDING
    )
    purpose = models.CharField(max_length=40)  # "withdrawal", "order", "session", ...
    memo = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reserve_entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    resolve_entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="reservation_positive"),
            models.CheckConstraint(
                condition=Q(settled_paise__gte=0) & Q(settled_paise__lte=models.F("amount_paise")),
                name="reservation_settled_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="reservation_due")]
        permissions = [("void_reservation", "Can release a pending reservation")]

    def __str__(self) -> str:
        return f"Reservation #{self.pk} ({self.purpose}, {self.status})"


class LowBalanceAlert(models.Model):
    """Recorded when available funds cross the owner's threshold downwards.

    Delivery (in-app bell, email) belongs to the notifications feature.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="low_balance_alerts"
    )
    balance_paise = models.BigIntegerField()
    threshold_paise = models.BigIntegerField()
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Low balance for user {self.user_id}"


class LedgerSeal(models.Model):
    """One link of the hash chain over journal entries (tamper evidence, like Formance's logs).

    `seal` = SHA-256(previous seal + canonical content of the entry), see
    wallet.integrity.entry_digest_content. Entries are sealed off the hot path by
    wallet.integrity.ledger_seal in `sequence` order (1, 2, 3, ...); the unique
    constraints make a second, racing sealer fail instead of forking the chain.
    Rows are append-only (database triggers, migration 0004).
    """

    sequence = models.BigIntegerField(unique=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="seal")
    seal = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="ledger_seal_sequence_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Seal #{self.sequence} of entry #{self.entry_id}"


class LedgerCheckRun(models.Model):
    """One run of wallet.integrity.ledger_check: what it proved, or what it found wrong.

    `problems` is a list of {"code", "message", "account", "entry"}; `stats` holds
    counts, totals and the chain head (sequence, seal) seen by the run, which the
    next run compares against so a rewritten chain is noticed too.
    """

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)  # None while running (or if the run crashed)
    problems = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    triggered_by = models.CharField(max_length=40, blank=True)  # "beat", "command", "admin"

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        state = {True: "ok", False: "FAILED", None: "running"}[self.ok]
        return f"Ledger check #{self.pk} ({state})"
