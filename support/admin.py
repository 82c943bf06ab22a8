"""Support in the admin: conversations (read-mostly), canned replies (editable), agents,
notifications, security events and the audit log (read-only), and the operator
dashboard's panels (admin index, see templates/admin/index.html)."""

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from flexpass.errors import DomainError
from support.dashboard import panel_context
from support.models import (
    AgentProfile,
    AuditLog,
    CannedReply,
    Conversation,
    CsatRating,
    Message,
    Notification,
    SecurityEvent,
)
from support.services.security import account_unlock, api_key_revoke_by_staff


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "sender", "kind", "body", "attachment_name"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender")


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "subject",
        "kind",
        "status",
        "priority",
        "customer",
        "assignee",
        "last_message_at",
    ]
    list_filter = ["kind", "status", "priority"]
    search_fields = ["subject", "customer__email", "vendor__email"]
    list_select_related = ["customer", "assignee"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]
    readonly_fields = [
        "kind",
        "subject",
        "customer",
        "vendor",
        "service",
        "metered_plan",
        "rate_paise",
        "rate_unit",
        "status",
        "priority",
        "assignee",
        "snoozed_until",
        "created_at",
        "resolved_at",
        "started_at",
    ]
    fields = readonly_fields

    @admin.display(description="Ref", ordering="id")
    def reference(self, obj):
        return obj.reference


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "created_by", "created_at"]
    search_fields = ["shortcut", "title", "body"]
    fields = ["shortcut", "title", "body"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "max_open", "last_seen_at", "last_assigned_at"]
    list_filter = ["status"]
    list_editable = ["max_open"]
    fields = ["user", "status", "max_open", "last_seen_at", "last_assigned_at"]
    readonly_fields = ["user", "status", "last_seen_at", "last_assigned_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False  # an agent profile appears when a staff member opens the console


@admin.register(CsatRating)
class CsatRatingAdmin(ReadOnlyAdmin):
    list_display = ["conversation", "agent", "score", "comment", "created_at"]
    list_filter = ["score"]
    list_select_related = ["conversation", "agent"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "title", "in_app", "emailed_at", "read_at", "created_at"]
    list_filter = ["kind", "in_app"]
    search_fields = ["user__email", "title"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "email", "ip", "host"]
    list_filter = ["kind"]
    search_fields = ["email", "ip"]
    date_hierarchy = "created_at"


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Who did what, when and why. Also serves the dashboard's panels and staff actions."""

    list_display = ["created_at", "actor", "action", "target", "reason"]
    list_filter = ["action"]
    search_fields = ["target", "reason", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"

    def get_urls(self):
        extra = [
            path(
                "dashboard/unlock/",
                self.admin_site.admin_view(require_POST(self.unlock_view)),
                name="support_dashboard_unlock",
            ),
            path(
                "dashboard/revoke-key/",
                self.admin_site.admin_view(require_POST(self.revoke_key_view)),
                name="support_dashboard_revoke_key",
            ),
            path(
                "dashboard/<str:panel>/",
                self.admin_site.admin_view(self.panel_view),
                name="support_dashboard_panel",
            ),
        ]
        return extra + super().get_urls()

    def panel_view(self, request, panel: str):
        """One dashboard panel's HTML, for the index page's live refresh."""
        try:
            context = panel_context(panel)
        except KeyError:
            raise Http404("No such panel.") from None
        return TemplateResponse(
            request,
            f"admin/support/dashboard/_{panel}.html",
            {**context, "panel": panel, "request": request},
        )

    def unlock_view(self, request):
        email = request.POST.get("email", "").strip()
        reason = request.POST.get("reason", "").strip()
        back = reverse("admin:index") + "?panel=security"
        if len(reason) < 3:
            self.message_user(
                request,
                "Say why you unlock the account (it goes in the audit log).",
                messages.ERROR,
            )
            return HttpResponseRedirect(back)
        try:
            cleared = account_unlock(email=email, acting_user=request.user, reason=reason)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(
            request,
            f"{email} can sign in again ({cleared} lockout record{'s' if cleared != 1 else ''} cleared).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(back)

    def revoke_key_view(self, request):
        back = reverse("admin:index") + "?panel=security"
        reason = request.POST.get("reason", "").strip()
        if len(reason) < 3:
            self.message_user(
                request, "Say why you revoke the key (it goes in the audit log).", messages.ERROR
            )
            return HttpResponseRedirect(back)
        try:
            key = api_key_revoke_by_staff(
                key_id=int(request.POST.get("key", 0) or 0), acting_user=request.user, reason=reason
            )
        except (DomainError, ValueError) as exc:
            self.message_user(request, str(exc) or "No such key.", messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(
            request, f"Key {key.masked} of {key.vendor.business_name} revoked.", messages.SUCCESS
        )
        return HttpResponseRedirect(back)
