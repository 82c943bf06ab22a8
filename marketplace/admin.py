"""Operator screens for the catalog; sales records are read-only (money moves through services)."""

from django.contrib import admin, messages

from marketplace.catalog_cache import catalog_cache_invalidate
from marketplace.models import (
    Category,
    Order,
    OrderTransition,
    Pass,
    PassNotification,
    Plan,
    Purchase,
    Service,
    ServiceStatus,
    VendorProfile,
)


@admin.register(VendorProfile)
class VendorProfileAdmin(admin.ModelAdmin):
    list_display = ["business_name", "slug", "user", "created_at"]
    search_fields = ["business_name", "slug", "user__email"]
    prepopulated_fields = {"slug": ["business_name"]}
    raw_id_fields = ["user"]


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
