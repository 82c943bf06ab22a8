import re

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from billing.bank_details import clean_account_holder, clean_account_number, clean_ifsc
from billing.errors import WithdrawalRefused
from billing.models import TopUp, Withdrawal
from wallet.services import MAX_AMOUNT_PAISE

_DIGITS = re.compile(r"^\d+$")


class PaiseField(serializers.Field):
    """A whole, positive number of paise. No floats, no "12.50", no booleans.

    JSON integers only; a string of plain digits is accepted for form-encoded
    clients. Anything else is a field error, never silently rounded.
    """

    default_error_messages = {
        "invalid": "Send a whole number of paise, like 50000 for ₹500.",
        "min": "The amount must be more than zero.",
        "max": "The amount is too large.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Amount in paise (₹1 = 100), a positive integer.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and _DIGITS.match(data.strip()) and len(data.strip()) < 20:
            data = int(data.strip())
        if not isinstance(data, int):
            self.fail("invalid")
        if data <= 0:
            self.fail("min")
        if data > MAX_AMOUNT_PAISE:
            self.fail("max")
        return data

    def to_representation(self, value):
        return int(value)


class PaiseFieldSchema(OpenApiSerializerFieldExtension):
    """drf-spectacular: document PaiseField as a bounded int64."""

    target_class = PaiseField

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.INT64)
        schema.update({"minimum": 1, "maximum": MAX_AMOUNT_PAISE})
        return schema


class TopUpCreateInput(serializers.Serializer):
    amount_paise = PaiseField()


class TopUpOutput(serializers.ModelSerializer):
    order_id = serializers.CharField(source="gateway_order_id", allow_null=True)
    payment_id = serializers.CharField(source="gateway_payment_id", allow_null=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = TopUp
        fields = [
            "id",
            "amount_paise",
            "currency",
            "status",
            "gateway",
            "order_id",
            "payment_id",
            "failure_reason",
            "created_at",
            "captured_at",
        ]

    def get_currency(self, obj) -> str:
        return "INR"


class TopUpCreatedOutput(TopUpOutput):
    """What an app needs to open checkout: the order, where to pay, the public key."""

    checkout_url = serializers.CharField(help_text="Absolute URL of the checkout page.")
    key_id = serializers.CharField(help_text="The gateway's public key id (Razorpay SDKs need it).")

    class Meta(TopUpOutput.Meta):
        fields = [*TopUpOutput.Meta.fields, "checkout_url", "key_id"]


class TopUpVerifyInput(serializers.Serializer):
    payment_id = serializers.CharField(max_length=64, help_text="razorpay_payment_id")
    signature = serializers.CharField(max_length=128, help_text="razorpay_signature")


def _domain_check(check, value):
    try:
        return check(value)
    except WithdrawalRefused as exc:
        raise serializers.ValidationError(str(exc)) from exc


class WithdrawalCreateInput(serializers.Serializer):
    amount_paise = PaiseField()
    account_holder = serializers.CharField(max_length=100)
    account_number = serializers.CharField(max_length=30, help_text="9 to 18 digits.")
    ifsc = serializers.CharField(max_length=11, help_text="Like HDFC0001234.")

    def validate_account_holder(self, value):
        return _domain_check(clean_account_holder, value)

    def validate_account_number(self, value):
        return _domain_check(clean_account_number, value)

    def validate_ifsc(self, value):
        return _domain_check(clean_ifsc, value)


class WithdrawalOutput(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    account_number = serializers.CharField(source="account_masked")

    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "amount_paise",
            "status",
            "status_label",
            "account_holder",
            "account_number",
            "ifsc",
            "reason",
            "created_at",
            "reviewed_at",
        ]
