"""Input and output shapes of the marketplace API. No logic: views call services."""

from rest_framework import serializers

from flexpass.rows import MAX_ID
from marketplace.models import (
    Order,
    PassStatus,
    Plan,
    PlanKind,
    PurchaseStatus,
    Service,
)


class CategoryOutput(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()


class VendorOutput(serializers.Serializer):
    name = serializers.CharField(source="business_name")
    slug = serializers.CharField()


class PlanOutput(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    purchasable = serializers.BooleanField(source="is_purchasable", read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "service",
            "kind",
            "name",
            "description",
            "price_paise",
            "duration_hours",
            "units",
            "unit_label",
            "validity_days",
            "metered_rate_paise",
            "metered_unit",
            "purchasable",
        ]


class ServiceOutput(serializers.ModelSerializer):
    vendor = VendorOutput()
    category = CategoryOutput()
    logo_url = serializers.SerializerMethodField()
    min_price_paise = serializers.IntegerField(allow_null=True, read_only=True)
    plans = PlanOutput(many=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "tagline",
            "description",
            "vendor",
            "category",
            "logo_url",
            "initials",
            "accent",
            "purchases_count",
            "min_price_paise",
            "plans",
            "created_at",
            "url",
        ]

    def get_logo_url(self, service) -> str | None:
        return service.logo.url if service.logo else None

    def get_url(self, service) -> str:
        from django.urls import reverse

        return reverse("marketplace:service", args=[service.slug])


# PassOutput and ReceiptOutput name every field's type themselves rather than being
# ModelSerializers: they answer every purchase, and a ModelSerializer rebuilds its
# fields from the model for each instance it renders, which cost more than the rest
# of the response.


class PassOutput(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug", help_text="The service's slug.")
    service_name = serializers.CharField(source="service.name")
    plan = serializers.IntegerField(source="plan_id")
    plan_name = serializers.CharField(source="plan.name")
    purchase = serializers.IntegerField(source="purchase_id", allow_null=True)
    kind = serializers.ChoiceField(choices=PlanKind.choices)
    status = serializers.ChoiceField(choices=PassStatus.choices)
    starts_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    seconds_left = serializers.SerializerMethodField()
    units_total = serializers.IntegerField(allow_null=True)
    units_left = serializers.IntegerField(allow_null=True)
    token = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_seconds_left(self, pass_obj) -> int | None:
        from marketplace.selectors import time_left_seconds

        return time_left_seconds(pass_obj)


class ReceiptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    service = serializers.CharField(source="service.slug", help_text="The service's slug.")
    service_name = serializers.CharField(source="service.name")
    plan = serializers.IntegerField(source="plan_id")
    plan_name = serializers.CharField(source="plan.name")
    plan_terms = serializers.CharField(help_text="What the plan gave when it was bought.")
    vendor_name = serializers.CharField(source="vendor.business_name")
    price_paise = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PurchaseStatus.choices)
    refunded_paise = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id", allow_null=True)
    pass_id = serializers.IntegerField(source="pass_obj.id")
    entry = serializers.IntegerField(source="entry_id", help_text="The journal entry.")
    created_at = serializers.DateTimeField()
    receipt_url = serializers.SerializerMethodField()

    def get_receipt_url(self, purchase) -> str:
        from django.urls import reverse

        return reverse("marketplace:receipt", args=[purchase.pk])


class PurchaseOutput(serializers.Serializer):
    receipt = ReceiptOutput(source="*")
    pass_ = PassOutput(source="pass_obj")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["pass"] = data.pop("pass_")
        return data


class BuyInput(serializers.Serializer):
    plan_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    expected_price_paise = serializers.IntegerField(
        required=False,
        help_text="The price the buyer was shown. If the server's price differs, nothing is "
        "charged and the answer is 409 price_changed. The price charged always comes from "
        "the server.",
    )


class OrderStepOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class OrderOutput(serializers.ModelSerializer):
    number = serializers.CharField()
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    plan = serializers.PrimaryKeyRelatedField(read_only=True)
    steps = OrderStepOutput(source="transitions", many=True)
    checkout_url = serializers.SerializerMethodField()
    purchase = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "service",
            "plan",
            "price_paise",
            "wallet_part_paise",
            "gateway_part_paise",
            "gateway_charge_paise",
            "failure_reason",
            "expires_at",
            "created_at",
            "checkout_url",
            "purchase",
            "steps",
        ]

    def get_checkout_url(self, order) -> str | None:
        url = self.context.get("checkout_urls", {}).get(order.pk)
        return url or None

    def get_purchase(self, order) -> int | None:
        purchase = getattr(order, "purchase", None) if order.status == "fulfilled" else None
        return purchase.pk if purchase else None
