from rest_framework import serializers

from marketplace.services.webhooks import EVENT_TYPES


class AccessCheckInput(serializers.Serializer):
    token = serializers.CharField(max_length=64)


class AccessCheckOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(required=False)
    service = serializers.CharField(required=False)
    plan = serializers.CharField(required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    units_left = serializers.IntegerField(required=False, allow_null=True)
    units_total = serializers.IntegerField(required=False, allow_null=True)
    test = serializers.BooleanField(required=False)


class UsageEventInput(serializers.Serializer):
    event_id = serializers.CharField(max_length=255)
    pass_token = serializers.CharField(max_length=64)
    units = serializers.IntegerField(default=1)
    timestamp = serializers.DateTimeField(required=False)


class UsageBatchInput(serializers.Serializer):
    events = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class UsageResultOutput(serializers.Serializer):
    event_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "refused"])
    reason = serializers.CharField(required=False)
    units_left = serializers.IntegerField(required=False)


class ApiKeyOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    mode = serializers.CharField()
    masked = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class TestPassInput(serializers.Serializer):
    plan_id = serializers.IntegerField()


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, default=list
    )


class WebhookDeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class SessionStartInput(serializers.Serializer):
    grant = serializers.CharField(
        max_length=1000,
        help_text="The session grant (fpsg_...) the user gave you: their consent to one session.",
    )


class SessionStartOutput(serializers.Serializer):
    session_id = serializers.IntegerField()
    token = serializers.CharField(help_text="Use it for heartbeat/ and stop/.")
    status = serializers.CharField()
    plan_id = serializers.IntegerField()
    rate_paise = serializers.IntegerField()
    unit = serializers.CharField()
    reserved_paise = serializers.IntegerField()
    cost_paise = serializers.IntegerField()
    started_at = serializers.DateTimeField()
