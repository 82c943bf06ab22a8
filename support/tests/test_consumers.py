"""The chat, bell and queue sockets through the real ASGI stack (origin check, session auth).

Each test is an async scenario run on its own event loop in a worker thread
(`on_own_loop`, as in wallet's consumer tests): pytest-asyncio would run it on
the main thread, where a browser test's Playwright may have left a loop
running. Data is committed (transaction=True) so the consumers see it.
"""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from flexpass.asgi import application
from flexpass.realtime import broadcast_now, user_group
from support import services
from support.models import Message, ReadMark
from support.tests.factories import agent, person

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def _async_safety_on(monkeypatch):
    """The root conftest allows sync ORM calls from async code (for Playwright); these
    tests must not, or a consumer touching the database lazily would pass here and
    fail in production."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each scenario runs on a new event loop: give it a channel layer of its own (the
    Redis layer keeps a receive lock bound to the loop that first used it)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def on_own_loop(scenario):
    @functools.wraps(scenario)
    def test(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, scenario(*args, **kwargs)).result(timeout=60)

    return test


@database_sync_to_async
def cookie_for(user):
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())


@database_sync_to_async
def a_conversation(subject="Top-up missing"):
    """Asha's support conversation with one message, Ravi (another customer), an agent."""
    asha, ravi, operator = person("Asha"), person("Ravi"), agent("Operator", seen=False)
    conversation = services.conversation_start(
        customer=asha, subject=subject, body="My top-up has not arrived.", client_id="first"
    )
    return conversation, asha, ravi, operator


async def open_socket(path: str, user=None) -> WebsocketCommunicator:
    headers = [ORIGIN] + ([await cookie_for(user)] if user else [])
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    assert connected, code
    return communicator


async def chat(conversation, user) -> WebsocketCommunicator:
    """A chat socket that has synced its history (the first frame answered)."""
    communicator = await open_socket(f"/ws/chat/{conversation.pk}/", user)
    await communicator.send_json_to({"type": "sync", "after": 0})
    history = await communicator.receive_json_from()
    assert history["type"] == "history"
    return communicator


async def frames_until(communicator, wanted: str, limit: int = 10) -> dict:
    for _ in range(limit):
        frame = await communicator.receive_json_from(timeout=3)
        if frame["type"] == wanted:
            return frame
    raise AssertionError(f"no {wanted!r} frame")


# --- who may connect --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/ws/chat/1/", "/ws/notifications/", "/ws/support/queue/"])
@on_own_loop
async def test_anonymous_sockets_are_closed_with_4401(path):
    # Given no session
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])

    # When it connects
    connected, code = await communicator.connect()

    # Then
    assert (connected, code) == (False, 4401)


@on_own_loop
async def test_a_stranger_gets_the_same_4404_as_for_a_missing_conversation():
    # Given Asha's conversation and Ravi, who is not in it
    conversation, _asha, ravi, _operator = await a_conversation()
    cookie = await cookie_for(ravi)

    # When Ravi guesses its id, and an id that does not exist
    results = []
    for conversation_id in (conversation.pk, conversation.pk + 1000):
        communicator = WebsocketCommunicator(
            application, f"/ws/chat/{conversation_id}/", headers=[ORIGIN, cookie]
        )
        results.append(await communicator.connect())

    # Then both are refused the same way and nothing leaked
    assert results == [(False, 4404), (False, 4404)]


@on_own_loop
async def test_the_queue_is_for_staff_only():
    # Given a customer
    customer = await database_sync_to_async(person)("Asha")
    communicator = WebsocketCommunicator(
        application, "/ws/support/queue/", headers=[ORIGIN, await cookie_for(customer)]
    )

    # When she opens the agents' queue socket
    connected, code = await communicator.connect()

    # Then
    assert (connected, code) == (False, 4403)


# --- messages ---------------------------------------------------------------------------------


@on_own_loop
async def test_a_message_is_stored_before_it_is_broadcast_and_acked_to_its_sender():
    # Given Asha and the agent both in the conversation
    conversation, asha, _ravi, operator = await a_conversation()
    customer = await chat(conversation, asha)
    staff = await chat(conversation, operator)

    # When Asha sends a message
    await customer.send_json_to({"type": "message", "client_id": "m-2", "body": "Any news?"})

    # Then the agent receives it, and by then it is in the database
    frame = await frames_until(staff, "message")
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(client_id="m-2").values_list("pk", "body"))
    )()
    assert stored == [(frame["message"]["id"], "Any news?")]
    assert frame["message"]["sender"] == {"id": asha.pk, "name": "Asha", "role": "customer"}
    # ... and Asha gets an ack with the stored id, then the message itself
    ack = await frames_until(customer, "ack")
    assert ack == {"type": "ack", "client_id": "m-2", "id": stored[0][0], "duplicate": False}
    echo = await frames_until(customer, "message")
    assert echo["message"]["id"] == stored[0][0]
    await customer.disconnect()
    await staff.disconnect()


@on_own_loop
async def test_typing_reaches_the_others_but_not_the_typist():
    # Given both sides connected
    conversation, asha, _ravi, operator = await a_conversation()
    customer = await chat(conversation, asha)
    staff = await chat(conversation, operator)

    # When the agent starts typing
    await staff.send_json_to({"type": "typing", "on": True})

    # Then Asha sees who is typing; the agent's own socket stays quiet
    frame = await frames_until(customer, "typing")
    assert frame == {
        "type": "typing",
        "user_id": operator.pk,
        "name": "Operator",
        "role": "agent",
        "on": True,
    }
    assert await staff.receive_nothing(timeout=0.3)
    await customer.disconnect()
    await staff.disconnect()


@on_own_loop
async def test_internal_notes_and_note_typing_reach_staff_only():
    # Given Asha, the assigned agent and a second agent connected
    conversation, asha, _ravi, operator = await a_conversation()
    second = await database_sync_to_async(agent)("Second", seen=False)
    customer = await chat(conversation, asha)
    staff = await chat(conversation, operator)
    other_staff = await chat(conversation, second)

    # When the agent types and posts an internal note
    await staff.send_json_to({"type": "typing", "on": True, "internal": True})
    await staff.send_json_to(
        {"type": "message", "client_id": "n-1", "body": "Refund approved", "internal": True}
    )

    # Then the other agent sees both; Asha sees nothing
    typing = await frames_until(other_staff, "typing")
    note = await frames_until(other_staff, "message")
    assert typing["on"] is True
    assert note["message"]["internal"] is True and note["message"]["body"] == "Refund approved"
    assert await customer.receive_nothing(timeout=0.5)
    # ... and her history after a reconnect does not include it either
    await customer.disconnect()
    again = await open_socket(f"/ws/chat/{conversation.pk}/", asha)
    await again.send_json_to({"type": "sync", "after": 0})
    history = await frames_until(again, "history")
    assert [m["body"] for m in history["messages"] if m["kind"] == "text"] == [
        "My top-up has not arrived."
    ]
    for communicator in (again, staff, other_staff):
        await communicator.disconnect()


@on_own_loop
async def test_a_customer_cannot_post_an_internal_note_over_the_socket():
    # Given Asha connected
    conversation, asha, _ravi, _operator = await a_conversation()
    customer = await chat(conversation, asha)

    # When she claims her message is internal
    await customer.send_json_to(
        {"type": "message", "client_id": "sneaky", "body": "psst", "internal": True}
    )

    # Then it is refused and nothing was stored
    error = await frames_until(customer, "error")
    assert error["code"] == "not_allowed" and error["client_id"] == "sneaky"
    count = await database_sync_to_async(Message.objects.filter(client_id="sneaky").count)()
    assert count == 0
    await customer.disconnect()


# --- read receipts ----------------------------------------------------------------------------


@on_own_loop
async def test_read_receipts_move_the_mark_and_tell_the_other_side():
    # Given an agent reply Asha has not read
    conversation, asha, _ravi, operator = await a_conversation()
    reply, _ = await database_sync_to_async(services.message_send)(
        conversation_id=conversation.pk, sender=operator, body="Looking now", client_id="r-1"
    )
    customer = await chat(conversation, asha)
    staff = await chat(conversation, operator)

    # When Asha's client reports it has shown the reply
    await customer.send_json_to({"type": "read", "message_id": reply.pk})

    # Then the agent gets a receipt and the mark is stored
    receipt = await frames_until(staff, "read")
    assert receipt == {
        "type": "read",
        "user_id": asha.pk,
        "role": "customer",
        "message_id": reply.pk,
    }
    assert (await frames_until(customer, "read_ok"))["message_id"] == reply.pk
    mark = await database_sync_to_async(
        lambda: ReadMark.objects.get(conversation=conversation, user=asha).last_read_id
    )()
    assert mark == reply.pk

    # When an older id arrives late
    await customer.send_json_to({"type": "read", "message_id": reply.pk - 1})

    # Then the mark does not go back and nobody is told anything
    assert (await frames_until(customer, "read_ok"))["message_id"] == reply.pk
    assert await staff.receive_nothing(timeout=0.3)
    await customer.disconnect()
    await staff.disconnect()


# --- reconnect --------------------------------------------------------------------------------


@on_own_loop
async def test_reconnect_catches_up_without_loss_or_duplicates():
    # Given Asha saw everything up to her own second message, then lost her connection
    conversation, asha, _ravi, operator = await a_conversation()
    customer = await chat(conversation, asha)
    await customer.send_json_to({"type": "message", "client_id": "c-2", "body": "Hello?"})
    ack = await frames_until(customer, "ack")
    last_seen = ack["id"]
    await customer.disconnect()

    # ... while the agent answered twice
    for number in (1, 2):
        await database_sync_to_async(services.message_send)(
            conversation_id=conversation.pk,
            sender=operator,
            body=f"Answer {number}",
            client_id=f"a-{number}",
        )

    # When she reconnects with the last id she saw, and her client resends the
    # message it was not sure about (same client id)
    again = await open_socket(f"/ws/chat/{conversation.pk}/", asha)
    await again.send_json_to({"type": "sync", "after": last_seen})
    history = await frames_until(again, "history")
    await again.send_json_to({"type": "message", "client_id": "c-2", "body": "Hello?"})
    duplicate = await frames_until(again, "ack")

    # Then she gets exactly what she missed, once, in order
    bodies = [m["body"] for m in history["messages"]]
    assert bodies == ["Answer 1", "Answer 2"]
    assert history["more"] is False
    assert all(m["id"] > last_seen for m in history["messages"])
    # ... and the resend was recognised, not stored twice
    assert duplicate == {"type": "ack", "client_id": "c-2", "id": last_seen, "duplicate": True}
    stored = await database_sync_to_async(
        Message.objects.filter(conversation=conversation, client_id="c-2").count
    )()
    assert stored == 1
    await again.disconnect()


@on_own_loop
async def test_history_comes_in_pages_the_client_follows(settings):
    # Given ten messages and pages of four
    settings.SUPPORT_HISTORY_LIMIT = 4
    conversation, asha, _ravi, operator = await a_conversation()
    for number in range(9):
        await database_sync_to_async(services.message_send)(
            conversation_id=conversation.pk, sender=operator, body=f"m{number}"
        )
    communicator = await open_socket(f"/ws/chat/{conversation.pk}/", asha)

    # When the client syncs from the start and follows `more`
    seen, after = [], 0
    while True:
        await communicator.send_json_to({"type": "sync", "after": after})
        page = await frames_until(communicator, "history")
        seen += [m["id"] for m in page["messages"]]
        if not page["more"]:
            break
        after = page["messages"][-1]["id"]

    # Then it has every message once, in id order
    expected = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(conversation=conversation)
            .order_by("id")
            .values_list("id", flat=True)
        )
    )()
    assert seen == expected and len(seen) == 10
    await communicator.disconnect()


# --- the bell ---------------------------------------------------------------------------------


@on_own_loop
async def test_the_bell_gets_its_count_on_connect_and_new_notifications_live():
    # Given Asha with one unread notification
    asha = await database_sync_to_async(person)("Asha")
    await database_sync_to_async(services.notify)(
        user=asha, kind="topup_captured", title="₹500.00 added"
    )
    bell = await open_socket("/ws/notifications/", asha)
    assert await bell.receive_json_from() == {"type": "unread", "count": 1}

    # When something else happens to her
    await database_sync_to_async(services.notify)(
        user=asha, kind="cashback_released", title="₹5.00 cashback", url="/wallet/"
    )

    # Then her bell hears it with the new count
    frame = await bell.receive_json_from(timeout=3)
    assert frame["type"] == "notification"
    assert frame["unread"] == 2
    assert frame["notification"]["title"] == "₹5.00 cashback"
    assert frame["notification"]["kind"] == "cashback_released"
    await bell.disconnect()


@on_own_loop
async def test_the_wallet_socket_ignores_notification_events_on_the_shared_user_group():
    # Given Asha's wallet page socket (it shares user.<id> with the bell)
    asha = await database_sync_to_async(person)("Asha")
    wallet = await open_socket("/ws/wallet/", asha)
    await wallet.receive_json_from()  # the balance on connect

    # When a notification event reaches the group
    await database_sync_to_async(broadcast_now)(
        user_group(asha.pk), {"type": "notification.unread"}
    )

    # Then the wallet socket is still alive and answering
    await wallet.send_json_to({"type": "ping"})
    assert await wallet.receive_json_from(timeout=3) == {"type": "pong"}
    await wallet.disconnect()


@on_own_loop
async def test_the_agents_queue_hears_about_new_conversations():
    # Given an agent's console socket
    operator = await database_sync_to_async(agent)("Operator")
    queue = await open_socket("/ws/support/queue/", operator)

    # When a customer starts a conversation
    customer = await database_sync_to_async(person)("Asha")
    conversation = await database_sync_to_async(services.conversation_start)(
        customer=customer, subject="Help", body="Hello"
    )

    # Then the console is told which conversation changed
    frame = await frames_until(queue, "queue")
    assert frame["conversation"] == conversation.pk
    await queue.disconnect()
