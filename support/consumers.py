"""Live chat, the notification bell and the agents' queue over WebSockets.

Three sockets, one concern each (the protocol is in docs/websockets.md):

* /ws/chat/<id>/         group chat.<id>     one conversation: history and catch-up,
                                             messages, typing, read receipts, status
* /ws/notifications/     group user.<id>     the bell: new notifications, unread count
* /ws/support/queue/     group support.queue staff consoles: "a conversation changed"

Anonymous sockets are closed with 4401. A chat socket for a conversation the
user may not read is closed with 4404 - the same as for one that does not
exist. Messages are stored before anything is broadcast; the broadcast goes
out after commit (flexpass.realtime).
"""

import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from flexpass.errors import DomainError
from flexpass.realtime import Resyncing, user_group
from support import selectors, services
from support.activity import activity_touch
from support.payloads import conversation_payload, message_payload
from support.presence import presence_touch, viewing_clear, viewing_touch
from support.services.chat import QUEUE_GROUP, chat_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
TYPING_MIN_INTERVAL = 1.0


class GroupConsumer(Resyncing, AsyncJsonWebsocketConsumer):
    """Joins `self.groups_joined` and ignores group events meant for other sockets.

    `user.<id>` carries events for several consumers (wallet balances,
    notifications, pass notices); a consumer without a handler for one of them
    must skip it instead of crashing the socket.
    """

    groups_joined: list[str]

    async def dispatch(self, message):
        if message["type"].startswith("websocket."):
            await super().dispatch(message)
            return
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            return
        # Group events skip channels' close_old_connections() hop to the sync thread
        # (one per event per socket: with 1,000 sockets in a group that hop, not the
        # network, was the fan-out's cost). Handlers that read the database do it
        # through database_sync_to_async, which cleans up connections itself.
        await handler(message)

    async def join(self, *groups: str) -> None:
        self.groups_joined = list(groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def alive(self) -> None:
        """The person is here: presence (for chat emails) and activity (for the dashboard)."""
        await database_sync_to_async(_alive)(self.user.pk)


def _alive(user_id: int) -> None:
    presence_touch(user_id)
    activity_touch(user_id)


async def _error(consumer, code: str, detail: str, **extra) -> None:
    await consumer.send_json({"type": "error", "code": code, "detail": detail, **extra})


# --- chat ------------------------------------------------------------------------------------


@database_sync_to_async
def _access(user, conversation_id):
    try:
        return selectors.conversation_access(user=user, conversation_id=conversation_id)
    except DomainError:
        return None


@database_sync_to_async
def _history(conversation, user, after_id):
    messages, more = selectors.messages_after(
        conversation=conversation, user=user, after_id=after_id
    )
    return (
        [message_payload(message, conversation) for message in messages],
        more,
        selectors.read_state(conversation=conversation),
        conversation_payload(
            selectors.conversation_access(user=user, conversation_id=conversation.pk)
        ),
    )


@database_sync_to_async
def _send(conversation_id, user, content):
    message, created = services.message_send(
        conversation_id=conversation_id,
        sender=user,
        body=content.get("body", ""),
        client_id=content.get("client_id", ""),
        internal=bool(content.get("internal", False)),
    )
    return message.pk, created, message_payload(message)


@database_sync_to_async
def _read(conversation, user, message_id):
    return services.conversation_read(conversation=conversation, user=user, message_id=message_id)


class ChatConsumer(GroupConsumer):
    """One conversation. Client frames: sync, message, typing, read, ping."""

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.conversation = await _access(
            self.user, self.scope["url_route"]["kwargs"]["conversation_id"]
        )
        if self.conversation is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.is_staff = self.user.is_staff
        # Read once: display_name reads the profile, which async code must not do lazily.
        self.display_name = await database_sync_to_async(lambda: self.user.display_name)()
        self.last_typing = 0.0
        self.sent_times: deque[float] = deque(maxlen=settings.SUPPORT_SOCKET_MESSAGES_PER_10S)
        # Join before reading history: anything committed after this point also
        # arrives live, and the client drops what it already has by id.
        await self.join(chat_group(self.conversation.pk))
        await self.accept()
        await self.alive()

    async def alive(self) -> None:
        await super().alive()
        await database_sync_to_async(viewing_touch)(self.conversation.pk, self.user.pk)
        if self.user.pk == self.conversation.vendor_id:
            # The vendor is still in the consultation: its metered session keeps running.
            await database_sync_to_async(services.consultation_heartbeat)(
                conversation_id=self.conversation.pk, vendor_user_id=self.user.pk
            )

    async def disconnect(self, code):
        await super().disconnect(code)
        if getattr(self, "conversation", None) is not None:
            await database_sync_to_async(viewing_clear)(self.conversation.pk, self.user.pk)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            await _error(self, "bad_frame", "Send JSON objects with a 'type'.")
            return
        kind = content.get("type")
        if kind == "sync":
            await self.sync(content.get("after", 0))
        elif kind == "message":
            await self.message(content)
        elif kind == "typing":
            await self.typing(content)
        elif kind == "read":
            await self.read(content)
        elif kind == "ping":
            await self.alive()
            await self.send_json({"type": "pong"})
        else:
            await _error(self, "unknown_type", f"Unknown frame type {kind!r}.")

    async def sync(self, after) -> None:
        """Send what the client missed after message id `after` (0: everything), in pages."""
        try:
            after = max(int(after or 0), 0)
        except (TypeError, ValueError):
            await _error(self, "bad_frame", "'after' must be a message id.")
            return
        messages, more, read, conversation = await _history(self.conversation, self.user, after)
        await self.send_json(
            {
                "type": "history",
                "after": after,
                "messages": messages,
                "more": more,
                "read": read,
                "conversation": conversation,
            }
        )

    async def message(self, content) -> None:
        client_id = str(content.get("client_id", ""))[:64]
        now = time.monotonic()
        if len(self.sent_times) == self.sent_times.maxlen and now - self.sent_times[0] < 10:
            await _error(
                self, "rate_limited", "You are sending messages too fast.", client_id=client_id
            )
            return
        self.sent_times.append(now)
        try:
            message_id, created, payload = await _send(self.conversation.pk, self.user, content)
        except DomainError as exc:
            await _error(self, exc.code, str(exc), client_id=client_id)
            return
        await self.send_json(
            {"type": "ack", "client_id": client_id, "id": message_id, "duplicate": not created}
        )
        if not created:
            # A resend of something already stored: no broadcast happens, so this
            # socket gets the stored message itself (it may have missed the first).
            await self.send_json({"type": "message", "message": payload})

    async def typing(self, content) -> None:
        on = bool(content.get("on", True))
        now = time.monotonic()
        if on and now - self.last_typing < TYPING_MIN_INTERVAL:
            return
        self.last_typing = now if on else 0.0
        await self.channel_layer.group_send(
            chat_group(self.conversation.pk),
            {
                "type": "chat.typing",
                "user_id": self.user.pk,
                "name": self.display_name,
                "role": "agent" if self.is_staff else "customer",
                "on": on,
                "internal": bool(content.get("internal", False)) and self.is_staff,
                "origin": self.channel_name,
            },
        )

    async def read(self, content) -> None:
        try:
            mark = await _read(self.conversation, self.user, content.get("message_id"))
        except DomainError as exc:
            await _error(self, exc.code, str(exc))
            return
        await self.send_json({"type": "read_ok", "message_id": mark})

    # --- group events ---------------------------------------------------------------------

    async def chat_message(self, event):
        message = event["message"]
        if message["internal"] and not self.is_staff:
            return
        await self.send_json({"type": "message", "message": message})

    async def chat_typing(self, event):
        if event["origin"] == self.channel_name or (event["internal"] and not self.is_staff):
            return
        await self.send_json(
            {
                "type": "typing",
                "user_id": event["user_id"],
                "name": event["name"],
                "role": event["role"],
                "on": event["on"],
            }
        )

    async def chat_read(self, event):
        await self.send_json(
            {
                "type": "read",
                "user_id": event["user_id"],
                "role": event["role"],
                "message_id": event["message_id"],
            }
        )

    async def chat_conversation(self, event):
        await self.send_json({"type": "conversation", "conversation": event["conversation"]})


# --- notifications ---------------------------------------------------------------------------


@database_sync_to_async
def _unread(user_id):
    return selectors.notifications_unread_count(user_id=user_id)


class NotificationConsumer(GroupConsumer):
    """The bell on every signed-in page. Client frames: ping."""

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(user_group(self.user.pk))
        await self.accept()
        await self.alive()
        await self.send_json({"type": "unread", "count": await _unread(self.user.pk)})

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.alive()
            await self.send_json({"type": "pong"})

    async def notification_new(self, event):
        await self.send_json(
            {
                "type": "notification",
                "notification": event["notification"],
                "unread": await _unread(self.user.pk),
            }
        )

    async def notification_unread(self, event):
        await self.send_json({"type": "unread", "count": await _unread(self.user.pk)})


# --- the agents' queue -----------------------------------------------------------------------


@database_sync_to_async
def _agent_seen(user):
    services.agent_profile_ensure(user=user)
    services.agent_touch(user_id=user.pk)


class QueueConsumer(GroupConsumer):
    """Staff consoles: which conversations changed. Client frames: ping (keeps the agent present)."""

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not self.user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.join(QUEUE_GROUP)
        await self.accept()
        await _agent_seen(self.user)
        await self.alive()

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await _agent_seen(self.user)
            await self.alive()
            await self.send_json({"type": "pong"})

    async def queue_changed(self, event):
        await self.send_json(
            {"type": "queue", "conversation": event["conversation"], "reason": event["reason"]}
        )
