"""Wallet API: one view per operation. Views parse, call a selector or service, answer.

Errors are problem details (flexpass.api.problems); money-moving POSTs require
an Idempotency-Key (flexpass.idempotency).
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from flexpass.api.throttling import UserRateThrottle
from flexpass.idempotency import idempotent
from flexpass.money import format_rupees
from wallet import selectors, services
from wallet.api.serializers import (
    PingOutput,
    RecipientOutput,
    RecipientQueryInput,
    StatementFilterInput,
    StatementLineOutput,
    TransferInput,
    TransferOutput,
    WalletOutput,
)
from wallet.errors import InsufficientFunds

PROBLEM = OpenApiResponse(description="Problem details (RFC 9457)")
IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A unique key (a UUID) per payment. Retrying with the same key and body "
    "replays the first response with `Idempotent-Replayed: true`; the same key with a "
    "different body is 422; while the first request runs, 409.",
)


class WalletApi(APIView):
    """Your balances and handle."""

    @extend_schema(operation_id="wallet_retrieve", responses=WalletOutput, tags=["wallet"])
    def get(self, request):
        wallet = services.wallet_ensure(user=request.user)
        balances = selectors.Balances(wallet.available.balance_paise, wallet.reserved.balance_paise)
        return Response(
            WalletOutput(
                {
                    "handle": wallet.handle,
                    "available_paise": balances.available_paise,
                    "reserved_paise": balances.reserved_paise,
                    "total_paise": balances.total_paise,
                    "low_balance_threshold_paise": wallet.low_balance_threshold_paise,
                }
            ).data
        )


class StatementPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class StatementApi(APIView):
    """Movements of your available balance, newest first."""

    pagination_class = StatementPagination

    @extend_schema(
        operation_id="wallet_statement_list",
        parameters=[StatementFilterInput],
        responses={200: StatementLineOutput(many=True), 400: PROBLEM},
        tags=["wallet"],
    )
    def get(self, request):
        filters = StatementFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wallet = services.wallet_ensure(user=request.user)
        postings = selectors.statement_postings(wallet=wallet, **filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(postings, request, view=self)
        lines = selectors.statement_lines(page)
        return paginator.get_paginated_response(StatementLineOutput(lines, many=True).data)


class TransferCreateApi(APIView):
    """Send money from your available balance to another FlexPass user."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="wallet_transfer_create",
        parameters=[IDEMPOTENCY_KEY],
        request=TransferInput,
        responses={
            201: TransferOutput,
            400: PROBLEM,
            402: OpenApiResponse(description="Insufficient funds (problem details)"),
            404: OpenApiResponse(description="Unknown or inactive recipient (problem details)"),
            409: OpenApiResponse(description="Same key still in flight"),
            422: OpenApiResponse(description="Idempotency-Key reused with another body"),
        },
        tags=["wallet"],
    )
    @idempotent
    def post(self, request):
        data = TransferInput(data=request.data)
        data.is_valid(raise_exception=True)
        payload = data.validated_data
        recipient = selectors.recipient_access(query=payload["to"], sender=request.user)
        try:
            transfer = services.wallet_transfer(
                sender=request.user,
                recipient=recipient,
                amount_paise=payload["amount_paise"],
                idempotency_key=f"api:{request.headers['Idempotency-Key'].strip()}",
                note=payload["note"],
            )
        except InsufficientFunds:
            available = selectors.wallet_balances(user_id=request.user.pk).available_paise
            raise InsufficientFunds(
                f"You have {format_rupees(available)} available; "
                f"this transfer needs {format_rupees(payload['amount_paise'])}.",
                available_paise=available,
            ) from None
        body = TransferOutput(
            {
                "id": transfer.entry.pk,
                "amount_paise": payload["amount_paise"],
                "note": payload["note"],
                "to": {"display_name": recipient.display_name, "handle": transfer.target.handle},
                "created_at": transfer.entry.created_at,
                "available_paise": transfer.source.available.balance_paise,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class RecipientLookupThrottle(UserRateThrottle):
    """Looking people up is cheap to abuse (is this email on FlexPass?): keep it human-paced."""

    scope = "wallet_recipients"
    rate = "60/min"


class RecipientApi(APIView):
    """Who "@handle" or an email is, to confirm before sending."""

    throttle_classes = [RecipientLookupThrottle]

    @extend_schema(
        operation_id="wallet_recipient_retrieve",
        parameters=[RecipientQueryInput],
        responses={200: RecipientOutput, 400: PROBLEM, 404: PROBLEM},
        tags=["wallet"],
    )
    def get(self, request):
        query = RecipientQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        recipient = selectors.recipient_access(query=query.validated_data["q"], sender=request.user)
        wallet = services.wallet_ensure(user=recipient)
        return Response(
            RecipientOutput({"display_name": recipient.display_name, "handle": wallet.handle}).data
        )


class PingApi(APIView):
    """Authenticated no-op: the benchmark's baseline for the cost of the API stack itself."""

    @extend_schema(operation_id="wallet_ping", responses=PingOutput, tags=["wallet"])
    def get(self, request):
        return Response({"ok": True})
