"""Mounted at /api/v1/wallet/ beside wallet.api.urls (one URL space for the wallet screen)."""

from django.urls import path

from billing.api import views

app_name = "billing_api"
urlpatterns = [
    path("topups", views.TopUpsApi.as_view(), name="topups"),
    path("topups/<int:topup_id>", views.TopUpDetailApi.as_view(), name="topup"),
    path("topups/<int:topup_id>/verify", views.TopUpVerifyApi.as_view(), name="topup_verify"),
    path("withdrawals", views.WithdrawalsApi.as_view(), name="withdrawals"),
]
