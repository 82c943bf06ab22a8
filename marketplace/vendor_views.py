"""Pages for metered sessions: start one on a metered plan, watch its cost live, stop it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from flexpass.errors import DomainError
from marketplace.models import MeteredSession, Plan
from marketplace.services import sessions


@login_required
@require_POST
def session_start(request, plan_id: int):
    plan = get_object_or_404(Plan.objects.select_related("service"), pk=plan_id)
    try:
        session = sessions.session_start(user=request.user, plan=plan)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("marketplace-sessions:list")
    return redirect("marketplace-sessions:detail", session_id=session.pk)


@login_required
def session_list(request):
    rows = MeteredSession.objects.filter(user=request.user).select_related("plan__service")[:50]
    return render(request, "marketplace/vendor/sessions.html", {"sessions": rows})


@login_required
def session_detail(request, session_id: int):
    session = get_object_or_404(
        MeteredSession.objects.select_related("plan__service"), pk=session_id, user=request.user
    )
    return render(request, "marketplace/vendor/session.html", {"session": session})


@login_required
@require_POST
def session_stop(request, session_id: int):
    try:
        sessions.session_stop(session_id=session_id, user=request.user)
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect("marketplace-sessions:detail", session_id=session_id)


# --- vendor console (/sessions/../vendor/...): keys, test passes, webhooks, earnings ----------


def _vendor(request):
    from django.http import Http404

    vendor = getattr(request.user, "vendor_profile", None)
    if vendor is None:
        raise Http404("Not a vendor.")
    return vendor


@login_required
def console(request):
    from marketplace.models import ApiKey, WebhookDelivery, WebhookEndpoint
    from marketplace.services import keys, webhooks
    from wallet.services import vendor_payable_account

    if not hasattr(request.user, "vendor_profile"):
        return _apply(request)
    vendor = _vendor(request)
    shown_secret = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "key_create":
                created = keys.api_key_create(
                    vendor=vendor,
                    mode=request.POST.get("mode", "test"),
                    name=request.POST.get("name", ""),
                )
                shown_secret = created.secret
            elif action == "key_revoke":
                keys.api_key_revoke(vendor=vendor, key_id=int(request.POST["key_id"]))
            elif action == "endpoint_create":
                _, shown_secret = webhooks.webhook_endpoint_create(
                    vendor=vendor,
                    url=request.POST.get("url", ""),
                    events=request.POST.getlist("events"),
                )
            elif action == "test_pass_mint":
                plan = get_object_or_404(
                    Plan.objects.select_related("service"),
                    pk=int(request.POST["plan_id"]),
                    service__vendor=vendor,
                )
                minted = keys.test_pass_mint(vendor=vendor, plan=plan)
                messages.success(request, f"Test pass minted. Token: {minted.token}")
            elif action == "replay":
                delivery_id = request.POST.get("delivery_id")
                count = webhooks.webhook_replay(
                    vendor=vendor, delivery_id=int(delivery_id) if delivery_id else None
                )
                messages.success(request, f"Replaying {count} delivery(ies).")
        except (DomainError, ValueError, KeyError) as exc:
            messages.error(request, str(exc))
    context = {
        "vendor": vendor,
        "shown_secret": shown_secret,
        "keys": ApiKey.objects.filter(vendor=vendor),
        "endpoints": WebhookEndpoint.objects.filter(vendor=vendor),
        "deliveries": WebhookDelivery.objects.filter(endpoint__vendor=vendor).prefetch_related(
            "log"
        )[:50],
        "event_types": webhooks.EVENT_TYPES,
        "plans": Plan.objects.filter(service__vendor=vendor).select_related("service"),
        "payable_paise": vendor_payable_account(request.user).balance_paise,
    }
    return render(request, "marketplace/vendor/console.html", context)


def _apply(request):
    """Not a vendor yet: the application form (staff decide in the admin)."""
    from marketplace.models import VendorApplication
    from marketplace.services.vendor_applications import vendor_apply

    if request.method == "POST" and request.POST.get("action") == "apply":
        try:
            vendor_apply(
                user=request.user,
                business_name=request.POST.get("business_name", ""),
                payout_details=request.POST.get("payout_details", ""),
            )
            messages.success(request, "Thanks! We will review your application shortly.")
        except DomainError as exc:
            messages.error(request, str(exc))
    applications = VendorApplication.objects.filter(user=request.user)[:5]
    return render(request, "marketplace/vendor/apply.html", {"applications": applications})
