"""Live stock for one sale: `ws/flash/<sale_id>/`.

Protocol (server -> client, JSON):
  {"type": "snapshot", "sale_id": 3, "items": [{"id", "available", "total", "percent", "state"}]}
      on connect and whenever the client sends {"type": "refresh"};
  {"type": "stock", "item": {...same shape...}}
      after holds, checkouts, releases, expiries and restocks (coalesced per item);
  {"type": "offer", "hold_id", "item_id", "item_name", "expires_at", "url"}
      to a signed-in watcher when a unit came back and is held for them (waitlist).
Anyone may watch stock (the storefront is public); offers go only to their owner.
An unknown or draft sale closes with code 4404.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from flashsale import selectors
from flashsale.live import sale_group, user_group
from flexpass.realtime import Resyncing


class SaleConsumer(Resyncing, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.sale_id = int(self.scope["url_route"]["kwargs"]["sale_id"])
        self.joined = [sale_group(self.sale_id)]
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            self.joined.append(user_group(user.pk))
        # Subscribe, then read: a change between the two arrives as a message after the
        # snapshot. Read first, and the last update before a sell-out could be lost.
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        items = await database_sync_to_async(selectors.sale_stock_rows)(self.sale_id)
        if items is None:
            await self.disconnect(4404)  # leave the groups now: no disconnect follows a refusal
            await self.close(code=4404)
            return
        await self.accept()
        await self.send_json({"type": "snapshot", "sale_id": self.sale_id, "items": items})

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "refresh":
            items = await database_sync_to_async(selectors.sale_stock_rows)(self.sale_id)
            await self.send_json(
                {"type": "snapshot", "sale_id": self.sale_id, "items": items or []}
            )

    async def flash_stock(self, event):
        await self.send_json({"type": "stock", "item": event["item"]})

    async def flash_offer(self, event):
        await self.send_json(
            {key: value for key, value in event.items() if key != "type"} | {"type": "offer"}
        )
