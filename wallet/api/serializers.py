"""Input and output shapes of the wallet API. Money is integer paise; no logic here."""

from rest_framework import serializers

from wallet.forms import NOTE_MAX_LENGTH
from wallet.models import EntryKind
from wallet.services import MAX_AMOUNT_PAISE


class PaiseField(serializers.IntegerField):
    """A JSON integer of paise. Floats (10.5, even 10.0), strings and booleans are refused."""

    default_error_messages = {
        "invalid": "Send a whole number of paise as a JSON integer, e.g. 25000 for ₹250.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class WalletOutput(serializers.Serializer):
    handle = serializers.CharField()
    available_paise = serializers.IntegerField()
    reserved_paise = serializers.IntegerField()
    total_paise = serializers.IntegerField()
    low_balance_threshold_paise = serializers.IntegerField()


class StatementFilterInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EntryKind.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="First day, inclusive (IST).")
    date_to = serializers.DateField(required=False, help_text="Last day, inclusive (IST).")

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise serializers.ValidationError({"date_to": "Must be on or after date_from."})
        return attrs


class StatementLineOutput(serializers.Serializer):
    id = serializers.IntegerField(source="posting_id")
    entry_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    kind_display = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()
    amount_paise = serializers.IntegerField(help_text="Signed: money in is positive.")
    balance_after_paise = serializers.IntegerField()


class TransferInput(serializers.Serializer):
    to = serializers.CharField(max_length=254, help_text="The recipient's @handle or email.")
    amount_paise = PaiseField(min_value=1, max_value=MAX_AMOUNT_PAISE)
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class RecipientOutput(serializers.Serializer):
    display_name = serializers.CharField()
    handle = serializers.CharField()


class TransferOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The journal entry id.")
    amount_paise = serializers.IntegerField()
    note = serializers.CharField()
    to = RecipientOutput()
    created_at = serializers.DateTimeField()
    available_paise = serializers.IntegerField(help_text="Your available balance afterwards.")


class RecipientQueryInput(serializers.Serializer):
    q = serializers.CharField(max_length=254, help_text="@handle or email address.")


class PingOutput(serializers.Serializer):
    ok = serializers.BooleanField()
