from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty

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


# --- the lean event validator -------------------------------------------------------------
# A batch is up to 1,000 events; building a UsageEventInput per event (DRF deep-copies its
# fields for every instance) cost ~170 us an event, two thirds of a batch's time. These
# run the very same field objects, built once, with DRF's per-field steps, and skip even
# those for the common well-formed values, for which DRF would return the value as is.
_EVENT_FIELDS = UsageEventInput().fields


def _plain_str(value, max_length: int) -> bool:
    """A string DRF's CharField returns unchanged: non-blank, stripped, printable ASCII."""
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


def _drf_field(name: str, value, data: dict, bad: list[str]) -> None:
    """DRF's own steps for one field (empty value: required / default / skipped)."""
    try:
        data[name] = _EVENT_FIELDS[name].run_validation(value)
    except SkipField:
        pass
    except ValidationError:
        bad.append(name)


def usage_event_validate(raw: dict) -> tuple[dict, list[str]]:
    """(validated data, sorted names of invalid fields), exactly as UsageEventInput would.

    Unknown keys are ignored, `units` defaults to 1, `timestamp` is optional.
    """
    data: dict = {}
    bad: list[str] = []
    value = raw.get("event_id", empty)
    if _plain_str(value, 255):
        data["event_id"] = value
    else:
        _drf_field("event_id", value, data, bad)
    value = raw.get("pass_token", empty)
    if _plain_str(value, 64):
        data["pass_token"] = value
    else:
        _drf_field("pass_token", value, data, bad)
    value = raw.get("units", empty)
    if type(value) is int:
        data["units"] = value
    else:
        _drf_field("units", value, data, bad)  # missing: the default, 1
    value = raw.get("timestamp", empty)
    if value is not empty:
        _drf_field("timestamp", value, data, bad)
    if bad:
        bad.sort()
    return data, bad


def usage_batch_events(data) -> list[dict] | None:
    """The events of a well-formed batch body, or None (then UsageBatchInput says why)."""
    if not isinstance(data, dict):
        return None
    events = data.get("events")
    if type(events) is not list or not events:
        return None
    for event in events:
        if not isinstance(event, dict):
            return None
    return events


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
