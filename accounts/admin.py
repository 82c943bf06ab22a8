from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Profile, User
from accounts.services import profile_ensure


class ProfileInline(admin.StackedInline):
    model = Profile
    fk_name = "user"
    can_delete = False
    readonly_fields = ("referral_code", "referred_by", "created_at")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("id",)
    list_display = ("email", "role", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "profile__display_name", "profile__referral_code")
    inlines = [ProfileInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Role", {"fields": ("role",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )

    def get_inlines(self, request, obj):
        """No profile form when adding: an empty one saved a profile with a blank referral
        code (and the next such add clashed on it). Profiles come from profile_ensure,
        which gives each its code; people added here get theirs on their change page."""
        if obj is None:
            return []
        profile_ensure(user=obj)
        return self.inlines
