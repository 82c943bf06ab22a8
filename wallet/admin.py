"""The ledger in the operator dashboard: every table read-only; money moves only through
admin actions that call services (adjust a balance, release a reservation)."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from accounts.models import User
from flexpass.errors import DomainError
from flexpass.money import format_rupees, parse_rupees
from wallet import integrity, services
from wallet.errors import ReservationClosed
from wallet.models import (
    JournalEntry,
    LedgerAccount,
    LedgerCheckRun,
    LedgerSeal,
    LowBalanceAlert,
    Posting,
    Reservation,
    ReservationStatus,
    Wallet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger history is never added, edited or deleted by hand (the database agrees)."""

    show_full_result_count = False  # no COUNT(*) over the whole ledger on every page

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def rupees(value) -> str:
    return format_rupees(value) if value is not None else "-"


# --- accounts and wallets -------------------------------------------------------------------


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "owner", "balance", "may_go_negative", "created_at")
    list_filter = ("kind", "may_go_negative")
    search_fields = ("code", "owner__email")
    list_select_related = ("owner",)
    ordering = ("id",)

    @admin.display(description="Balance", ordering="balance_paise")
    def balance(self, obj):
        return rupees(obj.balance_paise)


class AdjustBalanceForm(forms.Form):
    DIRECTIONS = [("credit", "Credit: add money"), ("debit", "Debit: take money")]

    user = forms.CharField(label="User", help_text="Email address or @handle.")
    direction = forms.ChoiceField(choices=DIRECTIONS, widget=forms.RadioSelect)
    amount = forms.CharField(label="Amount in rupees", help_text="For example 250 or 99.50.")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text="Recorded on the journal entry with your name.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean_user(self):
        text = self.cleaned_data["user"].strip()
        if text.startswith("@") or "@" not in text:
            user = User.objects.filter(wallet__handle__iexact=text.lstrip("@")).first()
        else:
            user = User.objects.filter(email__iexact=text).first()
        if user is None:
            raise forms.ValidationError("No user has that email address or handle.")
        return user

    def clean_amount(self):
        try:
            paise = parse_rupees(self.cleaned_data["amount"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if paise <= 0:
            raise forms.ValidationError("Enter an amount above zero; choose debit to take money.")
        return paise

    def signed_amount_paise(self) -> int:
        amount = self.cleaned_data["amount"]
        return amount if self.cleaned_data["direction"] == "credit" else -amount


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = (
        "handle",
        "user",
        "available_balance",
        "reserved_balance",
        "threshold",
        "created_at",
    )
    search_fields = ("handle", "user__email")
    list_select_related = ("user", "available", "reserved")
    ordering = ("-id",)
    actions = ["adjust_balance"]

    @admin.display(description="Available", ordering="available__balance_paise")
    def available_balance(self, obj):
        return rupees(obj.available.balance_paise)

    @admin.display(description="Reserved", ordering="reserved__balance_paise")
    def reserved_balance(self, obj):
        return rupees(obj.reserved.balance_paise)

    @admin.display(description="Low-balance alert below")
    def threshold(self, obj):
        return rupees(obj.low_balance_threshold_paise)

    def has_adjust_permission(self, request):
        return request.user.is_staff and request.user.has_perm("wallet.adjust_balance")

    def changelist_view(self, request, extra_context=None):
        extra = {"can_adjust": self.has_adjust_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_adjust": self.has_adjust_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    @admin.action(description="Adjust balance…", permissions=["adjust"])
    def adjust_balance(self, request, queryset):
        wallets = list(queryset[:2])
        if len(wallets) != 1:
            self.message_user(request, "Choose exactly one wallet to adjust.", messages.WARNING)
            return None
        return redirect("admin:wallet_wallet_adjust", wallets[0].pk)

    def get_urls(self):
        view = self.admin_site.admin_view(self.adjust_view)
        return [
            path("adjust/", view, name="wallet_wallet_adjust_any"),
            path("<int:wallet_id>/adjust/", view, name="wallet_wallet_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request, wallet_id: int | None = None):
        """Staff adjustment: parse the form, call services.wallet_adjust, show the result."""
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        wallet = None
        if wallet_id is not None:
            wallet = get_object_or_404(
                Wallet.objects.select_related("user", "available", "reserved"), pk=wallet_id
            )
        if request.method == "POST":
            form = AdjustBalanceForm(request.POST)
            if form.is_valid():
                user = form.cleaned_data["user"]
                try:
                    entry = services.wallet_adjust(
                        user=user,
                        amount_paise=form.signed_amount_paise(),
                        reason=form.cleaned_data["reason"],
                        acting_user=request.user,
                        idempotency_key=form.cleaned_data["idempotency_key"],
                    )
                except DomainError as exc:
                    form.add_error(None, str(exc))
                else:
                    adjusted = services.wallet_ensure(user=user)
                    self.log_change(
                        request,
                        adjusted,
                        f"Adjusted balance by {format_rupees(form.signed_amount_paise())} "
                        f"(journal entry #{entry.pk}): {form.cleaned_data['reason']}",
                    )
                    self.message_user(
                        request,
                        f"Adjusted @{adjusted.handle} by {format_rupees(form.signed_amount_paise())}"
                        f" (journal entry #{entry.pk}). Available now "
                        f"{format_rupees(adjusted.available.balance_paise)}.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:wallet_wallet_change", adjusted.pk)
        else:
            initial = {"idempotency_key": uuid.uuid4().hex, "direction": "credit"}
            if wallet is not None:
                initial["user"] = wallet.user.email
            form = AdjustBalanceForm(initial=initial)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Adjust the balance of @{wallet.handle}" if wallet else "Adjust a balance",
            "form": form,
            "wallet": wallet,
            "available": rupees(wallet.available.balance_paise) if wallet else None,
            "reserved": rupees(wallet.reserved.balance_paise) if wallet else None,
        }
        return TemplateResponse(request, "admin/wallet/adjust_balance.html", context)


# --- journal --------------------------------------------------------------------------------


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("id", "account", "amount", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")

    @admin.display(description="Amount")
    def amount(self, obj):
        return rupees(obj.amount_paise)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "memo", "moved", "acting_user", "sealed")
    list_filter = ("kind", "category")
    search_fields = ("=id", "memo", "idempotency_key", "acting_user__email")
    list_select_related = ("acting_user", "seal")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    inlines = [PostingInline]

    def get_queryset(self, request):
        # A correlated subquery sums only the rows on the page; a JOIN + GROUP BY
        # would aggregate the whole journal before LIMIT.
        moved = (
            Posting.objects.filter(entry_id=OuterRef("pk"), amount_paise__gt=0)
            .order_by()
            .values("entry_id")
            .annotate(total=Sum("amount_paise"))
            .values("total")
        )
        return super().get_queryset(request).annotate(moved_paise=Subquery(moved))

    @admin.display(description="Amount moved", ordering="moved_paise")
    def moved(self, obj):
        return rupees(obj.moved_paise)

    @admin.display(description="Sealed", boolean=True)
    def sealed(self, obj):
        return hasattr(obj, "seal")


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ("id", "entry", "account", "amount", "created_at")
    list_filter = ("account__kind", "entry__kind")
    search_fields = ("=entry__id", "account__code")
    list_select_related = ("entry", "account")
    ordering = ("-id",)

    @admin.display(description="Amount", ordering="amount_paise")
    def amount(self, obj):
        return rupees(obj.amount_paise)


# --- reservations and alerts ----------------------------------------------------------------


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "wallet",
        "amount",
        "settled",
        "status",
        "purpose",
        "expires_at",
        "created_at",
    )
    list_filter = ("status", "purpose")
    search_fields = ("=id", "wallet__handle", "wallet__user__email", "memo")
    list_select_related = ("wallet",)
    ordering = ("-id",)
    actions = ["void_reservations"]

    @admin.display(description="Amount", ordering="amount_paise")
    def amount(self, obj):
        return rupees(obj.amount_paise)

    @admin.display(description="Settled", ordering="settled_paise")
    def settled(self, obj):
        return rupees(obj.settled_paise)

    def has_void_permission(self, request):
        return request.user.is_staff and request.user.has_perm("wallet.void_reservation")

    @admin.action(description="Void reservation (release the money)", permissions=["void"])
    def void_reservations(self, request, queryset):
        pending = list(
            queryset.filter(status=ReservationStatus.PENDING).values_list("pk", flat=True)
        )
        released = 0
        skipped = queryset.count() - len(pending)
        for pk in pending:
            try:
                services.reservation_release(
                    reservation_id=pk, acting_user=request.user, reason="admin action"
                )
            except ReservationClosed:
                skipped += 1  # settled or released while we looked
            except DomainError as exc:
                self.message_user(request, f"Reservation #{pk}: {exc}", messages.ERROR)
            else:
                released += 1
        self.message_user(
            request,
            f"Released {released} reservation(s); {skipped} were already settled or released.",
            messages.SUCCESS if released else messages.WARNING,
        )


@admin.register(LowBalanceAlert)
class LowBalanceAlertAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "balance", "threshold", "entry", "created_at")
    search_fields = ("user__email",)
    list_select_related = ("user", "entry")
    ordering = ("-id",)

    @admin.display(description="Balance")
    def balance(self, obj):
        return rupees(obj.balance_paise)

    @admin.display(description="Threshold")
    def threshold(self, obj):
        return rupees(obj.threshold_paise)


# --- integrity ------------------------------------------------------------------------------


@admin.register(LedgerSeal)
class LedgerSealAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "entry", "short_seal", "sealed_at")
    search_fields = ("=sequence", "=entry__id", "seal")
    list_select_related = ("entry",)
    ordering = ("-sequence",)

    @admin.display(description="Seal")
    def short_seal(self, obj):
        return format_html("<code title='{}'>{}…</code>", obj.seal, obj.seal[:16])


@admin.register(LedgerCheckRun)
class LedgerCheckRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "started_at", "finished_at", "ok", "problem_count", "triggered_by")
    list_filter = ("ok", "triggered_by")
    ordering = ("-id",)
    readonly_fields = ("started_at", "finished_at", "ok", "triggered_by", "report")
    fields = readonly_fields
    change_list_template = "admin/wallet/ledgercheckrun/change_list.html"

    @admin.display(description="Problems")
    def problem_count(self, obj):
        return len(obj.problems or [])

    @admin.display(description="Report")
    def report(self, obj):
        result = integrity.LedgerCheckResult(
            ok=bool(obj.ok),
            problems=[integrity.Problem(**problem) for problem in obj.problems or []],
            stats=obj.stats or {},
            run_id=obj.pk,
        )
        return format_html("<pre>{}</pre>", result.report())

    def get_urls(self):
        return [
            path(
                "run/",
                self.admin_site.admin_view(require_POST(self.run_view)),
                name="wallet_ledgercheckrun_run",
            ),
            *super().get_urls(),
        ]

    def run_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        result = integrity.ledger_check(triggered_by="admin")
        if result.ok:
            self.message_user(request, "Ledger check passed.", messages.SUCCESS)
        else:
            first = result.problems[0].describe()
            self.message_user(
                request,
                f"Ledger check found {len(result.problems)} problem(s); first: {first}",
                messages.ERROR,
            )
        return redirect(reverse("admin:wallet_ledgercheckrun_change", args=[result.run_id]))
