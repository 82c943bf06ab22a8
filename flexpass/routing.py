"""Every WebSocket route, one consumer per live concern."""

websocket_urlpatterns: list = []
