"""/api/v1/flash-sales/: list sales with live stock, hold, check out, release, waitlist.

Views parse input, call a service or selector, and shape the output. Errors
are problem details (flexpass.api.problems) raised by the services.

Creating a hold takes an `Idempotency-Key` like every payment POST, but keeps
it on the hold row itself (unique per user, in the same transaction as the
stock take): a repeat returns the first hold with `Idempotent-Replayed: true`
and costs the hot path nothing. Checkout moves money and goes through the
shared `@idempotent` layer as well as the hold's own exactly-once flip.
"""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from flashsale import selectors, services
from flashsale.api.serializers import (
    CheckoutIn,
    FlashPaymentOut,
    HoldCreateIn,
    HoldListOut,
    HoldOut,
    OrderOut,
    PaymentVerifyIn,
    SaleListOut,
    SaleOut,
    WaitlistOut,
)
from flashsale.errors import HoldAlreadyPaid
from flashsale.throttle import client_ip
from flexpass.api.problems import CONTENT_TYPE, problem
from flexpass.idempotency import MAX_KEY_LENGTH, idempotent, storable_key
from flexpass.money import format_rupees
from marketplace.errors import PriceChanged
from wallet.errors import InsufficientFunds
from wallet.selectors import wallet_balances

TAGS = ["flash-sales"]
IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description="A unique key (a UUID) per intended action; a repeat returns the first result.",
)
PROBLEM = OpenApiResponse(description="Problem details (RFC 9457).")


def _visible_item_ids(sales) -> list[int]:
    return [item.pk for sale in sales for item in sale.items.all()]


def _stored_key(key: str) -> str:
    """The client's Idempotency-Key as the hold, order and payment rows keep it."""
    return storable_key(f"api:{key}", MAX_KEY_LENGTH)


class SaleListApi(APIView):
    """Live and upcoming sales with every item's stock as of now."""

    @extend_schema(operation_id="flash_sales_list", responses=SaleListOut, tags=TAGS)
    def get(self, request):
        now = timezone.now()
        sales = selectors.storefront_sales(now=now)
        if services.holds_expire_overdue(item_ids=_visible_item_ids(sales), now=now):
            sales = selectors.storefront_sales(now=now)  # lazy expiry returned units
        return Response({"results": SaleOut(sales, many=True, context={"now": now}).data})


class SaleDetailApi(APIView):
    @extend_schema(operation_id="flash_sales_retrieve", responses=SaleOut, tags=TAGS)
    def get(self, request, sale_id: int):
        now = timezone.now()
        sale = selectors.sale_access(sale_id=sale_id)
        if services.holds_expire_overdue(item_ids=[i.pk for i in sale.items.all()], now=now):
            sale = selectors.sale_access(sale_id=sale_id)
        return Response(SaleOut(sale, context={"now": now}).data)


class HoldCreateApi(APIView):
    """Hold units for FLASH_HOLD_SECONDS. 409 sold out / limit, 429 throttled (Retry-After).

    The Lua sliding window is this endpoint's throttle (it fails open when
    Redis is down); DRF's cache throttle would turn a Redis outage into 500s.
    """

    throttle_classes: list = []

    @extend_schema(
        operation_id="flash_holds_create",
        request=HoldCreateIn,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: HoldOut, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM, 429: PROBLEM},
        tags=TAGS,
    )
    def post(self, request, item_id: int):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            body = problem(
                status_code=400,
                title="Idempotency-Key required",
                detail=f"Send an Idempotency-Key header (a UUID, at most {MAX_KEY_LENGTH} "
                "characters) with every hold request.",
                code="idempotency_key_missing",
            )
            return Response(body, status=400, content_type=CONTENT_TYPE)
        data = HoldCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        hold, created = services.hold_create(
            user=request.user,
            item_id=item_id,
            quantity=data.validated_data["quantity"],
            client_ip=client_ip(request),
            request_key=_stored_key(key),
        )
        response = Response(HoldOut(hold).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class HoldListApi(APIView):
    @extend_schema(operation_id="flash_holds_list", responses=HoldListOut, tags=TAGS)
    def get(self, request):
        holds = selectors.user_holds(user=request.user)
        return Response({"results": HoldOut(holds, many=True).data})


class HoldDetailApi(APIView):
    @extend_schema(operation_id="flash_holds_retrieve", responses=HoldOut, tags=TAGS)
    def get(self, request, hold_id: int):
        hold = services.hold_for_owner(user=request.user, hold_id=hold_id)
        return Response(HoldOut(hold).data)


class HoldCheckoutApi(APIView):
    """Pay for the hold. 402 insufficient funds, 410 expired, 409 released, already paid
    (`hold_already_paid`, with `order_id` and `order_number`) or price changed.

    `method: "wallet"` (the default) pays from the wallet: 201 with the order.
    When the wallet is short, the 402 problem carries the split a mixed
    payment would make (`amount_paise`, `wallet_part_paise`,
    `gateway_part_paise`). `method: "mixed"` holds what the wallet has and
    opens a gateway order for the rest: 202 with the payment, whose `gateway`
    block is what the app needs to take the card part; then POST the signed
    result to `payments/<id>/verify/` (or let the webhook do it) and GET
    `payments/<id>/` until `order_id` is set. A card payment counts only if it
    is captured before the hold runs out; a later one stays in the wallet.
    """

    @extend_schema(
        operation_id="flash_holds_checkout",
        request=CheckoutIn,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OrderOut,
            202: FlashPaymentOut,
            400: PROBLEM,
            402: PROBLEM,
            404: PROBLEM,
            409: PROBLEM,
            410: PROBLEM,
        },
        tags=TAGS,
    )
    @idempotent
    def post(self, request, hold_id: int):
        data = CheckoutIn(data=request.data or {})
        data.is_valid(raise_exception=True)
        expected = data.validated_data.get("expected_amount_paise")
        if data.validated_data["method"] == "mixed":
            key = request.headers.get("Idempotency-Key", "").strip()
            payment = services.hold_pay_mixed(
                user=request.user,
                hold_id=hold_id,
                idempotency_key=_stored_key(key),
                expected_amount_paise=expected,
            )
            payment = selectors.payment_access(user=request.user, payment_id=payment.pk)
            body = FlashPaymentOut(payment, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED)
        hold = selectors.hold_access(user=request.user, hold_id=hold_id)
        amount = hold.amount_paise
        if expected is not None and expected != amount:
            raise PriceChanged(
                "The amount does not match this hold's price. Check it and try again.",
                price_paise=amount,
            )
        request_key = _stored_key(request.headers["Idempotency-Key"].strip())
        try:
            order, created = services.hold_checkout(
                user=request.user, hold_id=hold_id, request_key=request_key
            )
        except InsufficientFunds as exc:
            wallet_part = max(0, wallet_balances(user_id=request.user.pk).available_paise)
            short = max(0, amount - wallet_part)
            raise InsufficientFunds(
                f"Your wallet is {format_rupees(short)} short of {format_rupees(amount)}. "
                'Pay the rest by UPI/card with {"method": "mixed"}.',
                amount_paise=amount,
                wallet_part_paise=min(wallet_part, amount),
                gateway_part_paise=short,
            ) from exc
        if not created and order.request_key == request_key:
            # This request's own retry, after its first run committed but never answered
            # (flexpass.idempotency hands such a key back after a while): the same 201.
            response = Response(OrderOut(order).data, status=status.HTTP_201_CREATED)
            response["Idempotent-Replayed"] = "true"
            return response
        if not created:
            raise HoldAlreadyPaid(
                f"This hold is already paid: order {order.number}.",
                order_id=order.pk,
                order_number=order.number,
            )
        return Response(OrderOut(order).data, status=status.HTTP_201_CREATED)


class PaymentDetailApi(APIView):
    """A mixed payment as of now (synced with the gateway's capture and the clock)."""

    @extend_schema(
        operation_id="flash_payments_retrieve",
        responses={200: FlashPaymentOut, 404: PROBLEM},
        tags=TAGS,
    )
    def get(self, request, payment_id: int):
        payment = selectors.payment_access(user=request.user, payment_id=payment_id)
        if payment.status in ("created", "funds_reserved", "payment_pending"):
            services.payment_sync(payment_id=payment.pk)
            payment = selectors.payment_access(user=request.user, payment_id=payment_id)
        return Response(FlashPaymentOut(payment, context={"request": request}).data)


class PaymentVerifyApi(APIView):
    """The app's checkout result: the signed payment is verified, then the payment syncs.

    400 bad signature (nothing credited). Safe to send twice; the webhook may also
    have done it.
    """

    @extend_schema(
        operation_id="flash_payments_verify",
        request=PaymentVerifyIn,
        responses={200: FlashPaymentOut, 400: PROBLEM, 404: PROBLEM},
        tags=TAGS,
    )
    def post(self, request, payment_id: int):
        data = PaymentVerifyIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        payment = services.payment_note_return(
            user=request.user,
            payment_id=payment_id,
            gateway_order_id=fields["razorpay_order_id"],
            payment_ref=fields["razorpay_payment_id"],
            signature=fields["razorpay_signature"],
        )
        payment = selectors.payment_access(user=request.user, payment_id=payment.pk)
        return Response(FlashPaymentOut(payment, context={"request": request}).data)


class PaymentCancelApi(APIView):
    """Give up on the card part: the held wallet part goes back; the hold keeps running."""

    @extend_schema(
        operation_id="flash_payments_cancel",
        request=None,
        responses={200: FlashPaymentOut, 404: PROBLEM},
        tags=TAGS,
    )
    def post(self, request, payment_id: int):
        payment = services.payment_cancel(user=request.user, payment_id=payment_id)
        payment = selectors.payment_access(user=request.user, payment_id=payment.pk)
        return Response(FlashPaymentOut(payment, context={"request": request}).data)


class HoldReleaseApi(APIView):
    @extend_schema(
        operation_id="flash_holds_release",
        request=None,
        responses={200: HoldOut, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
        tags=TAGS,
    )
    def post(self, request, hold_id: int):
        services.hold_release(user=request.user, hold_id=hold_id)
        return Response(HoldOut(selectors.hold_access(user=request.user, hold_id=hold_id)).data)


class WaitlistApi(APIView):
    """Join (POST) or leave (DELETE) the line for a sold-out item."""

    def _out(self, request, item_id: int, entry) -> dict:
        place = selectors.user_waitlist_positions(user=request.user, item_ids=[item_id])
        return WaitlistOut(
            {
                "item_id": item_id,
                "status": entry.status,
                "place": place.get(item_id),
                "created_at": entry.created_at,
            }
        ).data

    @extend_schema(
        operation_id="flash_waitlist_join",
        request=None,
        responses={201: WaitlistOut, 404: PROBLEM, 409: PROBLEM},
        tags=TAGS,
    )
    def post(self, request, item_id: int):
        item = selectors.item_access(item_id=item_id)
        entry = services.waitlist_join(user=request.user, item=item)
        return Response(self._out(request, item_id, entry), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="flash_waitlist_leave", request=None, responses={204: None}, tags=TAGS
    )
    def delete(self, request, item_id: int):
        item = selectors.item_access(item_id=item_id)
        services.waitlist_leave(user=request.user, item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderDetailApi(APIView):
    @extend_schema(operation_id="flash_orders_retrieve", responses=OrderOut, tags=TAGS)
    def get(self, request, order_id: int):
        return Response(OrderOut(selectors.order_access(user=request.user, order_id=order_id)).data)
