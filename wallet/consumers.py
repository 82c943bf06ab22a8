"""Live wallet updates: one socket per open wallet page, in the group `user.<id>`.

Server -> client messages (JSON):

* {"type": "balance", "available_paise", "reserved_paise", "total_paise", "pending_paise",
  "available_display", "reserved_display", "total_display", "pending_display"} - on connect and after
  every committed entry that touched the user's wallet (`wallet.balance` events
  from wallet.services, sent after commit by flexpass.realtime).
* {"type": "low_balance", "balance_paise", "threshold_paise", "balance_display",
  "threshold_display"} - available funds just crossed the user's threshold.
* {"type": "pong"} - the answer to a client {"type": "ping"}.

Anonymous sockets are closed with code 4401. The event carries no amounts: the
consumer reads the committed balances itself, so a late or repeated event can
only ever show the truth.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from flexpass.money import format_rupees
from flexpass.realtime import Resyncing, user_group
from wallet import selectors

CLOSE_UNAUTHENTICATED = 4401


@database_sync_to_async
def _balances(user_id: int) -> selectors.Balances:
    return selectors.wallet_balances(user_id=user_id)


class WalletConsumer(Resyncing, AsyncJsonWebsocketConsumer):
    group = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_balance()  # the page may have been drawn before the last change

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def dispatch(self, message):
        # user.<id> also carries other apps' events (notifications, pass notices): skip them.
        handler = message["type"].replace(".", "_")
        if message["type"].startswith("websocket.") or hasattr(self, handler):
            await super().dispatch(message)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def send_balance(self):
        balances = await _balances(self.user_id)
        await self.send_json(
            {
                "type": "balance",
                "available_paise": balances.available_paise,
                "reserved_paise": balances.reserved_paise,
                "total_paise": balances.total_paise,
                "pending_paise": balances.pending_paise,
                "available_display": format_rupees(balances.available_paise),
                "reserved_display": format_rupees(balances.reserved_paise),
                "total_display": format_rupees(balances.total_paise),
                "pending_display": format_rupees(balances.pending_paise),
            }
        )

    # --- group events (type "wallet.balance" -> wallet_balance) -------------------------------

    async def wallet_balance(self, event):
        await self.send_balance()

    async def wallet_low_balance(self, event):
        await self.send_json(
            {
                "type": "low_balance",
                "balance_paise": event["balance_paise"],
                "threshold_paise": event["threshold_paise"],
                "balance_display": format_rupees(event["balance_paise"]),
                "threshold_display": format_rupees(event["threshold_paise"]),
            }
        )
