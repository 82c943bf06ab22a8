"""Flash-sale pages: storefront with live stock, hold page with countdown, order page.

Views parse input, call a service or selector and render. Refusals from the
services (sold out, throttled, expired...) become a toast (htmx) or a message
(plain form posts); nothing a refused request touched has changed.
"""

import functools
import json
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from flashsale import selectors, services
from flashsale.errors import HoldExpired
from flashsale.models import FlashPayment, HoldStatus
from flashsale.throttle import client_ip
from flexpass.errors import DomainError, NotFound
from flexpass.views import back_to
from marketplace.models import ORDER_OPEN_STATES, OrderStatus
from wallet.selectors import wallet_balances


def _toast(message: str, level: str = "error", status: int = 200) -> HttpResponse:
    """An htmx answer that changes nothing on the page but shows a toast."""
    response = HttpResponse(status=status)
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "level": level}})
    response["HX-Reswap"] = "none"
    return response


def _go(request, url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _refused(request, exc: DomainError, back: str) -> HttpResponse:
    """The refusal's own status (409 sold out, 429 throttled with Retry-After, ...) and
    its message as a toast; without JavaScript, back to the page with the message."""
    if request.htmx:
        response = _toast(str(exc), status=exc.status_code)
        for name, value in (exc.headers or {}).items():
            response[name] = value
        return response
    messages.error(request, str(exc))
    return redirect(back)


def _storefront_context(request, sales, now) -> dict:
    item_ids = [item.pk for sale in sales for item in sale.items.all()]
    user = request.user
    open_holds = selectors.user_open_holds(user=user, now=now)
    return {
        "live_sales": [sale for sale in sales if sale.phase(now) == "live"],
        "upcoming_sales": [sale for sale in sales if sale.phase(now) == "upcoming"],
        "open_holds": open_holds,
        "holding": {hold.item_id: hold for hold in open_holds},
        "waiting": selectors.user_waitlist_positions(user=user, item_ids=item_ids),
        "hold_seconds": _hold_minutes_label(),
        "now": now,
    }


def _hold_minutes_label() -> str:
    seconds = settings.FLASH_HOLD_SECONDS
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _with_fresh_stock(load, item_ids_of, now):
    """Load, expire overdue holds of what was loaded (lazy expiry), reload if units came back."""
    loaded = load()
    if services.holds_expire_overdue(item_ids=item_ids_of(loaded), now=now):
        loaded = load()
    return loaded


@require_GET
def storefront(request):
    now = timezone.now()
    sales = _with_fresh_stock(
        lambda: selectors.storefront_sales(now=now),
        lambda sales: [item.pk for sale in sales for item in sale.items.all()],
        now,
    )
    context = _storefront_context(request, sales, now)
    return render(request, "flashsale/storefront.html", context)


@require_GET
def sale_detail(request, sale_id: int):
    now = timezone.now()
    try:
        sale = _with_fresh_stock(
            lambda: selectors.sale_access(sale_id=sale_id),
            lambda sale: [item.pk for item in sale.items.all()],
            now,
        )
    except DomainError:
        return render(request, "404.html", status=404)
    context = _storefront_context(request, [sale] if sale.phase(now) != "ended" else [], now)
    context.update(sale=sale, ended=sale.phase(now) == "ended")
    return render(request, "flashsale/storefront.html", context)


@login_required
@require_POST
def hold_create(request, item_id: int):
    back = back_to(request, reverse("flashsale:storefront"))
    try:
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError:
        quantity = 0
    token = request.POST.get("token", "").strip()[:64] or uuid.uuid4().hex
    hold_for = functools.partial(
        services.hold_create,
        user=request.user,
        item_id=item_id,
        quantity=quantity,
        client_ip=client_ip(request),
    )
    try:
        hold, created = hold_for(request_key=f"web:{token}")
        if not created and not hold.is_open():
            # The form's token guards against a double click. A form that came back
            # (the Back button) after its hold ended is a new press: a new hold.
            hold, created = hold_for(request_key=f"web:{uuid.uuid4().hex}")
    except DomainError as exc:
        return _refused(request, exc, back)
    return _go(request, reverse("flashsale:hold", args=[hold.pk]))


def _hold_context(request, hold, error: str = "") -> dict:
    now = timezone.now()
    amount = hold.amount_paise
    balance = wallet_balances(user_id=request.user.pk).available_paise
    short = max(0, amount - balance)
    open_payment = selectors.hold_open_payment(hold=hold) if hold.status == "active" else None
    return {
        "hold": hold,
        "item": hold.item,
        "amount_paise": amount,
        "balance_paise": balance,
        "short_paise": short,
        # Mixed payment: what the wallet pays (reserved) and what goes by UPI/card.
        "wallet_part_paise": amount - short,
        "gateway_charge_paise": max(short, settings.TOPUP_MIN_PAISE) if short else 0,
        "pay_key": uuid.uuid4().hex,
        "open_payment": open_payment,
        "open_payment_checkout_url": _checkout_url(open_payment) if open_payment else "",
        "is_open": hold.is_open(now),
        # Nothing here can be paid (a paid hold still shows as paid).
        "taken_off": hold.sale_taken_off and hold.status != HoldStatus.CONFIRMED,
        "error": error,
        "hold_seconds_total": max(1, int((hold.expires_at - hold.created_at).total_seconds())),
        "topup_url": _url_or_none("billing:topup_start"),
    }


def _checkout_url(payment: FlashPayment) -> str:
    """The gateway's payment page for the payment's top-up, coming back to our return page."""
    from billing.gateways import gateway_named

    if payment.topup is None or not payment.topup.gateway_order_id:
        return ""
    base = gateway_named(payment.topup.gateway).checkout_url(payment.topup.gateway_order_id)
    callback = reverse("flashsale:payment_return", args=[payment.pk])
    return f"{base}?{urlencode({'callback_url': callback})}"


def _url_or_none(name: str) -> str | None:
    """Links into apps that may not be deployed yet degrade to no link."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@login_required
@require_GET
def hold_detail(request, hold_id: int):
    try:
        hold = services.hold_for_owner(user=request.user, hold_id=hold_id)
    except DomainError:
        return render(request, "404.html", status=404)
    if hold.status == HoldStatus.CONFIRMED and not request.htmx:
        return redirect("flashsale:order", order_id=hold.order.pk)
    template = "flashsale/hold.html#panel" if request.htmx else "flashsale/hold.html"
    response = render(request, template, _hold_context(request, hold))
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def hold_checkout(request, hold_id: int):
    try:
        order, _created = services.hold_checkout(user=request.user, hold_id=hold_id)
    except DomainError as exc:
        try:
            hold = selectors.hold_access(user=request.user, hold_id=hold_id)
        except DomainError:
            return _refused(request, exc, reverse("flashsale:storefront"))
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("flashsale:hold", hold_id=hold_id)
        return render(
            request, "flashsale/hold.html#panel", _hold_context(request, hold, error=str(exc))
        )
    return _go(request, reverse("flashsale:order", args=[order.pk]))


@login_required
@require_POST
def hold_pay_mixed(request, hold_id: int):
    """Pay what the wallet has and the rest by UPI/card: open the payment, go to checkout."""
    try:
        expected = int(request.POST.get("expected_amount_paise", ""))
    except ValueError:
        expected = None
    try:
        payment = services.hold_pay_mixed(
            user=request.user,
            hold_id=hold_id,
            idempotency_key=request.POST.get("idempotency_key", "") or uuid.uuid4().hex,
            expected_amount_paise=expected,
        )
    except DomainError as exc:
        try:
            selectors.hold_access(user=request.user, hold_id=hold_id)
        except DomainError:
            return _refused(request, exc, reverse("flashsale:storefront"))
        messages.error(request, str(exc))
        return _go(request, reverse("flashsale:hold", args=[hold_id]))
    if payment.status != OrderStatus.PAYMENT_PENDING:
        return _go(request, reverse("flashsale:payment", args=[payment.pk]))
    return _go(request, _checkout_url(payment) or reverse("flashsale:payment", args=[payment.pk]))


@login_required
@require_GET
def payment_detail(request, payment_id: int):
    """A mixed payment's status and steps; htmx polls the status card while it is open."""
    try:
        payment = selectors.payment_access(user=request.user, payment_id=payment_id)
        if payment.status in ORDER_OPEN_STATES:
            services.payment_sync(payment_id=payment.pk)
            payment = selectors.payment_access(user=request.user, payment_id=payment_id)
    except DomainError:
        return render(request, "404.html", status=404)
    order = getattr(payment, "order", None) if payment.status == OrderStatus.FULFILLED else None
    if order is not None:
        if request.htmx:
            return _go(request, reverse("flashsale:order", args=[order.pk]))
        return redirect("flashsale:order", order_id=order.pk)
    context = {
        "payment": payment,
        "hold": payment.hold,
        "item": payment.hold.item,
        "open": payment.status in ORDER_OPEN_STATES,
        "checkout_url": _checkout_url(payment),
        "steps": list(payment.transitions.all()),
        "balance_paise": wallet_balances(user_id=request.user.pk).available_paise,
    }
    template = "flashsale/payment.html#status" if request.htmx else "flashsale/payment.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@csrf_exempt  # the gateway's callback may POST from its own site; billing checks the signature
@require_http_methods(["GET", "POST"])
def payment_return(request, payment_id: int):
    """Back from checkout: billing verifies the signed payment, the payment syncs, then PRG."""
    params = request.POST if request.method == "POST" else request.GET
    payment = FlashPayment.objects.select_related("buyer").filter(pk=payment_id).first()
    if payment is None or (request.user.is_authenticated and request.user.pk != payment.buyer_id):
        return render(request, "404.html", status=404)
    try:
        payment = services.payment_note_return(
            user=payment.buyer,
            payment_id=payment.pk,
            gateway_order_id=params.get("razorpay_order_id", ""),
            payment_ref=params.get("razorpay_payment_id", ""),
            signature=params.get("razorpay_signature", ""),
        )
    except NotFound:
        return render(request, "404.html", status=404)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        if payment.status == OrderStatus.FULFILLED:
            messages.success(request, "Payment received. The item is yours.")
            return redirect("flashsale:order", order_id=payment.order.pk)
        if params.get("error[reason]") == "payment_cancelled":
            messages.warning(request, "You cancelled the card payment. Nothing was charged.")
        elif params.get("error[description]"):
            messages.error(request, params["error[description]"][:200])
    return redirect("flashsale:payment", payment_id=payment.pk)


@login_required
@require_POST
def payment_cancel(request, payment_id: int):
    try:
        payment = services.payment_cancel(user=request.user, payment_id=payment_id)
    except DomainError as exc:
        return _refused(request, exc, reverse("flashsale:payment", args=[payment_id]))
    if payment.status == OrderStatus.CANCELLED:
        messages.success(request, "Card payment cancelled. The held wallet money is back.")
        return _go(request, reverse("flashsale:hold", args=[payment.hold_id]))
    return _go(request, reverse("flashsale:payment", args=[payment.pk]))


@login_required
@require_POST
def hold_release(request, hold_id: int):
    try:
        hold = services.hold_release(user=request.user, hold_id=hold_id)
    except HoldExpired:
        messages.info(request, "That hold had already expired; its units are back in the sale.")
        return _go(request, reverse("flashsale:storefront"))
    except DomainError as exc:
        return _refused(request, exc, reverse("flashsale:hold", args=[hold_id]))
    messages.success(request, f"Released {hold.item.name}. Someone else can have it now.")
    return _go(request, reverse("flashsale:sale", args=[hold.item.sale_id]))


@login_required
@require_GET
def order_detail(request, order_id: int):
    try:
        order = selectors.order_access(user=request.user, order_id=order_id)
    except DomainError:
        return render(request, "404.html", status=404)
    return render(
        request,
        "flashsale/order.html",
        {
            "order": order,
            "item": order.item,
            "payment": order.payment,
            "balance_paise": wallet_balances(user_id=request.user.pk).available_paise,
            "wallet_url": _url_or_none("wallet:home"),
            "passes_url": _url_or_none("marketplace:passes") if order.purchase_id else None,
        },
    )


def _item_card(request, item_id: int) -> HttpResponse:
    now = timezone.now()
    item = selectors.item_access(item_id=item_id)
    context = {
        "item": item,
        "sale": item.sale,
        "live": item.sale.phase(now) == "live",
        "holding": {
            hold.item_id: hold
            for hold in selectors.user_open_holds(user=request.user, now=now)
            if hold.item_id == item.pk
        },
        "waiting": selectors.user_waitlist_positions(user=request.user, item_ids=[item.pk]),
        "hold_seconds": _hold_minutes_label(),
    }
    return render(request, "flashsale/partials/_item_card.html", context)


@login_required
@require_POST
def waitlist_join(request, item_id: int):
    try:
        item = selectors.item_access(item_id=item_id)
        services.waitlist_join(user=request.user, item=item)
    except DomainError as exc:
        return _refused(request, exc, reverse("flashsale:storefront"))
    if not request.htmx:
        messages.success(request, f"You're on the waitlist for {item.name}.")
        return redirect("flashsale:sale", sale_id=item.sale_id)
    response = _item_card(request, item_id)
    place = selectors.user_waitlist_positions(user=request.user, item_ids=[item_id])
    message = f"You're #{place.get(item_id, 1)} in line. We'll hold the next unit for you."
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "level": "success"}})
    return response


@login_required
@require_POST
def waitlist_leave(request, item_id: int):
    try:
        item = selectors.item_access(item_id=item_id)
        services.waitlist_leave(user=request.user, item=item)
    except DomainError as exc:
        return _refused(request, exc, reverse("flashsale:storefront"))
    if not request.htmx:
        return redirect("flashsale:sale", sale_id=item.sale_id)
    return _item_card(request, item_id)
