"""Shapes of the vendor's own API (/api/v1/console/...): earnings and moving them to the wallet."""

from rest_framework import serializers

from billing.api.serializers import PaiseField


class EarningsMoveInput(serializers.Serializer):
    amount_paise = PaiseField(
        required=False,
        help_text="Paise to move (₹1 = 100), a positive integer. Leave out and send "
        '`"all": true` to move the whole payable balance.',
    )
    all = serializers.BooleanField(
        required=False, default=False, help_text="Move the whole payable balance."
    )

    def validate(self, data):
        has_amount = data.get("amount_paise") is not None
        if has_amount == bool(data.get("all")):
            raise serializers.ValidationError(
                'Send either `amount_paise` or `"all": true`, not both and not neither.'
            )
        return data


class EarningsMoveOutput(serializers.Serializer):
    entry_id = serializers.IntegerField(help_text="The journal entry that moved the money.")
    amount_paise = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    payable_paise = serializers.IntegerField(help_text="Payable balance right after the move.")
    available_paise = serializers.IntegerField(help_text="Wallet balance right after the move.")


class EarningsMoveRowOutput(serializers.Serializer):
    entry_id = serializers.IntegerField()
    amount_paise = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    by_staff = serializers.BooleanField()


class EarningsOutput(serializers.Serializer):
    payable_paise = serializers.IntegerField(help_text="What FlexPass owes the vendor now.")
    movable_paise = serializers.IntegerField(
        help_text="The part of the payable that can be moved to the wallet now."
    )
    held_paise = serializers.IntegerField(
        help_text="The vendor's share of sales still inside their refund window "
        "(EARNINGS_HOLD_HOURS): it stays in the payable until the window closes."
    )
    held_until = serializers.DateTimeField(
        allow_null=True, help_text="When the oldest held sale's share can be moved."
    )
    available_paise = serializers.IntegerField(help_text="The vendor's wallet balance.")
    last_30_days_paise = serializers.IntegerField(
        help_text="Earnings over the last 30 days, less refunds."
    )
    recent_moves = EarningsMoveRowOutput(many=True)
