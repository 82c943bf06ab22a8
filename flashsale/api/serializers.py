"""Input and output shapes of the flash-sale API. No logic here: views call services."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flashsale.models import FlashOrder, FlashPayment, FlashSale, Hold, HoldStatus, SaleItem
from flashsale.selectors import stock_row


class StockOut(serializers.Serializer):
    available = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="Available as a percentage of total.")
    state = serializers.ChoiceField(choices=["in_stock", "low", "sold_out"])


class SaleItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    seller = serializers.CharField(source="seller_name")
    kind = serializers.SerializerMethodField()
    plan_id = serializers.IntegerField(allow_null=True)
    regular_price_paise = serializers.IntegerField()
    sale_price_paise = serializers.IntegerField()
    discount_percent = serializers.IntegerField()
    per_user_limit = serializers.IntegerField()
    stock = serializers.SerializerMethodField()

    def get_kind(self, item: SaleItem) -> str:
        return "plan" if item.plan_id else "product"

    @extend_schema_field(StockOut)
    def get_stock(self, item: SaleItem) -> dict:
        return StockOut(stock_row(item.pk, item.available, item.total)).data


class SaleOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    phase = serializers.SerializerMethodField()
    items = SaleItemOut(many=True)

    def get_phase(self, sale: FlashSale) -> str:
        return sale.phase(self.context.get("now"))


class SaleListOut(serializers.Serializer):
    results = SaleOut(many=True)


class HoldCreateIn(serializers.Serializer):
    quantity = serializers.IntegerField(default=1, help_text="Units to hold (1 by default).")


class HoldOut(serializers.Serializer):
    id = serializers.IntegerField()
    item_id = serializers.IntegerField()
    sale_id = serializers.IntegerField(source="item.sale_id")
    item_name = serializers.CharField(source="item.name")
    quantity = serializers.IntegerField()
    status = serializers.SerializerMethodField(
        help_text="active, confirmed, expired or released (as of now)."
    )
    source = serializers.CharField(help_text="storefront, or waitlist for an offer.")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    seconds_left = serializers.SerializerMethodField()
    amount_paise = serializers.SerializerMethodField(help_text="What checkout will charge.")
    order_id = serializers.SerializerMethodField()
    open_payment_id = serializers.SerializerMethodField(
        help_text="The hold's mixed payment still waiting for its card part, if any "
        "(always null in the hold-creation response: a new hold has none)."
    )

    def get_open_payment_id(self, hold: Hold) -> int | None:
        return getattr(hold, "open_payment_pk", None)  # annotated by the selectors

    def get_status(self, hold: Hold) -> str:
        if hold.status == HoldStatus.ACTIVE and not hold.is_open():
            return HoldStatus.EXPIRED
        return hold.status

    def get_seconds_left(self, hold: Hold) -> int:
        if hold.status != HoldStatus.ACTIVE:
            return 0
        return max(0, int((hold.expires_at - timezone.now()).total_seconds()))

    def get_amount_paise(self, hold: Hold) -> int:
        return hold.amount_paise

    def get_order_id(self, hold: Hold) -> int | None:
        order = getattr(hold, "order", None) if hold.status == HoldStatus.CONFIRMED else None
        return order.pk if order else None


class HoldListOut(serializers.Serializer):
    results = HoldOut(many=True)


class CheckoutIn(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=["wallet", "mixed"],
        default="wallet",
        help_text="wallet: pay everything from the wallet (402 if it is short). mixed: the "
        "wallet pays what it has (held at once) and the rest goes through the gateway; "
        "answers 202 with the payment to complete.",
    )
    expected_amount_paise = serializers.IntegerField(
        required=False,
        help_text="The amount the client showed. The price is always the server's; a "
        "different amount is refused with 409 price_changed.",
    )


class OrderOut(serializers.ModelSerializer):
    number = serializers.CharField()
    item_name = serializers.CharField(source="item.name")
    sale_id = serializers.IntegerField(source="item.sale_id")
    purchase_id = serializers.IntegerField(allow_null=True)
    payment_method = serializers.SerializerMethodField(help_text="wallet or mixed.")
    payment_id = serializers.IntegerField(
        allow_null=True, help_text="The mixed payment that paid it, if any."
    )
    wallet_paid_paise = serializers.SerializerMethodField()
    gateway_paid_paise = serializers.SerializerMethodField(help_text="Paid by UPI/card.")

    def get_payment_method(self, order: FlashOrder) -> str:
        return "mixed" if order.payment_id else "wallet"

    def get_wallet_paid_paise(self, order: FlashOrder) -> int:
        return order.payment.wallet_part_paise if order.payment_id else order.amount_paise

    def get_gateway_paid_paise(self, order: FlashOrder) -> int:
        return order.payment.gateway_part_paise if order.payment_id else 0

    class Meta:
        model = FlashOrder
        fields = [
            "id",
            "number",
            "hold",
            "item",
            "item_name",
            "sale_id",
            "quantity",
            "unit_price_paise",
            "amount_paise",
            "purchase_id",
            "created_at",
            "payment_method",
            "payment_id",
            "wallet_paid_paise",
            "gateway_paid_paise",
        ]


class GatewayCheckoutOut(serializers.Serializer):
    gateway = serializers.CharField(help_text="simulated or razorpay.")
    key_id = serializers.CharField(help_text="The gateway's public key id (Razorpay SDKs need it).")
    order_id = serializers.CharField(help_text="The gateway order to pay (razorpay_order_id).")
    amount_paise = serializers.IntegerField(help_text="What the gateway charges.")
    currency = serializers.CharField()
    checkout_url = serializers.CharField(help_text="Absolute URL of the web checkout page.")


class FlashPaymentOut(serializers.ModelSerializer):
    number = serializers.CharField()
    hold_id = serializers.IntegerField()
    status = serializers.CharField(
        help_text="created, funds_reserved, payment_pending, paid, fulfilled, "
        "payment_failed, cancelled or expired."
    )
    order_id = serializers.SerializerMethodField(help_text="The flash order once fulfilled.")
    gateway = serializers.SerializerMethodField(
        help_text="What the app needs to take the card part; null once the payment is over."
    )
    steps = serializers.SerializerMethodField()

    class Meta:
        model = FlashPayment
        fields = [
            "id",
            "number",
            "hold_id",
            "status",
            "price_paise",
            "wallet_part_paise",
            "gateway_part_paise",
            "gateway_charge_paise",
            "expires_at",
            "failure_reason",
            "order_id",
            "gateway",
            "steps",
            "created_at",
        ]

    def get_order_id(self, payment: FlashPayment) -> int | None:
        order = getattr(payment, "order", None) if payment.status == "fulfilled" else None
        return order.pk if order else None

    @extend_schema_field(GatewayCheckoutOut(allow_null=True))
    def get_gateway(self, payment: FlashPayment) -> dict | None:
        from billing.gateways import gateway_named

        topup = payment.topup
        if payment.status != "payment_pending" or topup is None or not topup.gateway_order_id:
            return None
        gateway = gateway_named(topup.gateway)
        url = gateway.checkout_url(topup.gateway_order_id)
        request = self.context.get("request")
        return {
            "gateway": topup.gateway,
            "key_id": gateway.key_id,
            "order_id": topup.gateway_order_id,
            "amount_paise": topup.amount_paise,
            "currency": "INR",
            "checkout_url": request.build_absolute_uri(url) if request else url,
        }

    @extend_schema_field(
        serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    )
    def get_steps(self, payment: FlashPayment) -> list[dict]:
        return [
            {"status": t.to_status, "note": t.note, "at": t.created_at.isoformat()}
            for t in payment.transitions.all()
        ]


class PaymentVerifyIn(serializers.Serializer):
    razorpay_order_id = serializers.CharField(max_length=64)
    razorpay_payment_id = serializers.CharField(max_length=64)
    razorpay_signature = serializers.CharField(max_length=128)


class WaitlistOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    status = serializers.CharField()
    place = serializers.IntegerField(allow_null=True, help_text="1 = first in line.")
    joined_at = serializers.DateTimeField(source="created_at")
