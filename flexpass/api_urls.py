"""Everything under /api/v1/: each app adds its api/urls.py here."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("allauth.headless.urls")),
    path("accounts/", include("accounts.api.urls")),
    # /api/v1/wallet/...: balances, statement, transfers (wallet) and top-ups,
    # withdrawals (billing) - one URL space for the mobile app's wallet screen.
    path("wallet/", include("wallet.api.urls")),
    path("wallet/", include("billing.api.urls")),
    path("billing/", include("billing.api.webhook_urls")),
    path("", include("marketplace.api.urls")),  # catalog/..., passes/..., orders/...
    path("vendor/", include("marketplace.vendor_api.urls")),  # API-key auth, server to server
    path("console/", include("marketplace.api.console_urls")),  # the vendor user's own (earnings)
    path("flash-sales/", include("flashsale.api.urls")),
    path("support/", include("support.api.urls")),
    path("notifications/", include("support.api.notification_urls")),
]
