"""Flash-sale pages: storefront with live stock, hold page with countdown, order page.

Views parse input, call a service or selector and render. Refusals from the
services (sold out, throttled, expired...) become a toast (htmx) or a message
(plain form posts); nothing a refused request touched has changed.
"""

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from flashsale import selectors, services
from flashsale.errors import HoldExpired
from flashsale.models import HoldStatus
from flashsale.throttle import client_ip
from flexpass.errors import DomainError
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
    if request.htmx:
        response = _toast(str(exc))
        retry_after = (exc.headers or {}).get("Retry-After")
        if retry_after:
            response["Retry-After"] = retry_after
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
    back = request.POST.get("next") or reverse("flashsale:storefront")
    try:
        quantity = int(request.POST.get("quantity", "1"))
    except ValueError:
        quantity = 0
    token = request.POST.get("token", "").strip()[:64] or uuid.uuid4().hex
    try:
        hold, _created = services.hold_create(
            user=request.user,
            item_id=item_id,
            quantity=quantity,
            client_ip=client_ip(request),
            request_key=f"web:{token}",
        )
    except DomainError as exc:
        return _refused(request, exc, back)
    return _go(request, reverse("flashsale:hold", args=[hold.pk]))


def _hold_context(request, hold, error: str = "") -> dict:
    now = timezone.now()
    amount = hold.item.sale_price_paise * hold.quantity
    balance = wallet_balances(user_id=request.user.pk).available_paise
    return {
        "hold": hold,
        "item": hold.item,
        "amount_paise": amount,
        "balance_paise": balance,
        "short_paise": max(0, amount - balance),
        "is_open": hold.is_open(now),
        "error": error,
        "hold_seconds_total": max(1, int((hold.expires_at - hold.created_at).total_seconds())),
        "topup_url": _url_or_none("billing:topup_start"),
    }


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
        hold = selectors.hold_access(user=request.user, hold_id=hold_id)
    except DomainError:
        return render(request, "404.html", status=404)
    if hold.status == HoldStatus.ACTIVE and not hold.is_open():
        services.hold_expire(hold_id=hold.pk)  # lazy expiry: the units go back now
        hold = selectors.hold_access(user=request.user, hold_id=hold_id)
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
