"""Billing's JSON API: top-ups and withdrawals (/api/v1/wallet/...) and the gateway webhook.

Views parse input, call one service and serialise the result. Domain errors
become problem details in flexpass.api.problems.
"""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors, services
from billing.api.serializers import (
    TopUpCreatedOutput,
    TopUpCreateInput,
    TopUpOutput,
    TopUpVerifyInput,
    WithdrawalCreateInput,
    WithdrawalOutput,
)
from billing.gateways import gateway_named
from flexpass.api.throttling import ScopedRateThrottle
from flexpass.idempotency import idempotent

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    type=str,
    required=True,
    description="A unique key (a UUID) per payment request, at most 255 characters. "
    "Retrying with the same key replays the first response with `Idempotent-Replayed: "
    "true`; the same key with a different body is refused with 422.",
)
PROBLEM = OpenApiResponse(description="Problem details (RFC 9457), with field errors for 400.")


class TopUpPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TopUpOutput(many=True)


class WithdrawalPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WithdrawalOutput(many=True)


def _page(view, request, queryset, output):
    paginator = LimitOffsetPagination()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(rows, many=True).data)


class TopUpsApi(APIView):
    @extend_schema(
        operation_id="wallet_topups_list",
        tags=["wallet: top-ups"],
        summary="My top-ups, newest first",
        responses={200: TopUpPage},
    )
    def get(self, request):
        return _page(self, request, selectors.topups_for_user(user=request.user), TopUpOutput)

    @extend_schema(
        operation_id="wallet_topups_create",
        tags=["wallet: top-ups"],
        summary="Start a top-up: creates a gateway order to pay at checkout_url",
        parameters=[IDEMPOTENCY_KEY],
        request=TopUpCreateInput,
        responses={201: TopUpCreatedOutput, 400: PROBLEM, 409: PROBLEM, 422: PROBLEM, 502: PROBLEM},
    )
    @idempotent
    def post(self, request):
        data = TopUpCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        topup = services.topup_create(
            user=request.user,
            amount_paise=data.validated_data["amount_paise"],
            idempotency_key=request.headers["Idempotency-Key"].strip(),
        )
        gateway = gateway_named(topup.gateway)
        topup.checkout_url = request.build_absolute_uri(
            gateway.checkout_url(topup.gateway_order_id)
        )
        topup.key_id = gateway.key_id
        return Response(TopUpCreatedOutput(topup).data, status=status.HTTP_201_CREATED)


class TopUpDetailApi(APIView):
    @extend_schema(
        operation_id="wallet_topups_retrieve",
        tags=["wallet: top-ups"],
        summary="One of my top-ups (poll it after checkout)",
        responses={200: TopUpOutput, 404: PROBLEM},
    )
    def get(self, request, topup_id: int):
        topup = selectors.access_topup(user=request.user, topup_id=topup_id)
        return Response(TopUpOutput(topup).data)


class TopUpVerifyApi(APIView):
    @extend_schema(
        operation_id="wallet_topups_verify",
        tags=["wallet: top-ups"],
        summary="Confirm checkout's signed payment; credits the wallet once",
        description="Send `razorpay_payment_id` and `razorpay_signature` from checkout. The "
        "signature is checked against the order stored for this top-up. Safe to repeat: "
        "a payment is credited exactly once, whether this call or the webhook comes first.",
        request=TopUpVerifyInput,
        responses={200: TopUpOutput, 400: PROBLEM, 404: PROBLEM},
    )
    def post(self, request, topup_id: int):
        data = TopUpVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        topup = services.topup_confirm_return(
            user=request.user,
            topup_id=topup_id,
            payment_id=data.validated_data["payment_id"],
            signature=data.validated_data["signature"],
        )
        return Response(TopUpOutput(topup).data)


class WithdrawalsApi(APIView):
    @extend_schema(
        operation_id="wallet_withdrawals_list",
        tags=["wallet: withdrawals"],
        summary="My withdrawals and their review status",
        responses={200: WithdrawalPage},
    )
    def get(self, request):
        return _page(
            self, request, selectors.withdrawals_for_user(user=request.user), WithdrawalOutput
        )

    @extend_schema(
        operation_id="wallet_withdrawals_create",
        tags=["wallet: withdrawals"],
        summary="Ask to withdraw to a bank account; the amount is reserved until staff review",
        parameters=[IDEMPOTENCY_KEY],
        request=WithdrawalCreateInput,
        responses={201: WithdrawalOutput, 400: PROBLEM, 402: PROBLEM, 409: PROBLEM, 422: PROBLEM},
    )
    @idempotent
    def post(self, request):
        data = WithdrawalCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = services.withdrawal_request(
            user=request.user,
            idempotency_key=request.headers["Idempotency-Key"].strip(),
            **data.validated_data,
        )
        return Response(WithdrawalOutput(withdrawal).data, status=status.HTTP_201_CREATED)


class WebhookThrottle(ScopedRateThrottle):
    """Per-IP limit for the public webhook endpoint (rate from BILLING_WEBHOOK_RATE)."""

    def get_rate(self):
        return settings.BILLING_WEBHOOK_RATE


class RazorpayWebhookApi(APIView):
    """Razorpay (or the simulator) calls this. No session, no CSRF: the signature is the auth."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]
    throttle_scope = "billing_webhook"

    @extend_schema(
        operation_id="billing_webhooks_razorpay",
        tags=["billing: gateway webhooks"],
        summary="Razorpay webhook receiver",
        description="Verifies `X-Razorpay-Signature` (HMAC-SHA256 of the raw body with the "
        "webhook secret), deduplicates on `X-Razorpay-Event-Id`, then applies "
        "payment.captured / order.paid / payment.failed / payment.authorized. A replay is "
        "acknowledged with 200 and changes nothing.",
        request={"application/json": {"type": "object"}},
        responses={200: OpenApiResponse(description="Accepted"), 400: PROBLEM, 429: PROBLEM},
        auth=[],
    )
    def post(self, request):
        raw_body = request.body  # the exact bytes, before any parser touches the stream
        outcome = services.webhook_receive(
            raw_body=raw_body,
            signature=request.headers.get("X-Razorpay-Signature", ""),
            event_id=request.headers.get("X-Razorpay-Event-Id", ""),
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
        return Response({"status": "ok", "outcome": outcome})
