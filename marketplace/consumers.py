"""Live pass usage and metered-session cost: one socket per open page, group `user.<id>`.

Route: ws/live/ (signed-in users; anonymous sockets are closed with 4401).
Server -> client JSON messages:

* {"type": "pass.usage", "pass_id", "units", "units_left", "events"} - a vendor
  reported usage on one of the user's passes (after commit).
* {"type": "session.tick", "session_id", "status", "cost_paise", "reserved_paise",
  "stop_reason"} - a metered session started, was heartbeated or stopped.
* {"type": "pong"} - answer to {"type": "ping"}.

Client -> server: {"type": "ping"}. Stopping a session is a POST to
/sessions/<id>/stop/ (a page form), not a socket message, so it goes through
the same service and CSRF as everything else.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from flexpass.realtime import Resyncing, user_group

CLOSE_UNAUTHENTICATED = 4401


class LiveUsageConsumer(Resyncing, AsyncJsonWebsocketConsumer):
    group = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message):
        # user.<id> carries other apps' events too: only forward ours.
        handler = message["type"].replace(".", "_")
        if message["type"].startswith("websocket.") or hasattr(self, handler):
            await super().dispatch(message)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def pass_usage(self, event):
        await self.send_json(event)

    async def session_tick(self, event):
        await self.send_json(event)
