"""The vendor console under /vendor/: services and plans, earnings, passes and usage,
webhooks, API keys; and the application to become a vendor.

Views parse input, call a service (marketplace.services.*) or a console
selector, and render the page or, for htmx requests, the fragment that changed.
Every page is for vendors only: anonymous -> login, a customer -> 403 (the
overview sends customers to the application instead), another vendor's ids ->
404. Secrets (a new API key, a webhook signing secret) are rendered once, in
the response to the POST that made them, and never stored readable.
"""

import uuid
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from flexpass.errors import DomainError, NotFound
from flexpass.money import format_rupees
from marketplace import console_selectors as selectors
from marketplace.console_forms import (
    ApiKeyForm,
    EarningsMoveForm,
    PlanForm,
    ServiceForm,
    VendorApplicationForm,
    WebhookEndpointForm,
    add_domain_error,
)
from marketplace.models import (
    ServiceStatus,
    VendorApplication,
    WebhookDeliveryStatus,
)
from marketplace.services import catalog_admin, keys, payouts, webhooks
from marketplace.services.vendor_applications import vendor_apply
from wallet.selectors import wallet_balances


def vendor_required(view):
    """Signed in and a vendor; the view gets `request.vendor`. NotFound -> 404."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        vendor = getattr(request.user, "vendor_profile", None)
        if vendor is None:
            raise PermissionDenied("The vendor console is for vendors.")
        request.vendor = vendor
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc)) from exc

    return wrapper


def _render(request, template: str, context: dict, *, partial: str | None = None, status=200):
    """The full page, or for htmx requests only `partial` (a {% partialdef %} in it).

    htmx swaps only 2xx answers, so a form returned with its errors to an htmx
    request is a 200; plain form posts with errors get a 400.
    """
    context.setdefault("vendor", getattr(request, "vendor", None))
    name = f"{template}#{partial}" if partial and request.htmx else template
    if request.htmx and status == 400:
        status = 200
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _page(value) -> int:
    try:
        return max(1, min(int(value), 10_000))
    except (TypeError, ValueError):
        return 1


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404("Not found.") from exc


# --- overview and becoming a vendor ---------------------------------------------------------


@login_required
def overview(request):
    vendor = getattr(request.user, "vendor_profile", None)
    if vendor is None:
        return redirect("console:apply")
    request.vendor = vendor
    context = {
        "section": "overview",
        "overview": selectors.vendor_overview(vendor=vendor),
        "earnings": selectors.vendor_earnings(vendor=vendor, days=7),
        "usage": selectors.vendor_recent_usage(vendor=vendor, limit=5),
    }
    return _render(request, "marketplace/console/overview.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def apply(request):
    """Customers apply (business name, payout details); staff decide in the admin."""
    if hasattr(request.user, "vendor_profile"):
        return redirect("console:overview")
    form = VendorApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vendor_apply(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Thanks! We will review your application shortly.")
            return redirect("console:apply")
    applications = list(VendorApplication.objects.filter(user=request.user)[:5])
    pending = any(a.status == "pending" for a in applications)
    return render(
        request,
        "marketplace/vendor/apply.html",
        {"form": form, "applications": applications, "pending": pending},
        status=400 if form.errors else 200,
    )


# --- services and plans ---------------------------------------------------------------------


@vendor_required
def services(request):
    context = {"section": "services", "services": selectors.vendor_services(vendor=request.vendor)}
    return _render(request, "marketplace/console/services.html", context)


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def service_new(request):
    form = ServiceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            service = catalog_admin.service_create(vendor=request.vendor, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"{service.name} created. Now add a plan.")
            return redirect("console:service", service_id=service.pk)
    return _render(
        request,
        "marketplace/console/service_form.html",
        {"section": "services", "form": form, "service": None},
        status=400 if form.errors else 200,
    )


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def service_edit(request, service_id: int):
    service = catalog_admin.service_access(vendor=request.vendor, service_id=service_id)
    if request.method == "POST":
        form = ServiceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                catalog_admin.service_update(
                    vendor=request.vendor,
                    service_id=service.pk,
                    clear_logo=request.POST.get("clear_logo") == "on",
                    **form.cleaned_data,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, "Service saved.")
                return redirect("console:service", service_id=service.pk)
    else:
        form = ServiceForm(
            initial={
                "name": service.name,
                "category": service.category_id,
                "tagline": service.tagline,
                "description": service.description,
                "status": service.status,
            }
        )
    context = {
        "section": "services",
        "form": form,
        "service": service,
        "plans": list(service.plans.order_by("position", "pk")),
    }
    return _render(
        request,
        "marketplace/console/service_form.html",
        context,
        status=400 if form.errors else 200,
    )


@vendor_required
@require_POST
def service_status(request, service_id: int):
    """Publish / pause / resume; htmx gets the service's row back."""
    status = request.POST.get("status", "")
    if status not in ServiceStatus.values:
        return HttpResponse("Unknown status.", status=400)
    service = catalog_admin.service_set_status(
        vendor=request.vendor, service_id=service_id, status=status
    )
    if not request.htmx:
        messages.success(request, f"{service.name} is now {service.get_status_display().lower()}.")
        return redirect("console:services")
    service = selectors.vendor_service(vendor=request.vendor, service_id=service.pk)
    return _render(
        request, "marketplace/console/services.html", {"s": service}, partial="service-row"
    )


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def plan_new(request, service_id: int):
    service = catalog_admin.service_access(vendor=request.vendor, service_id=service_id)
    form = PlanForm(request.POST or None, initial={"kind": request.GET.get("kind", "time")})
    if request.method == "POST" and form.is_valid():
        try:
            catalog_admin.plan_create(
                vendor=request.vendor, service_id=service.pk, terms=form.terms()
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Plan added.")
            return redirect("console:service", service_id=service.pk)
    return _render(
        request,
        "marketplace/console/plan_form.html",
        {"section": "services", "form": form, "service": service, "plan": None},
        status=400 if form.errors else 200,
    )


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def plan_edit(request, plan_id: int):
    plan = catalog_admin.plan_access(vendor=request.vendor, plan_id=plan_id)
    form = PlanForm(request.POST or None, initial=PlanForm.initial_for(plan), fixed_kind=plan.kind)
    if request.method == "POST" and form.is_valid():
        try:
            catalog_admin.plan_update(vendor=request.vendor, plan_id=plan.pk, terms=form.terms())
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Plan saved.")
            return redirect("console:service", service_id=plan.service_id)
    return _render(
        request,
        "marketplace/console/plan_form.html",
        {"section": "services", "form": form, "service": plan.service, "plan": plan},
        status=400 if form.errors else 200,
    )


@vendor_required
@require_POST
def plan_active(request, plan_id: int):
    """Pause or resume a plan; htmx gets the plan's row back."""
    active = request.POST.get("active") == "1"
    plan = catalog_admin.plan_set_active(vendor=request.vendor, plan_id=plan_id, active=active)
    if not request.htmx:
        return redirect("console:service", service_id=plan.service_id)
    return _render(
        request,
        "marketplace/console/service_form.html",
        {"plan": plan, "service": plan.service},
        partial="plan-row",
    )


# --- earnings -------------------------------------------------------------------------------


def _fresh_key() -> str:
    return uuid.uuid4().hex


def _earnings_context(request, **extra) -> dict:
    vendor = request.vendor
    return {
        "section": "earnings",
        "earnings": selectors.vendor_earnings(vendor=vendor),
        "hold_hours": settings.EARNINGS_HOLD_HOURS,
        "available_paise": wallet_balances(user_id=vendor.user_id).available_paise,
        "moves": selectors.vendor_earnings_moves(vendor=vendor),
        "move_form": EarningsMoveForm(),
        "idempotency_key": _fresh_key(),
        **extra,
    }


@vendor_required
def earnings(request):
    return _render(request, "marketplace/console/earnings.html", _earnings_context(request))


@vendor_required
@require_POST
def earnings_move(request):
    """Move earnings (an amount, or all of it) to the vendor's wallet; htmx gets the panel back.

    The form's hidden idempotency key makes a double click move the money once.
    """
    form = EarningsMoveForm(request.POST)
    if form.is_valid():
        try:
            move = payouts.earnings_to_wallet(
                vendor_user=request.user,
                amount_paise=form.amount(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            notice = f"{format_rupees(move.amount_paise)} moved to your wallet."
            if not request.htmx:
                messages.success(request, notice)
                return redirect("console:earnings")
            context = _earnings_context(request, moved=move, notice=notice)
            return _render(
                request, "marketplace/console/earnings.html", context, partial="payout-panel"
            )
    context = _earnings_context(
        request,
        move_form=form,
        idempotency_key=request.POST.get("idempotency_key") or _fresh_key(),
    )
    return _render(
        request,
        "marketplace/console/earnings.html",
        context,
        partial="payout-panel",
        status=400,
    )


# --- passes and usage -----------------------------------------------------------------------


@vendor_required
def passes(request):
    vendor = request.vendor
    page = selectors.vendor_active_passes(vendor=vendor, page=_page(request.GET.get("page")))
    now = timezone.now()
    rows = [
        {
            "pass": p,
            "owner": selectors.mask_email(p.owner.email),
            "time_left": selectors.pass_time_left(p, now),
        }
        for p in page.object_list
    ]
    context = {"section": "passes", "page": page, "rows": rows, "now": now}
    if request.htmx:
        return _render(request, "marketplace/console/passes.html", context, partial="pass-table")
    context["usage"] = [
        {"event": e, "owner": selectors.mask_email(e.pass_obj.owner.email)}
        for e in selectors.vendor_recent_usage(vendor=vendor)
    ]
    return _render(request, "marketplace/console/passes.html", context)


# --- webhooks -------------------------------------------------------------------------------


def _webhooks_context(request, **extra) -> dict:
    vendor = request.vendor
    endpoint_id = request.GET.get("endpoint") or None
    status = request.GET.get("status", "")
    if status not in WebhookDeliveryStatus.values:
        status = ""
    return {
        "section": "webhooks",
        "endpoints": selectors.vendor_endpoints(vendor=vendor),
        "deliveries": selectors.vendor_deliveries(
            vendor=vendor,
            endpoint_id=_page(endpoint_id) if endpoint_id else None,
            status=status,
            page=_page(request.GET.get("page")),
        ),
        "filter_endpoint": _page(endpoint_id) if endpoint_id else None,
        "filter_status": status,
        "statuses": WebhookDeliveryStatus.choices,
        "form": WebhookEndpointForm(),
        "now": timezone.now(),
        **extra,
    }


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhooks_page(request):
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                endpoint, secret = webhooks.webhook_endpoint_create(
                    vendor=request.vendor,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return _render(
                    request,
                    "marketplace/console/webhooks.html",
                    _webhooks_context(request, shown_secret=secret, shown_for=endpoint.pk),
                )
        return _render(
            request,
            "marketplace/console/webhooks.html",
            _webhooks_context(request, form=form),
            status=400,
        )
    context = _webhooks_context(request)
    if request.htmx and request.GET.get("log"):
        return _render(request, "marketplace/console/webhooks.html", context, partial="log")
    return _render(request, "marketplace/console/webhooks.html", context)


@vendor_required
@require_POST
def webhook_rotate(request, endpoint_id: int):
    """A new signing secret, shown once; the old one keeps signing for the overlap."""
    endpoint = webhooks.webhook_endpoint_access(vendor=request.vendor, endpoint_id=endpoint_id)
    secret = webhooks.webhook_secret_rotate(endpoint=endpoint)
    context = _webhooks_context(request, shown_secret=secret, shown_for=endpoint.pk)
    if request.htmx:
        return _endpoint_row(request, context, endpoint)
    return _render(request, "marketplace/console/webhooks.html", context)


@vendor_required
@require_POST
def webhook_active(request, endpoint_id: int):
    endpoint = webhooks.webhook_endpoint_access(vendor=request.vendor, endpoint_id=endpoint_id)
    webhooks.webhook_endpoint_set_active(
        endpoint=endpoint, active=request.POST.get("active") == "1"
    )
    if not request.htmx:
        return redirect("console:webhooks")
    return _endpoint_row(request, _webhooks_context(request), endpoint)


def _endpoint_row(request, context: dict, endpoint):
    """The one endpoint's row of the webhooks page (an htmx swap)."""
    context["e"] = next(e for e in context["endpoints"] if e.pk == endpoint.pk)
    return _render(request, "marketplace/console/webhooks.html", context, partial="endpoint")


@vendor_required
@require_POST
def webhook_replay(request, delivery_id: int | None = None):
    """Send one failed delivery again, or all of them (no id)."""
    count = webhooks.webhook_replay(vendor=request.vendor, delivery_id=delivery_id)
    notice = (
        f"Replaying {count} failed deliver{'y' if count == 1 else 'ies'}."
        if count
        else "No failed deliveries to replay."
    )
    if not request.htmx:
        messages.success(request, notice)
        return redirect("console:webhooks")
    context = _webhooks_context(request, notice=notice)
    return _render(request, "marketplace/console/webhooks.html", context, partial="log")


# --- API keys -------------------------------------------------------------------------------


def _keys_context(request, **extra) -> dict:
    return {
        "section": "keys",
        "keys": selectors.vendor_keys(vendor=request.vendor),
        "test_plans": selectors.vendor_test_plans(vendor=request.vendor),
        "form": ApiKeyForm(),
        "now": timezone.now(),
        **extra,
    }


@vendor_required
@require_http_methods(["GET", "HEAD", "POST"])
def api_keys(request):
    status = 200
    extra = {}
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                created = keys.api_key_create(
                    vendor=request.vendor,
                    mode=form.cleaned_data["mode"],
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                extra = {"shown_secret": created.secret, "shown_key": created.key}
        if form.errors:
            extra, status = {"form": form}, 400
    context = _keys_context(request, **extra)
    return _render(
        request, "marketplace/console/keys.html", context, partial="keys-panel", status=status
    )


@vendor_required
@require_POST
def api_key_revoke(request, key_id: int):
    key = keys.api_key_revoke(vendor=request.vendor, key_id=key_id)
    context = _keys_context(request, notice=f"Key {key.masked} revoked.")
    if not request.htmx:
        messages.success(request, f"Key {key.masked} revoked.")
        return redirect("console:keys")
    return _render(request, "marketplace/console/keys.html", context, partial="keys-panel")


@vendor_required
@require_POST
def test_pass_mint(request):
    plan = catalog_admin.plan_access(
        vendor=request.vendor, plan_id=_int_or_404(request.POST.get("plan_id"))
    )
    minted = keys.test_pass_mint(vendor=request.vendor, plan=plan)
    context = _keys_context(request, minted=minted)
    return _render(request, "marketplace/console/keys.html", context, partial="keys-panel")
