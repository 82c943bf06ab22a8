"""Every WebSocket route, one consumer per live concern."""

from django.urls import path

from wallet.consumers import WalletConsumer

websocket_urlpatterns: list = [
    path("ws/wallet/", WalletConsumer.as_asgi()),
]
