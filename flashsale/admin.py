"""The operator's side of flash sales: sales, items (created and restocked through the
services), holds (void through the service), read-only history, and the metrics page.

Stock columns are never written by the admin's `save()`: an item's form edits only
its price, limit and position with an UPDATE of those columns, so a stale form
can never overwrite `available`.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from flashsale import selectors, services, tasks
from flashsale.models import (
    FlashOrder,
    FlashPayment,
    FlashPaymentTransition,
    FlashSale,
    Hold,
    HoldStatus,
    InventoryEvent,
    Product,
    SaleItem,
    SaleStatus,
    WaitlistEntry,
)
from flexpass.errors import DomainError
from flexpass.money import format_rupees

EDITABLE_ITEM_FIELDS = ("sale_price_paise", "per_user_limit", "position")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "price", "vendor", "created_at")
    search_fields = ("name", "vendor__email")
    raw_id_fields = ("vendor",)

    @admin.display(description="Regular price", ordering="regular_price_paise")
    def price(self, obj):
        return format_rupees(obj.regular_price_paise)


class SaleItemInline(admin.TabularInline):
    model = SaleItem
    fields = ("item_link", "price", "available", "total", "per_user_limit")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Item")
    def item_link(self, obj):
        url = reverse("admin:flashsale_saleitem_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.name)

    @admin.display(description="Sale price")
    def price(self, obj):
        return format_rupees(obj.sale_price_paise)


@admin.register(FlashSale)
class FlashSaleAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "phase_badge", "starts_at", "ends_at", "metrics_link")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SaleItemInline]
    change_list_template = "admin/flashsale/flashsale/change_list.html"

    @admin.display(description="Now")
    def phase_badge(self, obj):
        return obj.phase().title()

    @admin.display(description="Metrics")
    def metrics_link(self, obj):
        url = reverse("admin:flashsale_flashsale_metrics", args=[obj.pk])
        return format_html('<a href="{}">View metrics</a>', url)

    def save_model(self, request, obj, form, change):
        was_on = change and form.initial.get("status") == SaleStatus.PUBLISHED
        super().save_model(request, obj, form, change)
        if was_on and obj.status != SaleStatus.PUBLISHED:
            # After the admin's own transaction, as a task: voiding moves money (open
            # card payments) and may need a retry, which the saved sale must not wait on.
            kwargs = {
                "sale_id": obj.pk,
                "staff_id": request.user.pk,
                "reason": f"The sale was {obj.get_status_display().lower()}.",
            }
            # Timed after the commit: a hold taken while the save ran saw the sale live.
            transaction.on_commit(
                lambda: tasks.sale_holds_void.delay(
                    **kwargs, taken_off_at=timezone.now().isoformat()
                ),
                robust=True,
            )
            self.message_user(request, "Its open holds are ending; their units go back.")

    def get_urls(self):
        extra = [
            path(
                "metrics/",
                self.admin_site.admin_view(self.metrics_view),
                name="flashsale_flashsale_metrics_all",
            ),
            path(
                "<int:sale_id>/metrics/",
                self.admin_site.admin_view(self.metrics_view),
                name="flashsale_flashsale_metrics",
            ),
        ]
        return extra + super().get_urls()

    def metrics_view(self, request, sale_id: int | None = None):
        sale = get_object_or_404(FlashSale, pk=sale_id) if sale_id else None
        now = timezone.now()
        # Lazy expiry first, as the storefront does it: with beat stopped, an overdue
        # hold's units would count as neither live stock nor pending.
        item_ids = None if sale is None else list(sale.items.values_list("pk", flat=True))
        services.holds_expire_overdue(item_ids=item_ids, now=now, limit=settings.FLASH_EXPIRY_BATCH)
        figures = selectors.sale_figures(sale=sale, now=now)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Metrics · {sale.name}" if sale else "Flash sale metrics · all sales",
            "sale": sale,
            "figures": figures,
            "chart": selectors.sold_vs_expired_per_minute(sale=sale, now=now),
            "sales": FlashSale.objects.order_by("-starts_at")[:20],
            "opts": self.model._meta,
            "now": now,
        }
        return TemplateResponse(request, "admin/flashsale/metrics.html", context)


class SaleItemForm(forms.ModelForm):
    class Meta:
        model = SaleItem
        fields = (
            "sale",
            "product",
            "plan",
            "sale_price_paise",
            "total",
            "per_user_limit",
            "position",
        )
        help_texts = {"sale_price_paise": "In paise: 49900 is ₹499.00."}

    def clean(self):
        """The service's rules, as form errors: what the item sells and on what terms."""
        data = super().clean()
        if self.errors:
            return data  # the fields' own errors come first
        item = self.instance
        adding = item.pk is None
        try:
            services.item_terms_check(
                product=data.get("product") if adding else item.product,
                plan=data.get("plan") if adding else item.plan,
                sale_price_paise=data.get("sale_price_paise", item.sale_price_paise),
                per_user_limit=data.get("per_user_limit", item.per_user_limit),
                total=data.get("total") if adding else None,
            )
        except DomainError as error:
            field = error.extra.get("field")
            self.add_error(field if field in self.fields else None, str(error))
        return data


class RestockForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=1_000_000)


@admin.register(SaleItem)
class SaleItemAdmin(admin.ModelAdmin):
    form = SaleItemForm
    list_display = ("__str__", "price", "available", "total", "per_user_limit", "sale")
    list_filter = ("sale",)
    search_fields = ("product__name", "plan__name", "sale__name")
    raw_id_fields = ("product", "plan")
    list_select_related = ("sale", "product", "plan__service")

    @admin.display(description="Sale price", ordering="sale_price_paise")
    def price(self, obj):
        return format_rupees(obj.sale_price_paise)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("sale", "product", "plan", "total", "available", "restock_link")

    def get_fields(self, request, obj=None):
        if obj is None:
            return SaleItemForm.Meta.fields
        return (
            "sale",
            "product",
            "plan",
            *EDITABLE_ITEM_FIELDS,
            "total",
            "available",
            "restock_link",
        )

    @admin.display(description="Restock")
    def restock_link(self, obj):
        url = reverse("admin:flashsale_saleitem_restock", args=[obj.pk])
        return format_html('<a class="button" href="{}">Add units…</a>', url)

    def save_model(self, request, obj, form, change):
        if change:
            changed = [name for name in EDITABLE_ITEM_FIELDS if name in form.changed_data]
            services.item_terms_change(
                item=SaleItem.objects.select_related("plan").get(pk=obj.pk),
                **{name: getattr(obj, name) for name in changed},
            )
            return
        with transaction.atomic():
            created = services.item_create(
                sale=obj.sale,
                product=obj.product,
                plan=obj.plan,
                sale_price_paise=obj.sale_price_paise,
                total=obj.total,
                per_user_limit=obj.per_user_limit,
                position=obj.position,
                acting_user=request.user,
            )
        obj.pk, obj.available = created.pk, created.available
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False  # stock history refers to it; end the sale instead

    def get_urls(self):
        extra = [
            path(
                "<int:item_id>/restock/",
                self.admin_site.admin_view(self.restock_view),
                name="flashsale_saleitem_restock",
            )
        ]
        return extra + super().get_urls()

    def restock_view(self, request, item_id: int):
        item = get_object_or_404(SaleItem.objects.select_related("sale"), pk=item_id)
        form = RestockForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    services.item_restock(
                        item=item, quantity=form.cleaned_data["quantity"], acting_user=request.user
                    )
            except DomainError as exc:
                form.add_error("quantity", str(exc))
            else:
                messages.success(request, f"Added {form.cleaned_data['quantity']} units.")
                return redirect("admin:flashsale_saleitem_change", item.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Restock {item}",
            "item": item,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/flashsale/restock.html", context)


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "item",
        "quantity",
        "status",
        "source",
        "created_at",
        "expires_at",
    )
    list_filter = ("status", "source")
    search_fields = ("user__email", "item__product__name")
    list_select_related = ("user", "item__product", "item__plan__service", "item__sale")
    readonly_fields = [f.name for f in Hold._meta.fields]
    actions = ["void_holds"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Void selected active holds (units go back to the sale)")
    def void_holds(self, request, queryset):
        voided = 0
        for hold_id in queryset.filter(status=HoldStatus.ACTIVE).values_list("pk", flat=True):
            try:
                services.hold_void(hold_id=hold_id, acting_user=request.user)
                voided += 1
            except DomainError as exc:
                messages.warning(request, f"Hold #{hold_id}: {exc}")
        messages.success(request, f"Voided {voided} hold{'s' if voided != 1 else ''}.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InventoryEvent)
class InventoryEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "delta", "item", "hold", "acting_user")
    list_filter = ("kind",)
    list_select_related = ("item__product", "item__plan__service", "item__sale", "acting_user")
    search_fields = ("item__product__name",)


@admin.register(FlashOrder)
class FlashOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "user", "item", "quantity", "amount", "created_at")
    list_select_related = ("user", "item__product", "item__plan__service", "item__sale")
    search_fields = ("user__email",)

    @admin.display(description="Amount", ordering="amount_paise")
    def amount(self, obj):
        return format_rupees(obj.amount_paise)


class FlashPaymentTransitionInline(admin.TabularInline):
    model = FlashPaymentTransition
    fields = ("created_at", "from_status", "to_status", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FlashPayment)
class FlashPaymentAdmin(ReadOnlyAdmin):
    """Mixed payments (wallet part + card part) for holds, with every step they took."""

    list_display = ("number", "buyer", "hold", "status", "price", "wallet", "card", "created_at")
    list_filter = ("status",)
    list_select_related = ("buyer", "hold")
    search_fields = ("buyer__email",)
    inlines = [FlashPaymentTransitionInline]

    @admin.display(description="Price", ordering="price_paise")
    def price(self, obj):
        return format_rupees(obj.price_paise)

    @admin.display(description="Wallet part")
    def wallet(self, obj):
        return format_rupees(obj.wallet_part_paise)

    @admin.display(description="Card part")
    def card(self, obj):
        return format_rupees(obj.gateway_part_paise)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyAdmin):
    list_display = ("item", "user", "status", "created_at", "offered_hold")
    list_filter = ("status",)
    list_select_related = ("item__product", "item__plan__service", "item__sale", "user")
