"""The vendor's own JSON API (/api/v1/console/...), signed in as the vendor user (session or
app token) - not the server-to-server API-key API under /api/v1/vendor/.

GET the payable balance; POST moves earnings to the vendor's wallet (Idempotency-Key
required), from where the wallet withdrawal API pays out to the bank.
"""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.views import IDEMPOTENCY_KEY
from flexpass.idempotency import idempotent
from marketplace import console_selectors
from marketplace.api.console_serializers import (
    EarningsMoveInput,
    EarningsMoveOutput,
    EarningsOutput,
)
from marketplace.services.payouts import earnings_to_wallet
from wallet.selectors import wallet_balances

PROBLEM = OpenApiResponse(description="Problem details (RFC 9457), with field errors for 400.")
TAGS = ["vendor console: earnings"]


class IsVendor(BasePermission):
    message = "This API is for vendors."

    def has_permission(self, request, view):
        return getattr(request.user, "vendor_profile", None) is not None


class EarningsApi(APIView):
    permission_classes = [IsAuthenticated, IsVendor]

    @extend_schema(
        operation_id="console_earnings_retrieve",
        tags=TAGS,
        summary="My payable balance (what can move now, what is held), wallet balance and "
        "latest moves to the wallet",
        responses={200: EarningsOutput, 401: PROBLEM, 403: PROBLEM},
    )
    def get(self, request):
        vendor = request.user.vendor_profile
        earnings = console_selectors.vendor_earnings(vendor=vendor)
        body = {
            "payable_paise": earnings.payable_paise,
            "movable_paise": earnings.movable_paise,
            "held_paise": earnings.held_paise,
            "held_until": earnings.held.first_release_at,
            "available_paise": wallet_balances(user_id=vendor.user_id).available_paise,
            "last_30_days_paise": earnings.total_paise,
            "recent_moves": [
                asdict(m) for m in console_selectors.vendor_earnings_moves(vendor=vendor)
            ],
        }
        return Response(EarningsOutput(body).data)


class EarningsTransfersApi(APIView):
    permission_classes = [IsAuthenticated, IsVendor]

    @extend_schema(
        operation_id="console_earnings_transfers_create",
        tags=TAGS,
        summary="Move earnings from my payable balance to my wallet",
        description='Moves `amount_paise` (or, with `"all": true`, the whole payable '
        "balance that can move now) to the vendor's wallet at once; withdraw it to a bank "
        "with `POST /api/v1/wallet/withdrawals/`. The share of sales younger than the "
        "refund window stays in the payable. More than can move now is refused "
        "with 402 `insufficient_funds` and moves nothing. Retrying with the same "
        "`Idempotency-Key` replays the first response; the same key with a different "
        "body is 422.",
        parameters=[IDEMPOTENCY_KEY],
        request=EarningsMoveInput,
        responses={
            201: EarningsMoveOutput,
            400: PROBLEM,
            401: PROBLEM,
            402: PROBLEM,
            403: PROBLEM,
            409: PROBLEM,
            422: PROBLEM,
            503: PROBLEM,
        },
        examples=[
            OpenApiExample("An amount", value={"amount_paise": 150000}, request_only=True),
            OpenApiExample("All of it", value={"all": True}, request_only=True),
        ],
    )
    @idempotent
    def post(self, request):
        data = EarningsMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        move = earnings_to_wallet(
            vendor_user=request.user,
            amount_paise=None
            if data.validated_data["all"]
            else data.validated_data["amount_paise"],
            idempotency_key=request.headers["Idempotency-Key"].strip(),
        )
        return Response(EarningsMoveOutput(asdict(move)).data, status=status.HTTP_201_CREATED)
