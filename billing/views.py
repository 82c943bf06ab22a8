"""Billing pages: add money, the (simulated) checkout sheet, the return page, withdrawals."""

import json
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from billing import selectors, services
from billing.errors import InvalidPaymentSignature
from billing.forms import TopUpForm, WithdrawForm
from billing.gateways import active_gateway, gateway_named
from billing.gateways.simulated import Outcome, SimulatedRazorpay
from billing.models import TopUp, WithdrawalStatus
from flexpass.errors import DomainError
from flexpass.money import format_rupees
from flexpass.views import local_url_or
from wallet.services import wallet_ensure

QUICK_PICKS_RUPEES = (100, 500, 1000)
# Which form field a service error belongs to on the withdraw page.
WITHDRAW_FIELDS = {"amount_paise": "amount_rupees"}


def _fresh_key() -> str:
    return uuid.uuid4().hex


def _gateway_is_simulated() -> bool:
    try:
        return active_gateway().name == SimulatedRazorpay.name
    except DomainError:
        return False


# --- add money ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def topup_start(request):
    """GET: the amount form. POST amount_rupees (+ idempotency_key): open the order, go pay."""
    key = request.POST.get("idempotency_key") or _fresh_key()
    if request.method == "POST":
        form = TopUpForm(request.POST)
        if form.is_valid():
            try:
                topup = services.topup_create(
                    user=request.user,
                    amount_paise=form.cleaned_data["amount_rupees"],
                    idempotency_key=key,
                )
            except DomainError as exc:
                form.add_error("amount_rupees", str(exc))
            else:
                url = gateway_named(topup.gateway).checkout_url(topup.gateway_order_id)
                if request.htmx:
                    return HttpResponseClientRedirect(url)
                return redirect(url)
        key = _fresh_key()  # nothing was paid with the old one; a corrected amount is a new request
    else:
        form = TopUpForm(initial={"amount_rupees": request.GET.get("amount", "")})
    limits = selectors.topup_limits(user=request.user)
    context = {
        "form": form,
        "idempotency_key": key,
        "limits": limits,
        "used_percent": min(100, limits["used_today_paise"] * 100 // limits["daily_max_paise"])
        if limits["daily_max_paise"]
        else 100,
        "quick_picks": QUICK_PICKS_RUPEES,
        "recent": selectors.topups_for_user(user=request.user, limit=5),
        "simulated": _gateway_is_simulated(),
    }
    return render(request, "billing/topup.html", context, status=400 if form.errors else 200)


# --- checkout -----------------------------------------------------------------------------


def _callback_url(request) -> str:
    """Where checkout sends the payer back: our return page, or a same-site callback_url."""
    return local_url_or(
        request, request.GET.get("callback_url", ""), reverse("billing:topup_return")
    )


@require_http_methods(["GET", "POST"])
def checkout(request, order_id: str):
    """The payment sheet for an order.

    Simulated gateway: it plays Razorpay's checkout (Succeed / Fail / Abandon).
    Real Razorpay: checkout.js from Razorpay's CDN would open here; this page shows
    the order and the key id it needs (no internet in this environment).
    """
    simulator = (
        gateway_named(SimulatedRazorpay.name) if settings.SIMULATED_RAZORPAY_ENABLED else None
    )
    order = simulator.order(order_id) if simulator else None
    topup = selectors.topup_by_order_id(order_id)
    if order is None:
        if topup is None or topup.gateway != "razorpay" or topup.user_id != request.user.pk:
            raise Http404("No such order.")
        return render(
            request,
            "billing/checkout_razorpay.html",
            {
                "topup": topup,
                "key_id": gateway_named(topup.gateway).key_id,
                "callback_url": request.build_absolute_uri(_callback_url(request)),
            },
        )
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        if outcome not in Outcome.ALL:
            return HttpResponseBadRequest("Choose succeed, fail or abandon.")
        fields = simulator.complete_checkout(order_id=order_id, outcome=outcome)
        return HttpResponseRedirect(f"{_callback_url(request)}?{urlencode(fields)}")
    order.refresh_from_db()
    payer = topup.user if topup else None
    return render(
        request,
        "billing/checkout.html",
        {
            "order": order,
            "topup": topup,
            "payer": payer,
            "key_id": simulator.key_id,
            "already_paid": order.status == order.Status.PAID,
        },
    )


# --- coming back from checkout ------------------------------------------------------------


def _order_id_from(params) -> str:
    order_id = params.get("razorpay_order_id", "")
    if not order_id and params.get("error[metadata]"):
        try:
            order_id = str(json.loads(params["error[metadata]"]).get("order_id", ""))
        except (ValueError, AttributeError):
            order_id = ""
    return order_id


@csrf_exempt  # Razorpay's callback_url POST comes from its own site; the signature is the proof
@require_http_methods(["GET", "POST"])
def topup_return(request):
    """Checkout's return: verify the signed payment against our stored order, then say how it went.

    Works without a session too (a cross-site POST carries no Lax cookie): the
    signature proves the payment, and the money goes to whoever owns the order.
    """
    params = request.POST if request.method == "POST" else request.GET
    topup = selectors.topup_by_order_id(_order_id_from(params))
    if topup is None or (request.user.is_authenticated and topup.user_id != request.user.pk):
        raise Http404("No such top-up.")
    error, refused = "", False
    if params.get("razorpay_signature"):
        try:
            topup = services.topup_confirm_return(
                user=topup.user,
                topup_id=topup.pk,
                payment_id=params.get("razorpay_payment_id", ""),
                signature=params["razorpay_signature"],
            )
        except InvalidPaymentSignature as exc:
            error, refused = str(exc), True
    else:
        topup = services.topup_note_return_without_payment(topup=topup)
        if params.get("error[reason]") == "payment_cancelled":
            error = "You cancelled the payment. Nothing was charged."
        else:
            error = params.get("error[description]", "") or "The payment did not go through."
    return render(
        request,
        "billing/return.html",
        _status_context(request, topup, error=error),
        status=400 if refused else 200,
    )


def _status_context(request, topup: TopUp, error: str = "") -> dict:
    owner = request.user.is_authenticated and request.user.pk == topup.user_id
    balance = wallet_ensure(user=topup.user).available.balance_paise if owner else None
    return {"topup": topup, "error": error, "balance_paise": balance, "owner": owner}


@login_required
def topup_status(request, topup_id: int):
    """The return page's status card; htmx polls it until the top-up is final."""
    try:
        topup = selectors.access_topup(user=request.user, topup_id=topup_id)
    except DomainError as exc:
        raise Http404(str(exc)) from exc
    template = "billing/return.html#status" if request.htmx else "billing/return.html"
    return render(request, template, _status_context(request, topup))


# --- withdrawals --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request):
    """The withdraw form and my withdrawals; htmx gets just the list (it polls while under review)."""
    key = request.POST.get("idempotency_key") or _fresh_key()
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                withdrawal = services.withdrawal_request(
                    user=request.user,
                    amount_paise=data["amount_rupees"],
                    account_holder=data["account_holder"],
                    account_number=data["account_number"],
                    ifsc=data["ifsc"],
                    idempotency_key=key,
                )
            except DomainError as exc:
                field = WITHDRAW_FIELDS.get(exc.extra.get("field"), exc.extra.get("field"))
                form.add_error(field if field in form.fields else None, str(exc))
            else:
                messages.success(
                    request,
                    f"Withdrawal of {format_rupees(withdrawal.amount_paise)} requested. "
                    "The amount is set aside until our team reviews it.",
                )
                return redirect("billing:withdraw")
        key = _fresh_key()
    else:
        form = WithdrawForm()
    withdrawals = list(selectors.withdrawals_for_user(user=request.user, limit=20))
    wallet = wallet_ensure(user=request.user)
    context = {
        "form": form,
        "idempotency_key": key,
        "withdrawals": withdrawals,
        "any_under_review": any(w.status == WithdrawalStatus.REQUESTED for w in withdrawals),
        "available_paise": wallet.available.balance_paise,
        "reserved_paise": wallet.reserved.balance_paise,
        "min_paise": settings.WITHDRAWAL_MIN_PAISE,
        "max_paise": settings.WITHDRAWAL_MAX_PAISE,
    }
    if request.htmx and request.method == "GET":
        return render(request, "billing/withdraw.html#withdrawal-list", context)
    return render(request, "billing/withdraw.html", context, status=400 if form.errors else 200)
