from django.urls import path

from wallet.api import views

urlpatterns = [
    path("", views.WalletApi.as_view(), name="api-wallet"),
    path("statement", views.StatementApi.as_view(), name="api-wallet-statement"),
    path("transfers", views.TransferCreateApi.as_view(), name="api-wallet-transfers"),
    path("recipients", views.RecipientApi.as_view(), name="api-wallet-recipients"),
    path("ping", views.PingApi.as_view(), name="api-wallet-ping"),
]
