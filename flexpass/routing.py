"""Every WebSocket route, one consumer per live concern."""

from django.urls import path

from flashsale.consumers import SaleConsumer
from marketplace.consumers import LiveUsageConsumer
from support.consumers import ChatConsumer, NotificationConsumer, QueueConsumer
from wallet.consumers import WalletConsumer

websocket_urlpatterns: list = [
    path("ws/wallet/", WalletConsumer.as_asgi()),
    path("ws/live/", LiveUsageConsumer.as_asgi()),  # pass usage, metered session cost
    path("ws/flash/<int:sale_id>/", SaleConsumer.as_asgi()),
    path("ws/chat/<int:conversation_id>/", ChatConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/support/queue/", QueueConsumer.as_asgi()),
]
