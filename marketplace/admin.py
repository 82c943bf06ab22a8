"""Operator screens for the catalog; sales records are read-only (money moves through services)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from flexpass.errors import DomainError
from flexpass.money import format_rupees, parse_rupees
from marketplace.catalog_cache import catalog_cache_invalidate
from marketplace.earnings_admin import MoveEarningsAdminMixin
from marketplace.models import (
    CashbackGrant,
    Category,
    Order,
    OrderTransition,
    Pass,
    PassNotification,
    Plan,
    Purchase,
    ReferralReward,
    Refund,
    Service,
    ServiceStatus,
    UserBadge,
    VendorProfile,
)
from marketplace.refunds import purchase_refund


@admin.register(VendorProfile)
class VendorProfileAdmin(MoveEarningsAdminMixin, admin.ModelAdmin):
    list_display = ["business_name", "slug", "user", "created_at"]
    search_fields = ["business_name", "slug", "user__email"]
    prepopulated_fields = {"slug": ["business_name"]}
    raw_id_fields = ["user"]
    actions = ["move_earnings"]  # marketplace.earnings_admin: staff move payable to the wallet


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "icon", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


class PlanInline(admin.TabularInline):
    model = Plan
    extra = 0
    fields = [
        "kind",
        "name",
        "price_paise",
        "duration_hours",
        "units",
        "validity_days",
        "metered_rate_paise",
        "metered_unit",
        "position",
        "is_active",
    ]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "category", "status", "purchases_count", "updated_at"]
    list_filter = ["status", "category"]
    search_fields = ["name", "slug", "vendor__business_name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["purchases_count", "created_at", "updated_at"]
    inlines = [PlanInline]
    actions = ["go_live", "pause"]

    def _set_status(self, request, queryset, status: str) -> None:
        from django.utils import timezone

        count = queryset.update(status=status, updated_at=timezone.now())
        catalog_cache_invalidate()  # update() sends no signal
        self.message_user(request, f"{count} service(s) now {status}.", messages.SUCCESS)

    @admin.action(description="Put on sale (live)")
    def go_live(self, request, queryset):
        self._set_status(request, queryset, ServiceStatus.LIVE)

    @admin.action(description="Pause sales")
    def pause(self, request, queryset):
        self._set_status(request, queryset, ServiceStatus.PAUSED)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "buyer",
        "service",
        "plan",
        "price_paise",
        "fee_paise",
        "status",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["buyer__email", "service__name", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["buyer", "service", "plan"]
    actions = ["refund"]

    def has_refund_permission(self, request):
        return request.user.is_staff and request.user.has_perm("marketplace.add_refund")

    @admin.action(description="Refund…", permissions=["refund"])
    def refund(self, request, queryset):
        purchases = list(queryset[:2])
        if len(purchases) != 1:
            self.message_user(request, "Choose exactly one purchase to refund.", messages.WARNING)
            return None
        return redirect("admin:marketplace_purchase_refund", purchases[0].pk)

    def get_urls(self):
        view = self.admin_site.admin_view(self.refund_view)
        return [
            path("<int:purchase_id>/refund/", view, name="marketplace_purchase_refund"),
            *super().get_urls(),
        ]

    def refund_view(self, request, purchase_id: int):
        """Staff refund: parse the form, call refunds.purchase_refund, show the result."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        purchase = get_object_or_404(
            Purchase.objects.select_related("buyer", "service", "plan"), pk=purchase_id
        )
        left = purchase.price_paise - purchase.refunded_paise
        if request.method == "POST":
            form = RefundForm(request.POST)
            if form.is_valid():
                try:
                    result = purchase_refund(
                        purchase_id=purchase.pk,
                        amount_paise=form.cleaned_data["amount_paise"],
                        reason=form.cleaned_data["reason"],
                        acting_user=request.user,
                        idempotency_key=form.cleaned_data["idempotency_key"],
                    )
                except DomainError as exc:
                    form.add_error(None, str(exc))
                else:
                    self.log_change(
                        request,
                        purchase,
                        f"Refunded {format_rupees(result.amount_paise)} (journal entry "
                        f"#{result.entry_id}): {result.reason}",
                    )
                    self.message_user(
                        request,
                        f"Refunded {format_rupees(result.amount_paise)} of {purchase.number} "
                        f"to {purchase.buyer.email}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:marketplace_purchase_change", purchase.pk)
        else:
            form = RefundForm(
                initial={
                    "idempotency_key": uuid.uuid4().hex,
                    "amount": format_rupees(left, symbol=False),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Refund {purchase.number}",
            "form": form,
            "purchase": purchase,
            "left": format_rupees(left),
            "refunds": purchase.refunds.select_related("acting_user"),
        }
        return TemplateResponse(request, "admin/marketplace/refund.html", context)


class RefundForm(forms.Form):
    amount = forms.CharField(label="Amount (₹)", help_text="Rupees, e.g. 49 or 24.50.")
    reason = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Shown to the buyer and kept in the books.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def clean(self):
        data = super().clean()
        if "amount" in data:
            try:
                data["amount_paise"] = parse_rupees(data["amount"])
            except ValueError as exc:
                self.add_error("amount", str(exc))
        return data


@admin.register(Pass)
class PassAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "owner",
        "service",
        "kind",
        "status",
        "starts_at",
        "expires_at",
        "units_left",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["owner__email", "service__name"]


class TransitionInline(admin.TabularInline):
    model = OrderTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "note", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "buyer",
        "service",
        "status",
        "price_paise",
        "wallet_part_paise",
        "gateway_part_paise",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["buyer__email", "service__name"]
    inlines = [TransitionInline]


@admin.register(PassNotification)
class PassNotificationAdmin(ReadOnlyAdmin):
    list_display = ["pass_obj", "user", "kind", "created_at", "delivered_at"]
    list_filter = ["kind"]


# --- rewards and refunds (read-only: money moves through marketplace.rewards / refunds) ----


@admin.register(CashbackGrant)
class CashbackGrantAdmin(ReadOnlyAdmin):
    list_display = [
        "purchase",
        "user",
        "amount_paise",
        "cancelled_paise",
        "clawed_back_paise",
        "status",
        "release_at",
        "released_at",
    ]
    list_filter = ["status"]
    search_fields = ["user__email"]
    list_select_related = ["purchase", "user"]


@admin.register(ReferralReward)
class ReferralRewardAdmin(ReadOnlyAdmin):
    list_display = [
        "referred",
        "referrer",
        "referrer_paise",
        "referred_paise",
        "purchase",
        "created_at",
    ]
    search_fields = ["referred__email", "referrer__email"]
    list_select_related = ["referred", "referrer", "purchase"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "purchase",
        "amount_paise",
        "reason",
        "cashback_cancelled_paise",
        "cashback_clawed_back_paise",
        "cashback_debt_paise",
        "vendor_shortfall_paise",
        "acting_user",
        "created_at",
    ]
    search_fields = ["purchase__buyer__email", "reason"]
    list_select_related = ["purchase", "acting_user"]


@admin.register(UserBadge)
class UserBadgeAdmin(ReadOnlyAdmin):
    list_display = ["user", "code", "awarded_at"]
    list_filter = ["code"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


from marketplace import vendor_admin  # noqa: E402,F401  (vendor platform admin)
