"""The vendor API (server to server), authenticated by API key: /api/v1/vendor/...

Views parse input, call one service, serialise. Errors are problem details.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from flexpass.errors import DomainError, NotFound
from flexpass.idempotency import idempotent
from marketplace.models import Plan, WebhookDelivery
from marketplace.services import keys, usage, webhooks
from marketplace.vendor_api.auth import HasVendorKey, VendorApiKeyAuthentication
from marketplace.vendor_api.serializers import (
    AccessCheckInput,
    AccessCheckOutput,
    SessionStartInput,
    SessionStartOutput,
    TestPassInput,
    UsageBatchInput,
    UsageEventInput,
    UsageResultOutput,
    WebhookDeliveryOutput,
    WebhookEndpointInput,
    usage_batch_events,
    usage_event_validate,
)


class BatchTooLarge(DomainError):
    status_code = 413
    code = "batch_too_large"
    title = "Batch too large"


class VendorApiView(APIView):
    authentication_classes = [VendorApiKeyAuthentication]
    permission_classes = [HasVendorKey]
    throttle_classes: list = []  # the per-key sliding window runs in authentication


class AccessCheckView(VendorApiView):
    @extend_schema(
        request=AccessCheckInput,
        responses=AccessCheckOutput,
        summary="May the holder of this pass token use the service now?",
    )
    def post(self, request):
        data = AccessCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = usage.access_check(key=request.auth, token=data.validated_data["token"])
        return Response(result)  # AccessCheckOutput documents it; invalid answers are short


def _event(raw: dict) -> tuple[usage.EventIn | None, str, str]:
    """Parse one event; (event, "", "") or (None, event_id, reason)."""
    v, bad = usage_event_validate(raw)
    if bad:
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else ""
        return None, event_id, "malformed: " + ", ".join(bad)
    return usage.EventIn(v["event_id"], v["pass_token"], v["units"], v.get("timestamp")), "", ""


def _ingest(key, raws: list) -> list[dict]:
    parsed = [_event(raw if isinstance(raw, dict) else {}) for raw in raws]
    good = [e for e, _, _ in parsed if e is not None]
    outcome = usage.usage_ingest(key=key, events=good) if good else usage.IngestOutcome()
    ingested = iter(outcome.results)
    return [
        next(ingested).as_dict()
        if e is not None
        else {"event_id": event_id, "status": usage.REFUSED, "reason": reason}
        for e, event_id, reason in parsed
    ]


class UsageEventView(VendorApiView):
    @extend_schema(
        request=UsageEventInput,
        responses=UsageResultOutput,
        summary="Report one usage event (exactly once per event_id)",
    )
    def post(self, request):
        if not isinstance(request.data, dict) or usage_event_validate(request.data)[1]:
            UsageEventInput(data=request.data).is_valid(raise_exception=True)  # the 400
        result = _ingest(request.auth, [request.data])[0]
        code = {
            usage.ACCEPTED: status.HTTP_201_CREATED,
            usage.DUPLICATE: status.HTTP_200_OK,
            usage.REFUSED: status.HTTP_422_UNPROCESSABLE_ENTITY,
        }[result["status"]]
        return Response(result, status=code)


class UsageBatchView(VendorApiView):
    @extend_schema(
        request=UsageBatchInput,
        responses=UsageResultOutput(many=True),
        summary="Report up to 1,000 usage events; one result per event, in order",
    )
    def post(self, request):
        raws = usage_batch_events(request.data)
        if raws is None:  # malformed: DRF's serializer words the 400
            s = UsageBatchInput(data=request.data)
            s.is_valid(raise_exception=True)
            raws = request.data["events"]
        if len(raws) > settings.USAGE_BATCH_MAX:
            raise BatchTooLarge(f"At most {settings.USAGE_BATCH_MAX} events per batch.")
        results = _ingest(request.auth, raws)
        counts = {k: 0 for k in (usage.ACCEPTED, usage.DUPLICATE, usage.REFUSED)}
        for r in results:
            counts[r["status"]] += 1
        return Response({**counts, "results": results})


class TestPassView(VendorApiView):
    @extend_schema(
        request=TestPassInput,
        responses=OpenApiTypes.OBJECT,
        summary="Mint a test pass on one of your plans",
    )
    def post(self, request):
        s = TestPassInput(data=request.data)
        s.is_valid(raise_exception=True)
        if request.auth.mode != "test":
            raise keys.KeyForbidden("Test passes are minted with a test key.")
        plan = Plan.objects.select_related("service").filter(pk=s.validated_data["plan_id"]).first()
        if plan is None:
            raise NotFound("No such plan.")
        p = keys.test_pass_mint(vendor=request.auth.vendor, plan=plan)
        return Response(
            {"id": p.pk, "token": p.token, "kind": p.kind, "units_left": p.units_left},
            status=status.HTTP_201_CREATED,
        )


class WebhookEndpointView(VendorApiView):
    @extend_schema(
        request=WebhookEndpointInput,
        responses=OpenApiTypes.OBJECT,
        summary="Register a webhook endpoint",
    )
    def post(self, request):
        s = WebhookEndpointInput(data=request.data)
        s.is_valid(raise_exception=True)
        endpoint, secret = webhooks.webhook_endpoint_create(
            vendor=request.auth.vendor, **s.validated_data
        )
        return Response(
            {"id": endpoint.pk, "url": endpoint.url, "events": endpoint.events, "secret": secret},
            status=status.HTTP_201_CREATED,
        )


class WebhookDeliveryListView(VendorApiView):
    @extend_schema(responses=WebhookDeliveryOutput(many=True), summary="Recent deliveries")
    def get(self, request):
        qs = WebhookDelivery.objects.filter(endpoint__vendor=request.auth.vendor)
        wanted = request.query_params.get("status")
        if wanted:
            qs = qs.filter(status=wanted)
        return Response(WebhookDeliveryOutput(qs[:100], many=True).data)


class WebhookReplayView(VendorApiView):
    @extend_schema(
        request=None,
        responses=OpenApiTypes.OBJECT,
        summary="Replay one failed delivery (id) or all failed ones",
    )
    def post(self, request, delivery_id: int | None = None):
        count = webhooks.webhook_replay(vendor=request.auth.vendor, delivery_id=delivery_id)
        return Response({"replayed": count}, status=status.HTTP_202_ACCEPTED)


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    type=str,
    required=True,
    description="A unique key per start, at most 255 characters. Retrying with the same key "
    "replays the first response (`Idempotent-Replayed: true`); the same key with a different "
    "body is 422, while the first request still runs 409.",
)
PROBLEM = OpenApiResponse(description="Problem details (RFC 9457).")


class SessionStartView(VendorApiView):
    @extend_schema(
        request=SessionStartInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: SessionStartOutput,
            400: PROBLEM,
            402: OpenApiResponse(description="The user's balance does not cover the first block."),
            403: OpenApiResponse(description="Not a live key: sessions move money."),
            409: OpenApiResponse(
                description="The grant already started a session (named by `session_id` "
                "and `token` in the problem)."
            ),
            422: OpenApiResponse(
                description="Grant not valid (or another vendor's), expired, or the plan is "
                "not a metered plan on sale."
            ),
        },
        summary="Start a metered session with the user's session grant (reserves the first block)",
    )
    @idempotent
    def post(self, request):
        from marketplace.services import sessions

        if request.auth.mode != "live":
            raise keys.KeyForbidden("Metered sessions move money: use a live key.")
        s = SessionStartInput(data=request.data)
        s.is_valid(raise_exception=True)
        session = sessions.session_start_by_vendor(
            vendor_id=request.auth.vendor_id, grant=s.validated_data["grant"]
        )
        return Response(
            SessionStartOutput(
                {
                    "session_id": session.pk,
                    "token": session.token,
                    "status": session.status,
                    "plan_id": session.plan_id,
                    "rate_paise": session.rate_paise,
                    "unit": session.unit,
                    "reserved_paise": session.reserved_paise,
                    "cost_paise": 0,
                    "started_at": session.started_at,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class SessionActionInput(serializers.Serializer):
    calls = serializers.IntegerField(min_value=0, default=0)


def _session_id(vendor_id: int, token: str) -> int:
    from marketplace.models import MeteredSession

    pk = (
        MeteredSession.objects.filter(token=token, vendor_id=vendor_id)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        raise NotFound("No such session.")
    return pk


class SessionHeartbeatView(VendorApiView):
    @extend_schema(
        request=SessionActionInput,
        responses=OpenApiTypes.OBJECT,
        summary="Heartbeat a metered session: extends the reservation, returns cost so far",
    )
    def post(self, request, token: str):
        from marketplace.services import sessions

        if request.auth.mode != "live":
            raise keys.KeyForbidden("Metered sessions move money: use a live key.")
        s = SessionActionInput(data=request.data)
        s.is_valid(raise_exception=True)
        event = sessions.session_heartbeat(
            session_id=_session_id(request.auth.vendor_id, token),
            vendor_id=request.auth.vendor_id,
            calls=s.validated_data["calls"],
        )
        return Response({k: v for k, v in event.items() if k != "type"})


class SessionStopView(VendorApiView):
    @extend_schema(
        request=SessionActionInput,
        responses=OpenApiTypes.OBJECT,
        summary="Stop a metered session and settle it",
    )
    def post(self, request, token: str):
        from marketplace.services import sessions

        if request.auth.mode != "live":
            raise keys.KeyForbidden("Metered sessions move money: use a live key.")
        s = SessionActionInput(data=request.data)
        s.is_valid(raise_exception=True)
        session = sessions.session_stop(
            session_id=_session_id(request.auth.vendor_id, token),
            vendor_id=request.auth.vendor_id,
            calls=s.validated_data["calls"],
        )
        return Response(
            {
                "session_id": session.pk,
                "status": session.status,
                "stop_reason": session.stop_reason,
                "cost_paise": session.cost_paise,
            }
        )
