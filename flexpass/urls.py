from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from flexpass import health, views
from flexpass.api.problems import api_not_found

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("wallet/", include("wallet.urls")),
    path("billing/", include("billing.urls")),
    path("", include("marketplace.urls")),  # /catalog/, /services/, /passes/, /orders/
    path("sessions/", include("marketplace.vendor_urls")),  # metered sessions: live cost, stop
    path("vendor/", include("marketplace.console_urls")),  # the vendor console
    path("flash/", include("flashsale.urls")),
    path("", include("support.urls")),  # /support/..., /notifications/...
    path("api/v1/", include("flexpass.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
]

handler404 = "flexpass.views.not_found"
handler500 = "flexpass.views.server_error"
