"""/api/v1/console/...: the vendor's own API, signed in as the vendor (not API keys)."""

from django.urls import path

from marketplace.api import console_views as views

urlpatterns = [
    path("earnings/", views.EarningsApi.as_view(), name="api-console-earnings"),
    path(
        "earnings/transfers/",
        views.EarningsTransfersApi.as_view(),
        name="api-console-earnings-transfers",
    ),
]
