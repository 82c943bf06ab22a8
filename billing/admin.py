"""The operator's view of billing. Rows are read-only; money moves only through actions
that call billing.services with acting_user=request.user."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from billing import services
from billing.models import SimulatedOrder, TopUp, WebhookEvent, Withdrawal, WithdrawalStatus
from flexpass.errors import DomainError
from flexpass.money import format_rupees


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "amount",
        "status",
        "gateway",
        "gateway_order_id",
        "captured_via",
        "created_at",
    ]
    list_filter = ["status", "gateway", "captured_via"]
    search_fields = ["user__email", "gateway_order_id", "gateway_payment_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    actions = ["reconcile_now"]

    @admin.display(description="Amount", ordering="amount_paise")
    def amount(self, obj):
        return format_rupees(obj.amount_paise)

    @admin.action(
        description="Ask the gateway about the selected open top-ups now", permissions=["change"]
    )
    def reconcile_now(self, request, queryset):
        counts = services.topup_reconcile_now(topup_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Reconciled: {counts or 'nothing open'}", messages.INFO)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "gateway",
        "event_type",
        "event_id",
        "signature_valid",
        "outcome",
        "received_at",
    ]
    list_filter = ["gateway", "signature_valid", "outcome", "event_type"]
    search_fields = ["event_id", "raw_body"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The user sees this reason.",
    )


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "amount",
        "account_holder",
        "account",
        "ifsc",
        "status",
        "reviewed_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["user__email", "account_holder", "account_last4", "ifsc", "account_hash"]
    list_select_related = ["user", "reviewed_by"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject", "mark_returned"]

    @admin.display(description="Amount", ordering="amount_paise")
    def amount(self, obj):
        return format_rupees(obj.amount_paise)

    @admin.display(description="Account")
    def account(self, obj):
        return obj.account_masked

    def _each(self, request, queryset, verb: str, call) -> None:
        done, refused = 0, []
        for withdrawal in queryset.order_by("pk"):
            try:
                call(withdrawal)
            except DomainError as exc:
                refused.append(f"#{withdrawal.pk}: {exc}")
            else:
                done += 1
                self.log_change(request, withdrawal, f"{verb} withdrawal")
        if done:
            self.message_user(request, f"{verb} {done} withdrawal(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(
        description="Approve and pay out the selected withdrawals", permissions=["change"]
    )
    def approve(self, request, queryset):
        self._each(
            request,
            queryset,
            "Approved",
            lambda w: services.withdrawal_approve(withdrawal=w, acting_user=request.user),
        )

    def _with_reason(self, request, queryset, *, action: str, verb: str, service, page: dict):
        """Ask staff for the reason the user will see, then run `service` on each withdrawal."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                verb,
                lambda w: service(withdrawal=w, acting_user=request.user, reason=reason),
            )
            return None
        return TemplateResponse(
            request,
            "billing/admin/withdrawal_reason.html",
            {
                **self.admin_site.each_context(request),
                **page,
                "opts": self.model._meta,
                "form": form,
                "withdrawals": queryset,
                "action": action,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description="Reject the selected withdrawals (asks for a reason)", permissions=["change"]
    )
    def reject(self, request, queryset):
        under_review = queryset.filter(status=WithdrawalStatus.REQUESTED).count()
        return self._with_reason(
            request,
            queryset,
            action="reject",
            verb="Rejected",
            service=services.withdrawal_reject,
            page={
                "title": "Reject withdrawals",
                "lead": f"Reject {under_review} withdrawal(s) under review and release the "
                "money back to each user's wallet.",
                "submit": "Reject with this reason",
            },
        )

    @admin.action(
        description="Record that the bank returned these payouts (asks for a reason)",
        permissions=["change"],
    )
    def mark_returned(self, request, queryset):
        paid_out = queryset.filter(status=WithdrawalStatus.APPROVED).count()
        return self._with_reason(
            request,
            queryset,
            action="mark_returned",
            verb="Returned",
            service=services.withdrawal_return,
            page={
                "title": "Payouts returned by the bank",
                "lead": f"Record that the bank sent back {paid_out} paid-out withdrawal(s): "
                "each amount goes back to the user's wallet.",
                "submit": "Record the return with this reason",
            },
        )


@admin.register(SimulatedOrder)
class SimulatedOrderAdmin(ReadOnlyAdmin):
    """The simulated gateway's own orders (what 'Razorpay' knows)."""

    list_display = ["order_id", "amount_paise", "status", "receipt", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_id", "receipt"]
