"""Everything under /api/v1/: each app adds its api/urls.py here."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("allauth.headless.urls")),
    path("accounts/", include("accounts.api.urls")),
]
