"""Admin for the vendor platform: API keys, usage events, webhook endpoints and deliveries.

Imported by one line at the end of marketplace/admin.py.
"""

from django.contrib import admin, messages
from django.utils import timezone

from marketplace.models import (
    ApiKey,
    UsageEvent,
    VendorApplication,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from marketplace.services import webhooks


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["masked", "vendor", "mode", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["mode"]
    search_fields = ["vendor__business_name", "last4"]
    readonly_fields = ["prefix", "secret_hash", "last4", "created_at", "last_used_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(UsageEvent)
class UsageEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "vendor", "pass_obj", "units", "occurred_at", "created_at"]
    search_fields = ["event_id"]
    list_select_related = ["vendor", "pass_obj"]
    raw_id_fields = ["pass_obj"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "vendor", "is_active", "created_at"]
    readonly_fields = ["secret", "previous_secret"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    readonly_fields = ["status_code", "latency_ms", "response_excerpt", "error", "created_at"]
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id"]
    inlines = [WebhookAttemptInline]
    actions = ["replay"]

    @admin.action(description="Replay selected failed deliveries")
    def replay(self, request, queryset):
        count = 0
        for pk in queryset.filter(status=WebhookDeliveryStatus.FAILED).values_list("pk", flat=True):
            count += webhooks.webhook_replay(vendor=None, delivery_id=pk)
        self.message_user(request, f"Replaying {count} delivery(ies).", messages.SUCCESS)


@admin.register(VendorApplication)
class VendorApplicationAdmin(admin.ModelAdmin):
    list_display = ["business_name", "user", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["business_name", "user__email"]
    readonly_fields = ["status", "decided_by", "decided_at", "created_at"]
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, approve: bool):
        from flexpass.errors import DomainError
        from marketplace.services.vendor_applications import vendor_application_decide

        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                vendor_application_decide(
                    application_id=pk, approve=approve, acting_user=request.user
                )
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{pk}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} application(s) decided.", messages.SUCCESS)

    @admin.action(description="Approve selected applications")
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Reject selected applications")
    def reject(self, request, queryset):
        self._decide(request, queryset, False)
