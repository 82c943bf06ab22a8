from rest_framework import serializers

from accounts.validators import PHONE_MAX_LENGTH, validate_phone


class ProfileOutput(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    role = serializers.CharField(source="user.role")
    display_name = serializers.CharField()
    phone = serializers.CharField()
    referral_code = serializers.CharField()
    referral_url = serializers.SerializerMethodField()

    def get_referral_url(self, profile) -> str:
        return self.context["request"].build_absolute_uri(f"/r/{profile.referral_code}")


class ProfileInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=80, allow_blank=True, required=False)
    phone = serializers.CharField(
        max_length=PHONE_MAX_LENGTH, allow_blank=True, required=False, validators=[validate_phone]
    )
