"""The marketplace: vendors list services with plans; buyers get passes.

A Purchase is the commercial record of one sale (price, platform fee, vendor
share, the journal entry that moved the money); the Pass it creates is what
the buyer holds (time window or unit credits, and a token to present).
Mixed-payment Orders move through a state machine whose every step is an
OrderTransition row (see marketplace.orders).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _token() -> str:
    return secrets.token_urlsafe(24)


class VendorProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vendor_profile"
    )
    business_name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    tagline = models.CharField(max_length=160, blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["business_name"]
        permissions = [("move_earnings", "Can move a vendor's earnings to their wallet")]

    def __str__(self) -> str:
        return self.business_name


class Category(models.Model):
    name = models.CharField(max_length=40, unique=True)  # also the ledger entry's category
    slug = models.SlugField(max_length=40, unique=True)
    icon = models.CharField(max_length=8, blank=True)  # an emoji shown on filter chips
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ServiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"


class ServiceQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status=ServiceStatus.LIVE)


class Service(models.Model):
    vendor = models.ForeignKey(VendorProfile, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    tagline = models.CharField(max_length=160, blank=True)
    description = models.TextField(blank=True)
    logo = models.ImageField(upload_to="service-logos/", blank=True)
    accent = models.CharField(max_length=7, default="#5b4cf0")  # the initials tile's colour
    status = models.CharField(
        max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.DRAFT, db_index=True
    )
    purchases_count = models.PositiveIntegerField(default=0)  # popularity, moved with F()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["-purchases_count", "-created_at"]
        indexes = [
            models.Index(fields=["status", "-purchases_count"], name="service_popular"),
            models.Index(fields=["status", "-created_at"], name="service_new"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def initials(self) -> str:
        words = [w for w in self.name.replace("-", " ").split() if w[:1].isalnum()]
        return "".join(w[0] for w in words[:2]).upper() or "?"

    @property
    def is_live(self) -> bool:
        return self.status == ServiceStatus.LIVE


class PlanKind(models.TextChoices):
    TIME = "time", "Time pass"
    USAGE = "usage", "Usage pass"
    METERED = "metered", "Metered"


class MeteredUnit(models.TextChoices):
    SECOND = "second", "per second"
    MINUTE = "minute", "per minute"
    CALL = "call", "per call"


class PlanQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Plan(models.Model):
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="plans")
    kind = models.CharField(max_length=10, choices=PlanKind.choices)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    # Time and usage passes: what the pass costs. Metered plans: 0 (they bill a rate).
    price_paise = models.BigIntegerField(default=0)
    duration_hours = models.PositiveIntegerField(default=24)  # time passes
    units = models.PositiveIntegerField(null=True, blank=True)  # usage passes: credits
    unit_label = models.CharField(max_length=30, blank=True, default="calls")
    validity_days = models.PositiveIntegerField(null=True, blank=True)  # usage passes
    metered_rate_paise = models.BigIntegerField(null=True, blank=True)  # metered
    metered_unit = models.CharField(max_length=10, choices=MeteredUnit.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["position", "price_paise", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price_paise__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="time") | (Q(price_paise__gt=0) & Q(duration_hours__gt=0)),
                name="plan_time_has_price_and_duration",
            ),
            models.CheckConstraint(
                condition=~Q(kind="usage") | (Q(price_paise__gt=0) & Q(units__gt=0)),
                name="plan_usage_has_price_and_units",
            ),
            models.CheckConstraint(
                condition=~Q(kind="metered") | (Q(metered_rate_paise__gt=0) & ~Q(metered_unit="")),
                name="plan_metered_has_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.name} · {self.name}"

    @property
    def is_purchasable(self) -> bool:
        """Metered plans are billed per session, not bought up front."""
        return self.kind in (PlanKind.TIME, PlanKind.USAGE)


class PurchaseStatus(models.TextChoices):
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Purchase(models.Model):
    """One sale. The money moved in `entry` (buyer -price, vendor +share, platform +fee)."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="purchases")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="purchases")
    vendor = models.ForeignKey(VendorProfile, on_delete=models.PROTECT, related_name="sales")
    price_paise = models.BigIntegerField()
    fee_paise = models.BigIntegerField()
    vendor_share_paise = models.BigIntegerField()
    # The plan's terms as sold ("Unlimited use for 24 hours"): the receipt says what was
    # bought, whatever the vendor makes of the plan later.
    plan_terms = models.CharField(max_length=120, blank=True, default="", db_default="")
    entry = models.ForeignKey(
        "wallet.JournalEntry", on_delete=models.PROTECT, related_name="purchases"
    )
    order = models.OneToOneField(
        "marketplace.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchase",
    )
    idempotency_key = models.CharField(max_length=255)
    status = models.CharField(
        max_length=20, choices=PurchaseStatus.choices, default=PurchaseStatus.PAID
    )
    refunded_paise = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The receipt email's outbox (flexpass.mail): claimed by whoever is sending it, sent
    # once it went out. Still unsent a minute after the sale means its task was lost,
    # and the retry job sends it (rewards.receipts_send_due).
    receipt_claimed_at = models.DateTimeField(null=True, blank=True)
    receipt_emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(receipt_emailed_at__isnull=True),
                name="purchase_receipt_unsent",
            ),
            # The vendor's recent sales: earnings held for the refund window.
            models.Index(fields=["vendor", "created_at"], name="purchase_vendor_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="purchase_idempotency_key_per_buyer"
            ),
            models.CheckConstraint(condition=Q(price_paise__gt=0), name="purchase_price_positive"),
            models.CheckConstraint(
                condition=Q(fee_paise__gte=0)
                & Q(vendor_share_paise__gte=0)
                & Q(price_paise=models.F("fee_paise") + models.F("vendor_share_paise")),
                name="purchase_split_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_paise__gte=0) & Q(refunded_paise__lte=models.F("price_paise")),
                name="purchase_refund_within_price",
            ),
        ]

    def __str__(self) -> str:
        return f"Purchase {self.number}"

    @property
    def number(self) -> str:
        """The receipt number people quote to support."""
        return f"FP-{self.pk:06d}"


class PassStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    USED_UP = "used_up", "Used up"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class PassQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Passes that grant access right now (never waits for the expiry job)."""
        now = now or timezone.now()
        return (
            self.filter(status=PassStatus.ACTIVE, starts_at__lte=now)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .filter(Q(units_left__isnull=True) | Q(units_left__gt=0))
        )

    def overdue(self, now=None):
        """Still marked active although their time is up (the expiry job's work list)."""
        return self.filter(status=PassStatus.ACTIVE, expires_at__lte=now or timezone.now())


class Pass(models.Model):
    # None only for test passes a vendor mints for itself (is_test): no sale, no money.
    purchase = models.OneToOneField(
        Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="pass_obj"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="passes"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="passes")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="passes")
    kind = models.CharField(max_length=10, choices=PlanKind.choices)
    status = models.CharField(
        max_length=10, choices=PassStatus.choices, default=PassStatus.ACTIVE, db_index=True
    )
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    units_total = models.PositiveIntegerField(null=True, blank=True)
    units_left = models.PositiveIntegerField(null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_token)
    is_test = models.BooleanField(default=False)  # minted by the vendor for test-mode keys
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = PassQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "passes"
        indexes = [models.Index(fields=["owner", "status"], name="pass_owner_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_left__isnull=True)
                | (Q(units_total__isnull=False) & Q(units_left__lte=models.F("units_total"))),
                name="pass_units_left_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Pass #{self.pk} ({self.kind}, {self.status})"

    def effective_status(self, now=None) -> str:
        """The status as of `now`, even if the expiry job has not run yet."""
        now = now or timezone.now()
        if self.status == PassStatus.ACTIVE:
            if self.expires_at is not None and self.expires_at <= now:
                return PassStatus.EXPIRED
            if self.units_left is not None and self.units_left <= 0:
                return PassStatus.USED_UP
        return self.status

    @property
    def units_used(self) -> int:
        return (self.units_total or 0) - (self.units_left or 0)

    @property
    def units_left_percent(self) -> int:
        if not self.units_total:
            return 0
        return round(100 * (self.units_left or 0) / self.units_total)


class PassNotificationKind(models.TextChoices):
    EXPIRING_SOON = "expiring_soon", "Expiring soon"


class PassNotification(models.Model):
    """A notice owed to a pass holder, recorded once per pass and kind; delivered later."""

    pass_obj = models.ForeignKey(Pass, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pass_notifications"
    )
    kind = models.CharField(max_length=20, choices=PassNotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["pass_obj", "kind"], name="pass_notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for pass #{self.pass_obj_id}"


class OrderStatus(models.TextChoices):
    CREATED = "created", "Created"
    FUNDS_RESERVED = "funds_reserved", "Wallet funds reserved"
    PAYMENT_PENDING = "payment_pending", "Waiting for payment"
    PAID = "paid", "Paid"
    FULFILLED = "fulfilled", "Completed"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


# Waiting on the buyer or the gateway: these expire. The others are final, except
# PAID, which is fulfilled in the same transaction that records it.
ORDER_OPEN_STATES = (OrderStatus.CREATED, OrderStatus.FUNDS_RESERVED, OrderStatus.PAYMENT_PENDING)


class OrderQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=ORDER_OPEN_STATES)


class Order(models.Model):
    """A purchase paid partly from the wallet (reserved) and partly through the gateway."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    price_paise = models.BigIntegerField()
    wallet_part_paise = models.BigIntegerField(default=0)
    gateway_part_paise = models.BigIntegerField(default=0)
    # What the gateway is asked for: the gateway part, raised to the smallest top-up.
    gateway_charge_paise = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED, db_index=True
    )
    reservation = models.OneToOneField(
        "wallet.Reservation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    topup = models.OneToOneField(
        "billing.TopUp", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    failure_reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="order_idempotency_key_per_buyer"
            ),
            models.CheckConstraint(condition=Q(price_paise__gt=0), name="order_price_positive"),
            models.CheckConstraint(
                condition=Q(wallet_part_paise__gte=0)
                & Q(gateway_part_paise__gt=0)
                & Q(price_paise=models.F("wallet_part_paise") + models.F("gateway_part_paise")),
                name="order_parts_add_up",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="order_due")]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"

    @property
    def number(self) -> str:
        return f"ORD-{self.pk:06d}"


class OrderTransition(models.Model):
    """One step of an order's state machine, in the order it happened."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True)  # "" for the first step
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A state is entered at most once: the machine has no cycles.
            models.UniqueConstraint(fields=["order", "to_status"], name="order_state_entered_once")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '-'} -> {self.to_status}"


# --- rewards: cashback, referrals, badges, refunds (marketplace/rewards.py, refunds.py) -----


class CashbackStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RELEASED = "released", "Released"
    CANCELLED = "cancelled", "Cancelled"


class CashbackGrant(models.Model):
    """Cashback on one purchase: pending until the refund window closes, then released.

    Pending cashback sits in the buyer's `user_pending` ledger account, so the
    wallet shows it and the books balance at every step.
    """

    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="cashback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cashback_grants"
    )
    amount_paise = models.BigIntegerField()
    cancelled_paise = models.BigIntegerField(default=0)  # taken back by refunds while pending
    clawed_back_paise = models.BigIntegerField(default=0)  # taken back by refunds after release
    status = models.CharField(
        max_length=10, choices=CashbackStatus.choices, default=CashbackStatus.PENDING
    )
    release_at = models.DateTimeField(db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cancelled_paise__gte=0)
                & Q(clawed_back_paise__gte=0)
                & Q(cancelled_paise__lte=models.F("amount_paise")),
                name="cashback_amounts_within_grant",
            )
        ]

    def __str__(self) -> str:
        return f"Cashback {self.amount_paise} on purchase {self.purchase_id} ({self.status})"

    @property
    def outstanding_paise(self) -> int:
        return self.amount_paise - self.cancelled_paise


class ReferralReward(models.Model):
    """The double-sided referral bonus, paid once per referred user (the unique key)."""

    referred = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral_reward"
    )
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referral_rewards_earned"
    )
    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="+")
    referrer_paise = models.BigIntegerField()
    referred_paise = models.BigIntegerField()
    entry = models.ForeignKey(
        "wallet.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Referral of {self.referred_id} by {self.referrer_id}"


class UserBadge(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges"
    )
    code = models.CharField(max_length=32)
    awarded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["awarded_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "code"], name="badge_once_per_user")]

    def __str__(self) -> str:
        return f"{self.code} for {self.user_id}"


class Refund(models.Model):
    """A staff refund of (part of) a purchase, posted as one reversing journal entry."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    amount_paise = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    vendor_reversed_paise = models.BigIntegerField(default=0)
    fee_reversed_paise = models.BigIntegerField(default=0)
    vendor_shortfall_paise = models.BigIntegerField(default=0)  # fronted by the platform
    cashback_cancelled_paise = models.BigIntegerField(default=0)
    cashback_clawed_back_paise = models.BigIntegerField(default=0)
    cashback_debt_paise = models.BigIntegerField(default=0)  # could not be clawed back
    entry = models.OneToOneField("wallet.JournalEntry", on_delete=models.PROTECT, related_name="+")
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="refund_positive")
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount_paise} of purchase {self.purchase_id}"


# --- vendor platform: API keys, usage events, webhook outbox (marketplace/services/keys.py,
# usage.py, webhooks.py; marketplace/vendor_api/) ---------------------------------------------


class ApiKeyMode(models.TextChoices):
    TEST = "test", "Test"
    LIVE = "live", "Live"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A vendor's server-to-server key. Only the sha256 of the secret is stored."""

    vendor = models.ForeignKey(VendorProfile, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80, blank=True)
    mode = models.CharField(max_length=4, choices=ApiKeyMode.choices)
    prefix = models.CharField(max_length=8)  # "fp_test_" / "fp_live_"
    secret_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"


class UsageEvent(models.Model):
    """One usage event a vendor reported; (vendor, event_id) makes ingest exactly-once."""

    vendor = models.ForeignKey(VendorProfile, on_delete=models.PROTECT, related_name="usage_events")
    pass_obj = models.ForeignKey(Pass, on_delete=models.PROTECT, related_name="usage_events")
    event_id = models.CharField(max_length=255)
    units = models.PositiveIntegerField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "event_id"], name="usage_event_once"),
            models.CheckConstraint(condition=Q(units__gt=0), name="usage_event_units_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.units} on pass #{self.pass_obj_id}"


class WebhookEndpoint(models.Model):
    vendor = models.ForeignKey(
        VendorProfile, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)  # event types; empty = all
    secret = models.CharField(max_length=64)
    # During rotation deliveries are signed with both (several v1= in the header).
    previous_secret = models.CharField(max_length=64, blank=True)
    # The previous secret stops signing at this moment (None: until the next rotation).
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.url


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """The outbox: one event for one endpoint, written in the transaction of the change."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=40, unique=True)  # "evt_..." for receiver dedupe
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt on {self.delivery_id}: {self.status_code or self.error}"


class SessionStatus(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class MeteredSession(models.Model):
    """A running metered use: funds reserved block by block, settled exactly at stop."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="metered_sessions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="sessions")
    vendor = models.ForeignKey(VendorProfile, on_delete=models.PROTECT, related_name="sessions")
    token = models.CharField(max_length=64, unique=True, default=_token)
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.RUNNING, db_index=True
    )
    stop_reason = models.CharField(max_length=30, blank=True)
    rate_paise = models.BigIntegerField()
    unit = models.CharField(max_length=10, choices=MeteredUnit.choices)
    calls = models.PositiveIntegerField(default=0)  # per-call plans
    reserved_paise = models.BigIntegerField(default=0)
    reservations = models.JSONField(default=list)  # wallet.Reservation ids, in order
    cost_paise = models.BigIntegerField(default=0)  # final, at stop
    low_balance_warned = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "last_heartbeat_at"], name="session_stale")]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost_paise__gte=0) & Q(cost_paise__lte=models.F("reserved_paise")),
                name="session_cost_within_reserved",
            )
        ]

    def __str__(self) -> str:
        return f"Session #{self.pk} ({self.status})"


class VendorApplicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class VendorApplication(models.Model):
    """A customer's request to sell on FlexPass; staff approve or reject it in the admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_applications"
    )
    business_name = models.CharField(max_length=120)
    payout_details = models.CharField(max_length=200)  # UPI id or bank account, as given
    status = models.CharField(
        max_length=10,
        choices=VendorApplicationStatus.choices,
        default=VendorApplicationStatus.PENDING,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="vendor_application_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.business_name} ({self.status})"
