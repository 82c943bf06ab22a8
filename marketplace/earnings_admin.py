"""Staff move a vendor's earnings (payable) to the vendor's wallet from the admin.

An action on the vendor profile list leads to a small form (amount or all of
it, reason); the view calls marketplace.services.payouts.earnings_to_wallet
with the staff user as `acting_user`, so the journal entry records who and why,
and leaves a change-log row on the vendor profile. Needs the
`marketplace.move_earnings` permission.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from flexpass.errors import DomainError
from flexpass.money import format_rupees, parse_rupees
from marketplace.console_selectors import earnings_held
from marketplace.models import VendorProfile
from marketplace.services.payouts import earnings_to_wallet
from wallet.services import vendor_payable_account, wallet_ensure


class MoveEarningsForm(forms.Form):
    amount = forms.CharField(
        label="Amount in rupees",
        required=False,
        help_text="For example 250 or 99.50. Leave empty and tick the box to move it all.",
    )
    everything = forms.BooleanField(label="Move the whole payable balance", required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=200,
        help_text="Recorded on the journal entry with your name; the vendor sees it.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        text = (data.get("amount") or "").strip()
        if data.get("everything"):
            if text:
                self.add_error("amount", "Leave the amount empty to move it all.")
            data["amount_paise"] = None
        elif not text:
            self.add_error("amount", "Enter an amount, or tick the box to move it all.")
        else:
            try:
                data["amount_paise"] = parse_rupees(text)
            except ValueError as exc:
                self.add_error("amount", str(exc))
        return data


class MoveEarningsAdminMixin:
    """Mixed into VendorProfileAdmin (marketplace.admin)."""

    def has_move_earnings_permission(self, request):
        return request.user.is_staff and request.user.has_perm("marketplace.move_earnings")

    @admin.action(description="Move earnings to wallet…", permissions=["move_earnings"])
    def move_earnings(self, request, queryset):
        vendors = list(queryset[:2])
        if len(vendors) != 1:
            self.message_user(request, "Choose exactly one vendor.", messages.WARNING)
            return None
        return redirect("admin:marketplace_vendorprofile_move_earnings", vendors[0].pk)

    def get_urls(self):
        view = self.admin_site.admin_view(self.move_earnings_view)
        return [
            path(
                "<int:vendor_id>/move-earnings/",
                view,
                name="marketplace_vendorprofile_move_earnings",
            ),
            *super().get_urls(),
        ]

    def move_earnings_view(self, request, vendor_id: int):
        """Parse the form, call payouts.earnings_to_wallet as the staff user, show the result."""
        if not self.has_move_earnings_permission(request):
            raise PermissionDenied
        vendor = get_object_or_404(VendorProfile.objects.select_related("user"), pk=vendor_id)
        if request.method == "POST":
            form = MoveEarningsForm(request.POST)
            if form.is_valid():
                try:
                    move = earnings_to_wallet(
                        vendor_user=vendor.user,
                        amount_paise=form.cleaned_data["amount_paise"],
                        idempotency_key=form.cleaned_data["idempotency_key"],
                        acting_user=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                except DomainError as exc:
                    form.add_error(None, str(exc))
                else:
                    if move.replayed:  # a double submit: the first one did it and logged it
                        self.message_user(
                            request,
                            f"Already moved (journal entry #{move.entry_id}); nothing moved again.",
                            messages.INFO,
                        )
                        return redirect("admin:marketplace_vendorprofile_change", vendor.pk)
                    self.log_change(
                        request,
                        vendor,
                        f"Moved {format_rupees(move.amount_paise)} of earnings to the vendor's "
                        f"wallet (journal entry #{move.entry_id}): {form.cleaned_data['reason']}",
                    )
                    self.message_user(
                        request,
                        f"Moved {format_rupees(move.amount_paise)} of {vendor}'s earnings to "
                        f"their wallet (journal entry #{move.entry_id}). Payable now "
                        f"{format_rupees(move.payable_paise)}, wallet "
                        f"{format_rupees(move.available_paise)}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:marketplace_vendorprofile_change", vendor.pk)
        else:
            form = MoveEarningsForm(initial={"idempotency_key": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Move {vendor}'s earnings to their wallet",
            "form": form,
            "vendor": vendor,
            "payable": format_rupees(vendor_payable_account(vendor.user).balance_paise),
            "held": format_rupees(earnings_held(vendor=vendor).paise),
            "available": format_rupees(wallet_ensure(user=vendor.user).available.balance_paise),
        }
        return TemplateResponse(request, "admin/marketplace/move_earnings.html", context)
