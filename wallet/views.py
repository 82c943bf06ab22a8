"""Wallet pages: balances and statement, send money (review, then confirm), receive, CSV.

Views parse input, call a service or selector and render. One view serves the
whole wallet page or, for an htmx request, only the statement fragment.
"""

import csv
import uuid
from dataclasses import asdict
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from flexpass.errors import DomainError
from flexpass.money import format_rupees
from wallet import selectors, services
from wallet.errors import InsufficientFunds
from wallet.forms import ConfirmForm, SendForm, StatementFilterForm
from wallet.models import EntryKind

STATEMENT_PAGE_SIZE = 20
QUICK_TOPUP_RUPEES = (100, 500, 1000, 2000)
KIND_BADGES = {
    EntryKind.TOPUP: "ok",
    EntryKind.REFUND: "ok",
    EntryKind.CASHBACK: "ok",
    EntryKind.REFERRAL: "ok",
    EntryKind.EARNINGS: "ok",
    EntryKind.TRANSFER: "brand",
    EntryKind.WITHDRAWAL: "warn",
    EntryKind.REVERSAL: "bad",
}


def _url_or_none(name: str) -> str | None:
    """Links into apps that may not be deployed yet (billing) degrade to no link."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _statement_rows(postings) -> list[dict]:
    return [
        {**asdict(line), "badge": KIND_BADGES.get(line.kind, "")}
        for line in selectors.statement_lines(postings)
    ]


def _filtered_postings(request, wallet):
    form = StatementFilterForm(request.GET)
    return form, selectors.statement_postings(wallet=wallet, **form.filters())


@login_required
@require_GET
def wallet_home(request):
    wallet = services.wallet_ensure(user=request.user)
    form, postings = _filtered_postings(request, wallet)
    page = Paginator(postings, STATEMENT_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {name: value for name, value in request.GET.items() if name != "page" and value}
    context = {
        "wallet": wallet,
        "filter_form": form,
        "filtered": bool(filters),
        "page": page,
        "rows": _statement_rows(page.object_list),
        "csv_url": reverse("wallet:statement_csv") + (f"?{urlencode(filters)}" if filters else ""),
        "refresh_url": request.get_full_path(),
    }
    if request.htmx and not (request.htmx.boosted or request.htmx.history_restore_request):
        response = render(request, "wallet/home.html#statement", context)
    else:
        context.update(
            balances=selectors.wallet_balances(user_id=request.user.pk),
            cashback_window_hours=settings.CASHBACK_REFUND_WINDOW_HOURS,
            spending=selectors.spending_by_day(wallet=wallet),
            topup_url=_url_or_none("billing:topup_start"),
            withdraw_url=_url_or_none("billing:withdraw"),
            quick_topups=QUICK_TOPUP_RUPEES,
            topup_key=uuid.uuid4().hex,  # a double click opens one gateway order
        )
        context["low_balance"] = (
            context["balances"].available_paise < wallet.low_balance_threshold_paise
        )
        response = render(request, "wallet/home.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _rupees_plain(paise: int) -> str:
    """-12345 -> "-123.45": a number a spreadsheet reads, no symbol or grouping."""
    return format_rupees(paise, symbol=False).replace(",", "")


def _csv_text(value) -> str:
    """A text cell a spreadsheet shows as text: descriptions carry names vendors chose,
    and a cell starting with = + - @ would run as a formula (CSV injection)."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def statement_csv(request):
    wallet = services.wallet_ensure(user=request.user)
    _form, postings = _filtered_postings(request, wallet)
    rows = _statement_rows(postings)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"flexpass-statement-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["Date", "Type", "Description", "Amount (INR)", "Balance after (INR)"])
    for row in rows:
        writer.writerow(
            [
                timezone.localtime(row["created_at"]).strftime("%Y-%m-%d %H:%M"),
                _csv_text(row["kind_display"]),
                _csv_text(row["description"]),
                _rupees_plain(row["amount_paise"]),
                _rupees_plain(row["balance_after_paise"]),
            ]
        )
    return response


def _recipient_card(user) -> dict:
    wallet = services.wallet_ensure(user=user)
    return {
        "display_name": user.display_name,
        "initial": (user.display_name[:1] or "?").upper(),
        "handle": wallet.handle,
    }


@login_required
@require_http_methods(["GET", "POST"])
def send(request):
    """Step 1: who and how much. A valid form shows the review page (nothing moves yet)."""
    if request.method == "POST":
        form = SendForm(request.POST, sender=request.user)
        if form.is_valid():
            return render(
                request,
                "wallet/send_confirm.html",
                {
                    "form": ConfirmForm.for_review(form),
                    "recipient": _recipient_card(form.recipient),
                    "amount_paise": form.cleaned_data["amount_rupees"],
                    "note": form.cleaned_data["note"],
                    "balances": selectors.wallet_balances(user_id=request.user.pk),
                },
            )
    else:
        form = SendForm(initial={"to": request.GET.get("to", "")}, sender=request.user)
    return _send_page(request, form)


def _send_page(request, form, status=200):
    balances = selectors.wallet_balances(user_id=request.user.pk)
    return render(
        request,
        "wallet/send.html",
        {"form": form, "balances": balances, "topup_url": _url_or_none("billing:topup_start")},
        status=status,
    )


def _back_to_step_one(request, confirm: ConfirmForm, error: str | None = None):
    """The send form again, filled in, with what went wrong. Nothing was moved."""
    data = confirm.data
    amount = data.get("amount_paise", "")
    try:
        amount_rupees = format_rupees(int(amount), symbol=False).replace(",", "")
    except (TypeError, ValueError):
        amount_rupees = ""
    form = SendForm(
        {"to": data.get("to", ""), "amount_rupees": amount_rupees, "note": data.get("note", "")},
        sender=request.user,
    )
    form.is_valid()
    if error:
        form.add_error(None, error)
    if "idempotency_key" in confirm.errors:  # a hand-edited form: start again
        form.add_error(None, "Please review the payment again.")
    return _send_page(request, form, status=400 if form.errors else 200)


@login_required
@require_POST
def send_confirm(request):
    """Step 2: move the money once, however many times the button is pressed."""
    form = ConfirmForm(request.POST, sender=request.user)
    if not form.is_valid():
        return _back_to_step_one(request, form)
    data = form.cleaned_data
    try:
        services.wallet_transfer(
            sender=request.user,
            recipient=form.recipient,
            amount_paise=data["amount_paise"],
            idempotency_key=f"web:{data['idempotency_key']}",
            note=data["note"],
        )
    except InsufficientFunds:
        available = selectors.wallet_balances(user_id=request.user.pk).available_paise
        return _back_to_step_one(
            request, form, error=f"Not enough money: you have {format_rupees(available)} available."
        )
    except DomainError as exc:
        return _back_to_step_one(request, form, error=str(exc))
    messages.success(
        request,
        f"Sent {format_rupees(data['amount_paise'])} to {form.recipient.display_name}.",
    )
    return redirect("wallet:home")


def _qr_svg(text: str) -> str:
    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
    )
    return image.to_string(encoding="unicode")


@login_required
@require_GET
def receive(request):
    wallet = services.wallet_ensure(user=request.user)
    pay_url = request.build_absolute_uri(
        reverse("wallet:send") + "?" + urlencode({"to": f"@{wallet.handle}"})
    )
    return render(
        request,
        "wallet/receive.html",
        {"wallet": wallet, "pay_url": pay_url, "qr_svg": mark_safe(_qr_svg(pay_url))},  # noqa: S308 - generated by qrcode, no user HTML
    )
