"""A support chat in two real browsers against Daphne, WebSockets included.

Asha asks for help from the chat widget; Operator, an agent, answers from the
console. Asha watches "Operator is typing…" and the reply arrive without
reloading; with the widget closed, the next reply rings her bell instead.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from support.models import AgentProfile, Conversation, Message
from support.tests.factories import person

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _serve_test_database():
    """Daphne child setup: the test database, fresh thread machinery and channel layer
    (the child is forked from the test process; see wallet's browser test)."""
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from channels.testing.live import set_database_connection

    set_database_connection()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()


@pytest.fixture
def channels_live_server(transactional_db):
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    connections.close_all()
    process = DaphneProcess(
        "localhost",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=_serve_test_database,
    )
    # The server must not inherit the root conftest's DJANGO_ALLOW_ASYNC_UNSAFE (set for
    # Playwright in this process): lazy database access from a consumer must fail here too.
    allowed = os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    try:
        process.start()
    finally:
        if allowed is not None:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed
    assert process.ready.wait(20), "Daphne did not start"
    yield f"http://localhost:{process.port.value}"
    process.terminate()
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)


@pytest.fixture
def pages(request):
    """Every page the story opens; on failure each is saved to test-artifacts/."""
    opened = []
    failed_before = request.session.testsfailed
    yield opened
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(exist_ok=True)
        for number, page in enumerate(opened):
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{number}.png"))
    for page in opened:
        page.context.close()


def signed_in_page(browser, base_url: str, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": "localhost",
                "path": "/",
            }
        ]
    )
    return context.new_page()


def test_a_customer_and_an_agent_chat_live(channels_live_server, browser, pages):
    # Given Asha, a customer, and Operator, an agent who is online
    asha = person("Asha")
    operator = person("Operator", staff=True)
    AgentProfile.objects.create(user=operator, status="online", last_seen_at=timezone.now())
    customer = signed_in_page(browser, channels_live_server, asha)
    agent = signed_in_page(browser, channels_live_server, operator)
    pages.extend([customer, agent])

    # When Asha opens the chat widget on the home page and asks for help
    customer.goto("/")
    customer.get_by_test_id("chat-launcher").click()
    widget = customer.get_by_test_id("chat-widget")
    widget.get_by_test_id("widget-message").fill("My top-up of ₹500 has not arrived")
    widget.get_by_test_id("widget-send").click()

    # Then her conversation is open in the widget, live
    expect(widget.get_by_test_id("chat-log")).to_contain_text("My top-up of ₹500 has not arrived")
    expect(widget.locator("[data-conn]")).to_have_text("Live")
    conversation = Conversation.objects.get(customer=asha)
    assert conversation.assignee_id == operator.pk  # round-robin: the only agent online

    # When Operator opens it from the console and starts typing
    agent.goto("/support/agent/")
    agent.get_by_test_id("conversation-row").first.click()
    console = agent.get_by_test_id("console")
    expect(console.get_by_test_id("chat-log")).to_contain_text("has not arrived")
    expect(console.locator("[data-conn]")).to_have_text("Live")
    composer = console.get_by_test_id("chat-input")
    composer.click()
    composer.press_sequentially("Checking the gateway now", delay=20)

    # Then Asha sees Operator typing, without reloading
    expect(widget.get_by_test_id("typing")).to_contain_text("Operator is typing")

    # When Operator sends the reply
    composer.press("Enter")

    # Then it appears in Asha's widget and the typing line goes away
    expect(widget.get_by_test_id("chat-log")).to_contain_text("Checking the gateway now")
    expect(widget.get_by_test_id("typing")).to_have_text("")
    # ... and Operator sees that she has read it
    expect(console.get_by_test_id("receipt")).to_have_text("Seen")
    assert Message.objects.filter(conversation=conversation, kind="text").count() == 2

    # When Asha closes the widget and Operator answers again
    expect(customer.get_by_test_id("bell-count")).to_be_hidden()
    widget.locator("[data-widget-close]").click()
    customer.wait_for_timeout(700)  # her chat socket closes: she is no longer looking
    composer.press_sequentially("Found it: the money is in your wallet", delay=5)
    composer.press("Enter")

    # Then her bell rings with one unread notification, live
    expect(customer.get_by_test_id("bell-count")).to_have_text("1")
    expect(customer.locator("#toasts")).to_contain_text("Support replied to your message")

    # When she opens the widget again
    customer.get_by_test_id("chat-launcher").click()

    # Then the reply is there and reading it clears the bell
    expect(widget.get_by_test_id("chat-log")).to_contain_text("the money is in your wallet")
    expect(customer.get_by_test_id("bell-count")).to_be_hidden()


def test_a_message_whose_socket_died_before_the_ack_is_sent_again(
    channels_live_server, browser, pages
):
    # Given Asha's conversation, open on its page
    asha = person("Asha")
    from support import services

    conversation = services.conversation_start(customer=asha, subject="Top-up", body="Hello")
    page = signed_in_page(browser, channels_live_server, asha)
    pages.append(page)
    lost = []

    def lose_the_first_message(ws):
        server = ws.connect_to_server()

        def from_page(message):
            if not lost and '"type":"message"' in str(message).replace(" ", ""):
                lost.append(message)
                ws.close()  # the connection drops with the frame on the wire
                return
            server.send(message)

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r"/ws/chat/"), lose_the_first_message)
    page.goto(f"/support/c/{conversation.pk}/")
    chat = page.get_by_test_id("chat-log")
    expect(page.locator("[data-conn]")).to_have_text("Live")

    # When she sends a message and the socket dies before the server saw it
    composer = page.get_by_test_id("chat-input")
    composer.fill("Any news?")
    composer.press("Enter")

    # Then the chat reconnects, sends it again, and it is stored once, no longer pending
    expect(chat.locator(".pending")).to_have_count(0, timeout=15_000)
    assert lost
    assert Message.objects.filter(conversation=conversation, body="Any news?").count() == 1


def test_a_long_conversation_shows_its_earlier_messages_on_request(
    channels_live_server, browser, pages
):
    # Given a conversation of 60 messages: the page shows the newest 50
    asha = person("Asha")
    from support import services

    conversation = services.conversation_start(customer=asha, subject="Refunds", body="m00")
    for n in range(1, 60):
        services.message_send(conversation_id=conversation.pk, sender=asha, body=f"m{n:02d}")
    page = signed_in_page(browser, channels_live_server, asha)
    pages.append(page)
    page.goto(f"/support/c/{conversation.pk}/")
    log = page.get_by_test_id("chat-log")
    expect(log.locator(".msg")).to_have_count(50)
    expect(log).not_to_contain_text("m09")

    # When she asks for the earlier ones
    log.get_by_test_id("chat-earlier").click()

    # Then the first ten appear above, in order, and there is nothing more to ask for
    expect(log.locator(".msg")).to_have_count(60)
    bodies = log.locator(".msg-bubble").all_inner_texts()
    assert bodies == [f"m{n:02d}" for n in range(60)]
    expect(log.get_by_test_id("chat-earlier")).to_have_count(0)
