"""Flash sales: limited stock, 2-minute holds, never oversold.

Stock lives in one column, `SaleItem.available`, and moves only by conditional
UPDATEs (`available >= q`); a CHECK constraint keeps 0 <= available <= total.
Every movement also leaves an append-only `InventoryEvent` (a database trigger
refuses UPDATE and DELETE on PostgreSQL and SQLite), so the live stock can be
recomputed from the events at any time (`manage.py check_flash_stock`).

Holds carry `expires_at`; `Hold.objects.active()` filters on it, so an expired
hold stops counting the moment it expires even if no job has run yet.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


def percent_off(regular_paise: int, price_paise: int) -> int:
    """Whole percent `price_paise` is below the regular price (0 when it is not below)."""
    if regular_paise <= price_paise:
        return 0
    return round(100 * (regular_paise - price_paise) / regular_paise)


class SaleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    CANCELLED = "cancelled", "Cancelled"


class SalePhase(models.TextChoices):
    """Derived from the clock and the status, never stored: a missed job cannot get it wrong."""

    DRAFT = "draft", "Draft"
    UPCOMING = "upcoming", "Starting soon"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"


class FlashSaleQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(status=SaleStatus.PUBLISHED, starts_at__lte=now, ends_at__gt=now)

    def upcoming(self, now=None):
        now = now or timezone.now()
        return self.filter(status=SaleStatus.PUBLISHED, starts_at__gt=now)

    def storefront(self, now=None):
        """Published sales that have not ended: live first, then the next to start."""
        now = now or timezone.now()
        return self.filter(status=SaleStatus.PUBLISHED, ends_at__gt=now).order_by("starts_at", "pk")


class FlashSale(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=SaleStatus.choices, default=SaleStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FlashSaleQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="flashsale_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def phase(self, now=None) -> str:
        now = now or timezone.now()
        if self.status == SaleStatus.DRAFT:
            return SalePhase.DRAFT
        if self.status == SaleStatus.CANCELLED:
            return SalePhase.CANCELLED
        if now < self.starts_at:
            return SalePhase.UPCOMING
        if now >= self.ends_at:
            return SalePhase.ENDED
        return SalePhase.LIVE

    def is_live(self, now=None) -> bool:
        return self.phase(now) == SalePhase.LIVE


class Product(models.Model):
    """A standalone thing sold in flash sales (a licence, an asset pack, credits...).

    With a `vendor`, checkout pays the vendor's payable account less the
    platform fee; without one, the platform sells it and keeps the revenue.
    """

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    regular_price_paise = models.BigIntegerField()
    vendor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="flash_products",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(regular_price_paise__gt=0), name="flash_product_price_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SaleItem(models.Model):
    """What a sale sells: a standalone `product`, or a marketplace `plan` (a pass).

    Exactly one of the two is set. A plan item's checkout goes through the
    marketplace's purchase service at the sale price, so the buyer gets a real
    Pass (and the vendor their share) like any other purchase.
    """

    sale = models.ForeignKey(FlashSale, on_delete=models.PROTECT, related_name="items")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="sale_items"
    )
    plan = models.ForeignKey(
        "marketplace.Plan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="flash_sale_items",
    )
    sale_price_paise = models.BigIntegerField()
    total = models.PositiveIntegerField(help_text="Units in this sale (restocks add to it).")
    available = models.IntegerField(help_text="Units nobody holds or bought.")
    per_user_limit = models.PositiveSmallIntegerField(default=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(available__gte=0) & Q(available__lte=F("total")),
                name="flash_item_available_within_total",
            ),
            models.CheckConstraint(
                condition=Q(sale_price_paise__gt=0), name="flash_item_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(per_user_limit__gte=1), name="flash_item_per_user_limit_positive"
            ),
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(plan__isnull=True))
                | (Q(product__isnull=True) & Q(plan__isnull=False)),
                name="flash_item_sells_product_or_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sale.name})"

    @property
    def name(self) -> str:
        if self.plan_id:
            return f"{self.plan.service.name} · {self.plan.name}"
        return self.product.name

    @property
    def description(self) -> str:
        if self.plan_id:
            return self.plan.description or self.plan.service.tagline
        return self.product.description

    @property
    def regular_price_paise(self) -> int:
        return self.plan.price_paise if self.plan_id else self.product.regular_price_paise

    @property
    def seller_name(self) -> str:
        if self.plan_id:
            return self.plan.service.vendor.business_name
        vendor = self.product.vendor
        return vendor.display_name if vendor else "FlexPass"

    @property
    def discount_percent(self) -> int:
        return percent_off(self.regular_price_paise, self.sale_price_paise)

    @property
    def available_percent(self) -> int:
        return round(100 * self.available / self.total) if self.total else 0


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONFIRMED = "confirmed", "Confirmed"
    EXPIRED = "expired", "Expired"
    RELEASED = "released", "Released"


class HoldSource(models.TextChoices):
    STOREFRONT = "storefront", "Storefront"
    WAITLIST = "waitlist", "Waitlist offer"


class HoldQuerySet(models.QuerySet):
    def active(self, now=None):
        """Holds still keeping their units: status active and not yet past expires_at."""
        return self.filter(status=HoldStatus.ACTIVE, expires_at__gt=now or timezone.now())

    def overdue(self, now=None):
        """Active holds past their expiry whose units have not been returned yet."""
        return self.filter(status=HoldStatus.ACTIVE, expires_at__lte=now or timezone.now())


class Hold(models.Model):
    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="holds")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flash_holds"
    )
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    source = models.CharField(
        max_length=10, choices=HoldSource.choices, default=HoldSource.STOREFRONT
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The client's Idempotency-Key (API) or form token (pages): a repeat of the
    # same request returns this hold instead of taking more stock.
    request_key = models.CharField(max_length=255, null=True, blank=True)
    # The item's price when the units were taken: what checkout charges, whatever
    # staff do to the item's price while the hold runs.
    unit_price_paise = models.BigIntegerField()

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="flash_hold_status_expiry"),
            models.Index(fields=["item", "status", "expires_at"], name="flash_hold_item_status"),
            models.Index(fields=["user", "status"], name="flash_hold_user_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="flash_hold_quantity_positive"
            ),
            models.UniqueConstraint(fields=["user", "request_key"], name="flash_hold_request_key"),
        ]

    def __str__(self) -> str:
        return f"Hold #{self.pk}: {self.quantity} x {self.item_id} ({self.status})"

    def is_open(self, now=None) -> bool:
        return self.status == HoldStatus.ACTIVE and self.expires_at > (now or timezone.now())

    @property
    def amount_paise(self) -> int:
        """What checkout charges: the held price times the units."""
        return self.unit_price_paise * self.quantity

    @property
    def discount_percent(self) -> int:
        return percent_off(self.item.regular_price_paise, self.unit_price_paise)

    @property
    def sale_taken_off(self) -> bool:
        """Staff cancelled the sale or put it back to draft: this hold cannot be paid."""
        return self.item.sale.status != SaleStatus.PUBLISHED


class EventKind(models.TextChoices):
    RESTOCK = "restock", "Restock"  # +q to total and available (the first stock too)
    HOLD_CREATED = "hold_created", "Hold created"  # -q
    HOLD_RELEASED = "hold_released", "Hold released"  # +q
    HOLD_EXPIRED = "hold_expired", "Hold expired"  # +q
    SALE_CONFIRMED = "sale_confirmed", "Sale confirmed"  # 0: the hold's units become sold


class InventoryEvent(models.Model):
    """One stock movement. Append-only: the database refuses UPDATE and DELETE.

    `delta` is the change to `SaleItem.available`; the sum of an item's deltas
    is its live stock and the sum of its restocks is its total.
    """

    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="events")
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    delta = models.IntegerField()
    metadata = models.JSONField(default=dict, blank=True)
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["item", "kind", "created_at"], name="flash_event_item_kind"),
            models.Index(fields=["kind", "created_at"], name="flash_event_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} on item {self.item_id}"


class FlashOrder(models.Model):
    """What a confirmed hold bought: one per hold, paid by one journal entry."""

    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="order")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flash_orders"
    )
    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="orders")
    quantity = models.PositiveSmallIntegerField()
    unit_price_paise = models.BigIntegerField()
    amount_paise = models.BigIntegerField()
    fee_paise = models.BigIntegerField(default=0)
    entry = models.ForeignKey("wallet.JournalEntry", on_delete=models.PROTECT, related_name="+")
    # Plan items: the marketplace purchase (and through it the Pass) this order made.
    purchase = models.OneToOneField(
        "marketplace.Purchase",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="flash_order",
    )
    # Mixed payment: the payment whose wallet part and card part paid this order.
    payment = models.OneToOneField(
        "FlashPayment", null=True, blank=True, on_delete=models.PROTECT, related_name="order"
    )
    # The API checkout's Idempotency-Key: a retry under it gets this order back as its
    # 201, where another key gets 409 hold_already_paid.
    request_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_paise=F("unit_price_paise") * F("quantity")),
                name="flash_order_amount_is_price_times_quantity",
            )
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def number(self) -> str:
        return f"FS-{self.pk:06d}"


class FlashPayment(models.Model):
    """A hold paid partly from the wallet (reserved) and partly by UPI/card (a top-up).

    Driven by the marketplace's mixed-payment state machine
    (marketplace.services.orders, flow FLASH_FLOW in flashsale/services/payments.py):
    created -> funds_reserved -> payment_pending -> paid -> fulfilled, or
    payment_failed / cancelled / expired, every step a FlashPaymentTransition.
    Its payment window ends when the hold expires (`expires_at` is the
    hold's). Fulfilling it confirms the hold exactly like a wallet checkout.
    At most one open payment per hold; a failed one may be followed by another.
    """

    hold = models.ForeignKey(Hold, on_delete=models.PROTECT, related_name="payments")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flash_payments"
    )
    price_paise = models.BigIntegerField()
    wallet_part_paise = models.BigIntegerField(default=0)
    gateway_part_paise = models.BigIntegerField(default=0)
    # What the gateway is asked for: the gateway part, raised to the smallest top-up.
    gateway_charge_paise = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, blank=True, db_index=True)  # OrderStatus values
    reservation = models.OneToOneField(
        "wallet.Reservation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    topup = models.OneToOneField(
        "billing.TopUp", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    failure_reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="flash_payment_key_per_buyer"
            ),
            models.UniqueConstraint(
                fields=["hold"],
                condition=Q(
                    status__in=["", "created", "funds_reserved", "payment_pending", "paid"]
                ),
                name="flash_payment_one_open_per_hold",
            ),
            models.CheckConstraint(
                condition=Q(price_paise__gt=0)
                & Q(wallet_part_paise__gte=0)
                & Q(gateway_part_paise__gt=0)
                & Q(price_paise=F("wallet_part_paise") + F("gateway_part_paise")),
                name="flash_payment_parts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.number} ({self.status})"

    @property
    def number(self) -> str:
        return f"FP-{self.pk:06d}"


class FlashPaymentTransition(models.Model):
    """One step of a flash payment's state machine, in the order it happened."""

    payment = models.ForeignKey(FlashPayment, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, blank=True)  # "" for the first step
    to_status = models.CharField(max_length=16)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "to_status"], name="flash_payment_state_entered_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status or '-'} -> {self.to_status}"


class PurchaseAllowance(models.Model):
    """Units one user holds or bought of one item: the per-user limit, race-safe.

    Moved only by conditional upserts (`taken + q <= limit`), so two concurrent
    holds by one person cannot pass the limit together. Expired and released
    holds give their units back.
    """

    item = models.ForeignKey(SaleItem, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    taken = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="flash_allowance_item_user")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} took {self.taken} of item {self.item_id}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered"
    SKIPPED = "skipped", "Skipped (at limit)"
    LEFT = "left", "Left"


class WaitlistEntry(models.Model):
    item = models.ForeignKey(SaleItem, on_delete=models.PROTECT, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flash_waitlist"
    )
    status = models.CharField(
        max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_at = models.DateTimeField(default=timezone.now)
    offered_hold = models.OneToOneField(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entry"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["item", "status", "created_at"], name="flash_waitlist_queue")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "user"],
                condition=Q(status="waiting"),
                name="flash_waitlist_one_place_per_user",
            )
        ]
        verbose_name_plural = "waitlist entries"

    def __str__(self) -> str:
        return f"{self.user_id} waiting for {self.item_id} ({self.status})"


class CounterName(models.TextChoices):
    OVERSELL_BLOCKED = "oversell_blocked", "Oversell attempts blocked"
    THROTTLE_BLOCKED = "throttle_blocked", "Throttle blocks"


class SaleCounter(models.Model):
    """Refusals per item, kept in the database so the admin figures are real.

    A storm refuses thousands of requests in a second; one counter row would be
    a second hot row beside the stock, so each increment goes to one of
    `SHARDS` rows (an upsert) and the figure is their sum.
    """

    SHARDS = 8

    item = models.ForeignKey(SaleItem, on_delete=models.CASCADE, related_name="counters")
    name = models.CharField(max_length=20, choices=CounterName.choices)
    shard = models.PositiveSmallIntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "name", "shard"], name="flash_counter_item_name_shard"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}[{self.shard}] of item {self.item_id}: {self.value}"
