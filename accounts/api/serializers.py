from rest_framework import serializers


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
    phone = serializers.RegexField(
        r"^\+?[0-9 ]{7,20}$", max_length=20, allow_blank=True, required=False
    )
