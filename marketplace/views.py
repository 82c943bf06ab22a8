"""Marketplace pages: catalog, service, checkout, my passes, receipts, orders.

Views parse input, call a selector or service, and render. For htmx requests
they return only the fragment that changes. Catalog and service fragments come
from the catalog cache and hold nothing that depends on who is looking (no
CSRF tokens, no balances): the per-person parts are rendered around them. The
catalog caches its whole page, frame included, with the per-person parts left
as holes filled per request (flexpass.page_frame).
"""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from flexpass.errors import DomainError, NotFound
from flexpass.money import format_rupees
from flexpass.page_frame import frame_fill, frame_render, frame_variant
from marketplace import selectors, services
from marketplace.catalog_cache import cached, cached_entry
from marketplace.errors import PlanNotFound
from marketplace.models import ORDER_OPEN_STATES, Order, OrderStatus, Pass, PlanKind
from marketplace.page_cache import share_with_anonymous_visitors
from wallet.errors import InsufficientFunds
from wallet.selectors import wallet_balances


def _fresh_key() -> str:
    return uuid.uuid4().hex


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Full page and fragment share a URL: caches must keep them apart."""
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- catalog --------------------------------------------------------------------------------


KIND_FILTERS = [
    (PlanKind.TIME, "Time passes"),
    (PlanKind.USAGE, "Usage credits"),
    (PlanKind.METERED, "Metered"),
]


def _page_number(value) -> int:
    try:
        return max(1, min(int(value), 1000))
    except (TypeError, ValueError):
        return 1


def _catalog_results_html(filters: selectors.CatalogFilters, page_number: int) -> str:
    paginator = Paginator(selectors.catalog_services(filters=filters), settings.CATALOG_PAGE_SIZE)
    page = paginator.get_page(page_number)
    return render_to_string(
        "marketplace/catalog.html#results",
        {
            "page": page,
            "services": list(page.object_list),
            "filters": filters,
            "query_base": _query_string(filters),
        },
    )


def _query_string(filters: selectors.CatalogFilters) -> str:
    params = {
        "q": filters.q,
        "category": filters.category,
        "kind": filters.kind,
        "sort": "" if filters.sort == selectors.DEFAULT_SORT else filters.sort,
    }
    return urlencode({k: v for k, v in params.items() if v})


def _categories() -> list[dict]:
    return [
        {"name": c.name, "slug": c.slug, "icon": c.icon, "live_count": c.live_count}
        for c in selectors.catalog_categories()
    ]


@require_http_methods(["GET", "HEAD"])
def catalog(request):
    """Search, category filter and sort; htmx requests get only the results fragment."""
    filters = selectors.CatalogFilters.from_params(request.GET)
    page_number = _page_number(request.GET.get("page"))
    parts = (*filters.cache_parts(), str(page_number))

    def results() -> str:
        return cached("catalog-results", parts, lambda: _catalog_results_html(filters, page_number))

    if request.htmx:
        return _vary_on_htmx(HttpResponse(results()))

    def frame() -> tuple[str, ...]:
        content_html = render_to_string(
            "marketplace/catalog.html#page-content",
            {
                "filters": filters,
                "categories": cached("catalog-categories", (), _categories),
                "sorts": selectors.SORTS,
                "kinds": KIND_FILTERS,
                "results_html": mark_safe(results()),  # our own template, escaped there
            },
        )
        return frame_render(
            request, "marketplace/catalog.html", {"content_html": mark_safe(content_html)}
        )

    # The whole page is one cached frame per kind of visitor (anonymous, or
    # signed in with a role): a hit costs one cache read, no page template, and
    # a small render for each per-person hole (toasts; for people signed in the
    # token, the user menu and the chat widget). An anonymous visitor's catalog
    # has nothing that posts (filters are GETs, no widget), so it carries no token.
    signed_in = request.user.is_authenticated
    segments, generation, hit = cached_entry(
        "catalog-frame", (*parts, frame_variant(request)), frame
    )
    response = _vary_on_htmx(HttpResponse(frame_fill(segments, request, csrf=signed_in)))
    if hit and not signed_in:  # the second anonymous view on: kept whole (page_cache)
        share_with_anonymous_visitors(response, generation=generation)
    return response


# --- service page ---------------------------------------------------------------------------


SERVICE_ASIDE = "marketplace/partials/_service_aside.html"


def _service_block(slug: str) -> dict | None:
    try:
        service = selectors.service_live(slug=slug)
    except NotFound:
        return None
    related = selectors.related_services(service=service)
    html = render_to_string(
        "marketplace/service.html#service-body", {"service": service, "related": related}
    )
    return {
        "html": html,
        "id": service.pk,
        "slug": service.slug,
        "name": service.name,
        "tagline": service.tagline,
        "vendor_user_id": service.vendor.user_id,  # the "Ask the vendor" button hides for them
    }


@require_http_methods(["GET", "HEAD"])
def service_detail(request, slug: str):
    """Served from a cached frame like the catalog; the side card is per person when signed in."""
    signed_in = request.user.is_authenticated

    def frame() -> dict | None:
        svc = cached("service", (slug,), lambda: _service_block(slug))
        if svc is None:
            return None  # not stored: made-up addresses cannot fill the cache
        holes = (SERVICE_ASIDE,) if signed_in else ()
        segments = frame_render(request, "marketplace/service.html", {"svc": svc}, holes=holes)
        return {"segments": segments, "svc": {k: v for k, v in svc.items() if k != "html"}}

    page, generation, hit = cached_entry("service-frame", (slug, frame_variant(request)), frame)
    if page is None:
        raise Http404("No service is on sale at this address.")
    context = None
    if signed_in:
        svc = page["svc"]
        context = {
            "svc": svc,
            "balance_paise": wallet_balances(user_id=request.user.pk).available_paise,
            "my_passes": list(
                Pass.objects.usable()
                .filter(owner=request.user, service_id=svc["id"])
                .select_related("plan")
                .order_by("expires_at")[:3]
            ),
        }
    html = frame_fill(page["segments"], request, csrf=signed_in, context=context)
    response = _vary_on_htmx(HttpResponse(html))
    if hit and not signed_in:
        share_with_anonymous_visitors(response, generation=generation)
    return response


# --- checkout -------------------------------------------------------------------------------


def _checkout_context(request, plan, *, error: str = "", key: str = "") -> dict:
    balance = wallet_balances(user_id=request.user.pk).available_paise
    short = max(0, plan.price_paise - balance)
    return {
        "plan": plan,
        "service": plan.service,
        "balance_paise": balance,
        "after_paise": balance - plan.price_paise,
        "short_paise": short,
        "topup_rupees": max(-(-short // 100), settings.TOPUP_MIN_PAISE // 100),
        "idempotency_key": key or _fresh_key(),
        "error": error,
    }


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request, plan_id: int):
    """GET: what the buyer is about to pay. POST: buy from the wallet (the key makes it once)."""
    try:
        plan = selectors.plan_live(plan_id=plan_id)
    except PlanNotFound as exc:
        raise Http404(str(exc)) from exc
    if request.method == "GET":
        return render(request, "marketplace/checkout.html", _checkout_context(request, plan))

    key = request.POST.get("idempotency_key", "")
    try:
        expected = int(request.POST.get("expected_price_paise", ""))
    except ValueError:
        expected = None
    try:
        purchase = services.pass_purchase(
            buyer=request.user, plan=plan, idempotency_key=key, expected_price_paise=expected
        )
    except DomainError as exc:
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        if isinstance(exc, InsufficientFunds):
            message = "Your wallet does not cover this any more. Pay the rest by UPI or card below."
        else:
            message = str(exc)
        try:  # the page again with the price as it is now, if the plan is still on sale
            fresh = selectors.plan_live(plan_id=plan_id)
        except DomainError:  # paused or gone since: what the buyer saw, with the refusal
            fresh = plan
        return render(
            request,
            "marketplace/checkout.html",
            _checkout_context(request, fresh, error=message),
            status=status,
        )
    messages.success(
        request,
        f"You bought {purchase.service.name} · {purchase.plan.name} for "
        f"{format_rupees(purchase.price_paise)}.",
    )
    url = f"{reverse('marketplace:passes')}?new={purchase.pass_obj.pk}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- my passes ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def passes(request):
    tab = request.GET.get("tab", "active")
    if tab not in selectors.PASS_TABS:
        tab = "active"
    items = list(selectors.passes_for_owner(owner=request.user, tab=tab))
    context = {
        "tab": tab,
        "tabs": selectors.PASS_TABS,
        "passes": items,
        "counts": selectors.pass_counts(owner=request.user),
        "now": timezone.now(),
        "new_pass_id": _page_number(request.GET.get("new")) if request.GET.get("new") else None,
    }
    if request.htmx:
        return _vary_on_htmx(render(request, "marketplace/passes.html#pass-list", context))
    return _vary_on_htmx(render(request, "marketplace/passes.html", context))


# --- receipts -------------------------------------------------------------------------------


@login_required
def receipt(request, purchase_id: int):
    try:
        purchase = selectors.access_purchase(user=request.user, purchase_id=purchase_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "marketplace/receipt.html", {"purchase": purchase})


@login_required
def purchases(request):
    """Every receipt, newest first."""
    items = list(selectors.purchases_for_buyer(buyer=request.user)[:200])
    return render(request, "marketplace/purchases.html", {"purchases": items})


# --- mixed-payment orders -------------------------------------------------------------------


def _checkout_url(request, order) -> str:
    """The gateway's payment page for the order's top-up, coming back to our return page."""
    from billing.gateways import gateway_named

    if order.topup is None or not order.topup.gateway_order_id:
        return ""
    base = gateway_named(order.topup.gateway).checkout_url(order.topup.gateway_order_id)
    callback = reverse("marketplace:order_return", args=[order.pk])
    return f"{base}?{urlencode({'callback_url': callback})}"


@login_required
@require_http_methods(["POST"])
def order_create(request, plan_id: int):
    """Pay what the wallet has and the rest by UPI/card: open the order, go to checkout."""
    try:
        plan = selectors.plan_live(plan_id=plan_id)
    except PlanNotFound as exc:
        raise Http404(str(exc)) from exc
    try:
        expected = int(request.POST.get("expected_price_paise", ""))
    except ValueError:
        expected = None
    try:
        order = services.order_create(
            buyer=request.user,
            plan=plan,
            idempotency_key=request.POST.get("idempotency_key", ""),
            expected_price_paise=expected,
        )
    except DomainError as exc:
        status = exc.status_code if 400 <= exc.status_code < 500 else 400
        return render(
            request,
            "marketplace/checkout.html",
            _checkout_context(request, plan, error=str(exc)),
            status=status,
        )
    order = selectors.access_order(user=request.user, order_id=order.pk)
    url = _checkout_url(request, order) or reverse("marketplace:order", args=[order.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _order_context(request, order) -> dict:
    return {
        "order": order,
        "checkout_url": _checkout_url(request, order),
        "open": order.status in ORDER_OPEN_STATES,
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def order_detail(request, order_id: int):
    """The order's status and steps; htmx polls the status card while it is open."""
    try:
        order = selectors.access_order(user=request.user, order_id=order_id)
        if order.status in ORDER_OPEN_STATES:
            services.order_sync(order_id=order.pk)
            order = selectors.access_order(user=request.user, order_id=order_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    context = _order_context(request, order)
    if request.htmx:
        return _vary_on_htmx(render(request, "marketplace/order.html#order-status", context))
    return _vary_on_htmx(render(request, "marketplace/order.html", context))


@csrf_exempt  # the gateway's callback may POST from its own site; billing checks the signature
@require_http_methods(["GET", "POST"])
def order_return(request, order_id: int):
    """Back from checkout: billing verifies the signed payment, the order syncs, then PRG."""
    params = request.POST if request.method == "POST" else request.GET
    order = Order.objects.select_related("buyer", "topup").filter(pk=order_id).first()
    if order is None or order.topup is None:
        raise Http404("No such order.")
    if request.user.is_authenticated and request.user.pk != order.buyer_id:
        raise Http404("No such order.")
    try:
        order = services.order_note_return(
            buyer=order.buyer,
            order_id=order.pk,
            gateway_order_id=params.get("razorpay_order_id", ""),
            payment_id=params.get("razorpay_payment_id", ""),
            signature=params.get("razorpay_signature", ""),
        )
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if order.status == OrderStatus.FULFILLED:
            messages.success(request, "Payment received. Your pass is ready.")
        elif params.get("error[reason]") == "payment_cancelled":
            messages.warning(request, "You cancelled the payment. Nothing was charged.")
        elif params.get("error[description]"):
            messages.error(request, params["error[description]"][:200])
    return redirect("marketplace:order", order_id=order.pk)


@login_required
@require_http_methods(["POST"])
def order_cancel(request, order_id: int):
    try:
        services.order_cancel(buyer=request.user, order_id=order_id)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Order cancelled. The held wallet money is back.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("marketplace:order", args=[order_id]))
    return redirect("marketplace:order", order_id=order_id)
