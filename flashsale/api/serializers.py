"""Input and output shapes of the flash-sale API. No logic here: views call services."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from flashsale.models import FlashOrder, FlashSale, Hold, HoldStatus, SaleItem
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

    def get_status(self, hold: Hold) -> str:
        if hold.status == HoldStatus.ACTIVE and not hold.is_open():
            return HoldStatus.EXPIRED
        return hold.status

    def get_seconds_left(self, hold: Hold) -> int:
        if hold.status != HoldStatus.ACTIVE:
            return 0
        return max(0, int((hold.expires_at - timezone.now()).total_seconds()))

    def get_amount_paise(self, hold: Hold) -> int:
        return hold.item.sale_price_paise * hold.quantity

    def get_order_id(self, hold: Hold) -> int | None:
        order = getattr(hold, "order", None) if hold.status == HoldStatus.CONFIRMED else None
        return order.pk if order else None


class HoldListOut(serializers.Serializer):
    results = HoldOut(many=True)


class OrderOut(serializers.ModelSerializer):
    number = serializers.CharField()
    item_name = serializers.CharField(source="item.name")
    sale_id = serializers.IntegerField(source="item.sale_id")
    purchase_id = serializers.IntegerField(allow_null=True)

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
        ]


class WaitlistOut(serializers.Serializer):
    item_id = serializers.IntegerField()
    status = serializers.CharField()
    place = serializers.IntegerField(allow_null=True, help_text="1 = first in line.")
    joined_at = serializers.DateTimeField(source="created_at")
