"""Input and output shapes of /api/v1/support/ and /api/v1/notifications/.

Outputs are the same dicts the sockets send (support.payloads); these classes
describe them for the OpenAPI schema and validate inputs.
"""

from rest_framework import serializers

from support.models import (
    AgentStatus,
    ConversationKind,
    ConversationStatus,
    NotificationKind,
    Priority,
)


class PersonOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SenderOut(PersonOut):
    id = serializers.IntegerField(allow_null=True)
    role = serializers.ChoiceField(choices=["customer", "vendor", "agent", "member", "system"])


class AttachmentOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    size = serializers.IntegerField()
    is_image = serializers.BooleanField()
    url = serializers.CharField(help_text="Download URL; members only (session or token).")


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    client_id = serializers.CharField(help_text="The sender's own id for the message (dedupe).")
    kind = serializers.ChoiceField(choices=["text", "note", "system"])
    internal = serializers.BooleanField(help_text="Internal notes are only ever sent to staff.")
    body = serializers.CharField()
    sender = SenderOut()
    attachment = AttachmentOut(allow_null=True)
    created_at = serializers.DateTimeField()


class ConversationOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=ConversationKind.choices)
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=ConversationStatus.choices)
    status_display = serializers.CharField()
    priority = serializers.ChoiceField(choices=Priority.choices)
    priority_display = serializers.CharField()
    customer = PersonOut()
    vendor = PersonOut(allow_null=True)
    assignee = PersonOut(allow_null=True)
    snoozed_until = serializers.DateTimeField(allow_null=True)
    rate_paise = serializers.IntegerField(
        allow_null=True, help_text="Consultations on a metered plan: the rate per unit."
    )
    rate_unit = serializers.CharField()
    last_message_id = serializers.IntegerField()
    last_message_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class ConversationListItemOut(ConversationOut):
    unread = serializers.IntegerField(help_text="Messages others sent after your read mark.")
    last_message_preview = serializers.CharField()


class ConversationListOut(serializers.Serializer):
    results = ConversationListItemOut(many=True)


class ConversationCreateIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConversationKind.choices, default="support")
    subject = serializers.CharField(max_length=160, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=4000)
    client_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    service = serializers.SlugField(
        required=False, help_text="Consultations: the slug of the service you ask about."
    )

    def validate(self, attrs):
        if attrs["kind"] == "consultation" and not attrs.get("service"):
            raise serializers.ValidationError({"service": "Which service is this about?"})
        return attrs


class ConversationUpdateIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True)


class MessageListQuery(serializers.Serializer):
    after = serializers.IntegerField(
        default=0, help_text="Last message id you have (0: from the start)."
    )
    before = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Earliest message id you have: the newest messages before it instead "
        "(scrolling back through history). Takes the place of `after`.",
    )
    limit = serializers.IntegerField(
        required=False,
        help_text="At most this many: 1 to 100, nearer bounds are used for values outside "
        "(default 100 with after, 50 with before).",
    )


class MessageListOut(serializers.Serializer):
    results = MessageOut(many=True)
    more = serializers.BooleanField(
        help_text="More follow: ask again with after=<last id> (with `before`: older ones "
        "exist, ask again with before=<first id>)."
    )
    read = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='{"customer": id, "team": id}: how far each side has read.',
    )


class MessageCreateIn(serializers.Serializer):
    body = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    client_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    internal = serializers.BooleanField(required=False, default=False)
    attachment = serializers.FileField(
        required=False, help_text="An image (PNG, JPEG, GIF, WebP) or a PDF; multipart only."
    )


class ReadIn(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=0)


class ReadOut(serializers.Serializer):
    last_read_id = serializers.IntegerField()


class AssignIn(serializers.Serializer):
    agent = serializers.CharField(
        allow_null=True,
        help_text='A staff user id, "me", "auto" (round-robin) or null to unassign.',
    )


class RatingIn(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RatingOut(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class CannedReplyOut(serializers.Serializer):
    shortcut = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()


class AgentOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)
    max_open = serializers.IntegerField()
    open_count = serializers.IntegerField()


class AgentIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=AgentStatus.choices)


# --- notifications ---------------------------------------------------------------------------


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    kind_display = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    data = serializers.DictField()
    read = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class UnreadCountOut(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadAllOut(serializers.Serializer):
    marked_read = serializers.IntegerField()


class PreferenceOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    label = serializers.CharField()
    help = serializers.CharField()
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesOut(serializers.Serializer):
    results = PreferenceOut(many=True)


class PreferenceIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    in_app = serializers.BooleanField()
    email = serializers.BooleanField()


class PreferencesIn(serializers.Serializer):
    preferences = PreferenceIn(many=True)
