"""Marketplace JSON API: catalog (public), passes and receipts, mixed-payment orders.

Views parse input, call one selector or service and serialise. Domain errors
become problem details (flexpass.api.problems); money-moving POSTs take an
Idempotency-Key (flexpass.idempotency).
"""

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flexpass.errors import NotFound
from flexpass.idempotency import idempotent
from marketplace import selectors, services
from marketplace.api.serializers import (
    BuyInput,
    CategoryOutput,
    OrderOutput,
    PassOutput,
    PlanOutput,
    PurchaseOutput,
    ReceiptOutput,
    ServiceOutput,
)
from marketplace.models import Order, Plan

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    type=str,
    required=True,
    description="A unique key (a UUID) per purchase, at most 255 characters. Retrying with "
    "the same key replays the first response (`Idempotent-Replayed: true`) and never buys "
    "twice; the same key with a different body is refused with 422.",
)
PROBLEM = OpenApiResponse(description="Problem details (RFC 9457).")
SERVICE_EXAMPLE = {
    "slug": "imagegen-pro",
    "name": "ImageGen Pro",
    "tagline": "Studio-quality images from a sentence",
    "description": "…",
    "vendor": {"name": "PixelForge Studio", "slug": "pixelforge"},
    "category": {"name": "AI tools", "slug": "ai-tools"},
    "logo_url": "/media/service-logos/imagegen-pro.svg",
    "initials": "IP",
    "accent": "#5b4cf0",
    "purchases_count": 128,
    "min_price_paise": 4900,
    "plans": [
        {
            "id": 12,
            "service": "imagegen-pro",
            "kind": "time",
            "name": "Day pass",
            "description": "",
            "price_paise": 4900,
            "duration_hours": 24,
            "units": None,
            "unit_label": "calls",
            "validity_days": None,
            "metered_rate_paise": None,
            "metered_unit": "",
            "purchasable": True,
        }
    ],
    "created_at": "2026-11-20T10:00:00+05:30",
    "url": "/services/imagegen-pro/",
}
PASS_EXAMPLE = {
    "id": 41,
    "service": "imagegen-pro",
    "service_name": "ImageGen Pro",
    "plan": 12,
    "plan_name": "Day pass",
    "purchase": 77,
    "kind": "time",
    "status": "active",
    "starts_at": "2026-11-22T10:00:00+05:30",
    "expires_at": "2026-11-23T10:00:00+05:30",
    "seconds_left": 86340,
    "units_total": None,
    "units_left": None,
    "token": "bW9ja190b2tlbl9mb3JfZG9jcw",
    "created_at": "2026-11-22T10:00:00+05:30",
}
RECEIPT_EXAMPLE = {
    "id": 77,
    "number": "FP-000077",
    "service": "imagegen-pro",
    "service_name": "ImageGen Pro",
    "plan": 12,
    "plan_name": "Day pass",
    "plan_terms": "Unlimited use for 24 hours",
    "vendor_name": "PixelForge Studio",
    "price_paise": 4900,
    "status": "paid",
    "refunded_paise": 0,
    "order": None,
    "pass_id": 41,
    "entry": 311,
    "created_at": "2026-11-22T10:00:00+05:30",
    "receipt_url": "/receipts/77/",
}
ORDER_EXAMPLE = {
    "id": 9,
    "number": "ORD-000009",
    "status": "payment_pending",
    "service": "imagegen-pro",
    "plan": 12,
    "price_paise": 4900,
    "wallet_part_paise": 1000,
    "gateway_part_paise": 3900,
    "gateway_charge_paise": 3900,
    "failure_reason": "",
    "expires_at": "2026-11-22T10:30:00+05:30",
    "created_at": "2026-11-22T10:00:00+05:30",
    "checkout_url": "/billing/checkout/order_SIM123/?callback_url=%2Forders%2F9%2Freturn%2F",
    "purchase": None,
    "steps": [
        {
            "from_status": "",
            "to_status": "created",
            "note": "ImageGen Pro · Day pass",
            "at": "2026-11-22T10:00:00+05:30",
        },
        {
            "from_status": "created",
            "to_status": "funds_reserved",
            "note": "₹10.00 held from the wallet",
            "at": "2026-11-22T10:00:00+05:30",
        },
        {
            "from_status": "funds_reserved",
            "to_status": "payment_pending",
            "note": "Waiting for ₹39.00 by UPI/card",
            "at": "2026-11-22T10:00:01+05:30",
        },
    ],
}


def _page(view, request, queryset, output, **kwargs):
    paginator = LimitOffsetPagination()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(output(rows, many=True, **kwargs).data)


def _paged(name: str, item) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


ServicePage = _paged("ServicePage", ServiceOutput)
PassPage = _paged("PassPage", PassOutput)
ReceiptPage = _paged("ReceiptPage", ReceiptOutput)
OrderPage = _paged("OrderPage", OrderOutput)


# --- catalog --------------------------------------------------------------------------------


class ServicesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_services_list",
        tags=["marketplace: catalog"],
        summary="Live services, searchable and filterable",
        parameters=[
            OpenApiParameter("q", str, description="Words to find in name, tagline, vendor…"),
            OpenApiParameter("category", str, description="A category slug, e.g. ai-tools"),
            OpenApiParameter("kind", str, enum=["time", "usage", "metered"]),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS), default="popular"),
        ],
        responses={200: ServicePage},
        examples=[
            OpenApiExample(
                "A page of services",
                value={"count": 1, "next": None, "previous": None, "results": [SERVICE_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        filters = selectors.CatalogFilters.from_params(request.query_params)
        return _page(self, request, selectors.catalog_services(filters=filters), ServiceOutput)


class ServiceApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_services_retrieve",
        tags=["marketplace: catalog"],
        summary="One live service with its plans",
        responses={200: ServiceOutput, 404: PROBLEM},
        examples=[OpenApiExample("A service", value=SERVICE_EXAMPLE, response_only=True)],
    )
    def get(self, request, slug: str):
        return Response(ServiceOutput(selectors.service_live(slug=slug)).data)


class CategoriesApi(APIView):
    permission_classes = [AllowAny]

    class Output(CategoryOutput):
        live_count = serializers.IntegerField()

    @extend_schema(
        operation_id="catalog_categories_list",
        tags=["marketplace: catalog"],
        summary="Categories with the number of live services in each",
        responses={200: Output(many=True)},
    )
    def get(self, request):
        return Response(self.Output(selectors.catalog_categories(), many=True).data)


class PlanApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="catalog_plans_retrieve",
        tags=["marketplace: catalog"],
        summary="One plan on sale (price in paise, terms)",
        responses={200: PlanOutput, 404: PROBLEM},
        examples=[
            OpenApiExample("A day pass", value=SERVICE_EXAMPLE["plans"][0], response_only=True)
        ],
    )
    def get(self, request, plan_id: int):
        return Response(PlanOutput(selectors.plan_live(plan_id=plan_id)).data)


# --- passes ---------------------------------------------------------------------------------


class PassesApi(APIView):
    @extend_schema(
        operation_id="passes_list",
        tags=["marketplace: passes"],
        summary="My passes",
        parameters=[
            OpenApiParameter("status", str, enum=list(selectors.PASS_TABS), default="active")
        ],
        responses={200: PassPage},
        examples=[
            OpenApiExample(
                "Active passes",
                value={"count": 1, "next": None, "previous": None, "results": [PASS_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        tab = request.query_params.get("status", "active")
        if tab not in selectors.PASS_TABS:
            raise serializers.ValidationError(
                {"status": f"One of {', '.join(selectors.PASS_TABS)}."}
            )
        return _page(
            self, request, selectors.passes_for_owner(owner=request.user, tab=tab), PassOutput
        )

    @extend_schema(
        operation_id="passes_buy",
        tags=["marketplace: passes"],
        summary="Buy a plan from the wallet (the price always comes from the server)",
        parameters=[IDEMPOTENCY_KEY],
        request=BuyInput,
        responses={
            201: PurchaseOutput,
            400: PROBLEM,
            402: OpenApiResponse(description="insufficient_funds: open an order instead"),
            404: PROBLEM,
            409: OpenApiResponse(
                description="service_unavailable, plan_unavailable, price_changed"
            ),
            422: PROBLEM,
        },
        examples=[
            OpenApiExample(
                "Buy a day pass",
                value={"plan_id": 12, "expected_price_paise": 4900},
                request_only=True,
            ),
            OpenApiExample(
                "Bought",
                value={"receipt": RECEIPT_EXAMPLE, "pass": PASS_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    @idempotent
    def post(self, request):
        data = BuyInput(data=request.data)
        data.is_valid(raise_exception=True)
        # The service reads the plan (price included) itself: no second lookup here.
        plan = Plan(pk=data.validated_data["plan_id"])
        purchase = services.pass_purchase(
            buyer=request.user,
            plan=plan,
            idempotency_key=request.headers["Idempotency-Key"],
            expected_price_paise=data.validated_data.get("expected_price_paise"),
        )
        return Response(PurchaseOutput(purchase).data, status=status.HTTP_201_CREATED)


class PassApi(APIView):
    @extend_schema(
        operation_id="passes_retrieve",
        tags=["marketplace: passes"],
        summary="One of my passes",
        responses={200: PassOutput, 404: PROBLEM},
        examples=[OpenApiExample("A time pass", value=PASS_EXAMPLE, response_only=True)],
    )
    def get(self, request, pass_id: int):
        return Response(PassOutput(selectors.access_pass(user=request.user, pass_id=pass_id)).data)


class ReceiptsApi(APIView):
    @extend_schema(
        operation_id="passes_receipts_list",
        tags=["marketplace: passes"],
        summary="My receipts (one per purchase), newest first",
        responses={200: ReceiptPage},
    )
    def get(self, request):
        return _page(
            self, request, selectors.purchases_for_buyer(buyer=request.user), ReceiptOutput
        )


class ReceiptApi(APIView):
    @extend_schema(
        operation_id="passes_receipts_retrieve",
        tags=["marketplace: passes"],
        summary="One receipt",
        responses={200: ReceiptOutput, 404: PROBLEM},
        examples=[OpenApiExample("A receipt", value=RECEIPT_EXAMPLE, response_only=True)],
    )
    def get(self, request, purchase_id: int):
        purchase = selectors.access_purchase(user=request.user, purchase_id=purchase_id)
        return Response(ReceiptOutput(purchase).data)


# --- orders ---------------------------------------------------------------------------------


def _checkout_urls(orders) -> dict[int, str]:
    from billing.gateways import gateway_named

    urls = {}
    for order in orders:
        topup = order.topup
        if order.status == "payment_pending" and topup is not None and topup.gateway_order_id:
            base = gateway_named(topup.gateway).checkout_url(topup.gateway_order_id)
            callback = reverse("marketplace:order_return", args=[order.pk])
            urls[order.pk] = f"{base}?{urlencode({'callback_url': callback})}"
    return urls


def _order_data(order: Order) -> dict:
    return OrderOutput(order, context={"checkout_urls": _checkout_urls([order])}).data


class OrdersApi(APIView):
    @extend_schema(
        operation_id="orders_list",
        tags=["marketplace: orders"],
        summary="My mixed-payment orders, newest first",
        responses={200: OrderPage},
    )
    def get(self, request):
        paginator = LimitOffsetPagination()
        queryset = selectors.orders_for_buyer(buyer=request.user).select_related(
            "topup", "purchase"
        )
        rows = paginator.paginate_queryset(queryset, request, view=self)
        data = OrderOutput(rows, many=True, context={"checkout_urls": _checkout_urls(rows)}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="orders_create",
        tags=["marketplace: orders"],
        summary="Pay what the wallet has and the rest through the gateway (open checkout_url)",
        description="The wallet part is reserved at once; pay the gateway part at `checkout_url`. "
        "Poll `GET /orders/{id}/` (it notices the payment) until `status` is `fulfilled` "
        "(then `purchase` names the receipt) or a failure: `payment_failed`, `cancelled`, "
        "`expired` - which release the reserved money.",
        parameters=[IDEMPOTENCY_KEY],
        request=BuyInput,
        responses={201: OrderOutput, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM},
        examples=[
            OpenApiExample("Open an order", value={"plan_id": 12}, request_only=True),
            OpenApiExample(
                "Waiting for payment", value=ORDER_EXAMPLE, response_only=True, status_codes=["201"]
            ),
        ],
    )
    @idempotent
    def post(self, request):
        data = BuyInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = selectors.plan_live(plan_id=data.validated_data["plan_id"])
        order = services.order_create(
            buyer=request.user,
            plan=plan,
            idempotency_key=request.headers["Idempotency-Key"],
            expected_price_paise=data.validated_data.get("expected_price_paise"),
        )
        order = selectors.access_order(user=request.user, order_id=order.pk)
        return Response(_order_data(order), status=status.HTTP_201_CREATED)


class OrderApi(APIView):
    @extend_schema(
        operation_id="orders_retrieve",
        tags=["marketplace: orders"],
        summary="An order's status and every step with its time (checks the payment first)",
        responses={200: OrderOutput, 404: PROBLEM},
        examples=[OpenApiExample("Waiting for payment", value=ORDER_EXAMPLE, response_only=True)],
    )
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        services.order_sync(order_id=order.pk)
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(_order_data(order))


class OrderCancelApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        tags=["marketplace: orders"],
        summary="Cancel an open order; the reserved wallet money goes back",
        request=None,
        responses={200: OrderOutput, 404: PROBLEM, 409: PROBLEM},
    )
    def post(self, request, order_id: int):
        selectors.access_order(user=request.user, order_id=order_id)
        services.order_cancel(buyer=request.user, order_id=order_id)
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(_order_data(order))


class SessionGrantInput(serializers.Serializer):
    plan_id = serializers.IntegerField()


class SessionGrantOutput(serializers.Serializer):
    grant = serializers.CharField(
        help_text="Give it to the vendor; their server starts the session with it."
    )
    expires_at = serializers.DateTimeField(help_text="Unused after this, it is refused.")
    plan_id = serializers.IntegerField()
    service = serializers.CharField()
    rate_paise = serializers.IntegerField()
    unit = serializers.CharField()


class SessionGrantApi(APIView):
    @extend_schema(
        operation_id="sessions_grant",
        tags=["marketplace: sessions"],
        summary="Consent to one metered session: a grant the vendor redeems to start it",
        request=SessionGrantInput,
        responses={201: SessionGrantOutput, 400: PROBLEM, 404: PROBLEM, 422: PROBLEM},
    )
    def post(self, request):
        from marketplace.services import sessions

        data = SessionGrantInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = Plan.objects.select_related("service").filter(pk=data.validated_data["plan_id"])
        plan = plan.first()
        if plan is None:
            raise NotFound("No such plan.")
        grant, expires_at = sessions.session_grant_issue(user=request.user, plan=plan)
        body = {
            "grant": grant,
            "expires_at": expires_at,
            "plan_id": plan.pk,
            "service": plan.service.slug,
            "rate_paise": plan.metered_rate_paise,
            "unit": plan.metered_unit,
        }
        return Response(SessionGrantOutput(body).data, status=status.HTTP_201_CREATED)
