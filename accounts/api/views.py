from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import ProfileInput, ProfileOutput


class MeApi(APIView):
    """The signed-in user's profile."""

    @extend_schema(responses=ProfileOutput)
    def get(self, request):
        profile = services.profile_ensure(user=request.user)
        return Response(ProfileOutput(profile, context={"request": request}).data)

    @extend_schema(request=ProfileInput, responses=ProfileOutput)
    def patch(self, request):
        data = ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        current = services.profile_ensure(user=request.user)
        profile = services.profile_update(
            user=request.user,
            display_name=data.validated_data.get("display_name", current.display_name),
            phone=data.validated_data.get("phone", current.phone),
        )
        return Response(ProfileOutput(profile, context={"request": request}).data)
