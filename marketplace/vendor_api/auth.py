"""`Authorization: Bearer fp_test_...|fp_live_...` for the vendor API, rate-limited per key."""

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from flexpass.errors import RateLimited
from flexpass.ratelimit import window_take
from flexpass.tallies import api_key_use_record
from marketplace.services.keys import KeyInvalid, api_key_authenticate


class VendorApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise KeyInvalid("Malformed Authorization header.")
        try:
            raw = parts[1].decode()
        except UnicodeError as exc:
            raise KeyInvalid("Malformed API key.") from exc
        if not raw.startswith("fp_"):
            return None  # someone else's bearer token (the app's JWT)
        key = api_key_authenticate(raw)
        wait = window_take(
            f"apikey:{key.pk}",
            limit=settings.VENDOR_API_RATE_LIMIT,
            window_seconds=settings.VENDOR_API_RATE_WINDOW_SECONDS,
        )
        api_key_use_record(key_id=key.pk, refused=bool(wait))  # the dashboard's per-key usage
        if wait:
            raise RateLimited("Rate limit for this API key exceeded.", retry_after=wait)
        return (key.vendor.user, key)

    def authenticate_header(self, request):
        return 'Bearer realm="flexpass-vendor-api"'


class HasVendorKey(BasePermission):
    def has_permission(self, request, view):
        from marketplace.models import ApiKey

        if isinstance(request.auth, ApiKey):
            return True
        raise KeyInvalid("An API key is required: Authorization: Bearer fp_...")


try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class VendorApiKeyScheme(OpenApiAuthenticationExtension):
        target_class = "marketplace.vendor_api.auth.VendorApiKeyAuthentication"
        name = "vendorApiKey"

        def get_security_definition(self, auto_schema):
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "A vendor API key: fp_live_... or fp_test_...",
            }
except ImportError:  # pragma: no cover - the schema is optional at runtime
    pass
