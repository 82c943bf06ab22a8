"""ws/live/: pass usage and session cost reach the owner's page; the session pages work."""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.tests.factories import UserFactory
from flexpass.asgi import application
from flexpass.realtime import broadcast_now, user_group

ORIGIN = (b"origin", b"http://testserver")


def on_own_loop(scenario):
    @functools.wraps(scenario)
    def test(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, scenario(*args, **kwargs)).result(timeout=60)

    return test


@database_sync_to_async
def signed_in():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return user, (b"cookie", cookie.encode())


@pytest.mark.django_db(transaction=True)
@on_own_loop
async def test_the_owner_receives_pass_usage_and_not_other_events():
    # given a signed-in socket on ws/live/
    user, cookie = await signed_in()
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN, cookie])
    connected, _ = await communicator.connect()
    assert connected

    # when other apps' and our events reach user.<id>
    usage = {"type": "pass.usage", "pass_id": 7, "units": 3, "units_left": 7, "events": 1}
    await database_sync_to_async(broadcast_now)(user_group(user.pk), {"type": "wallet.balance"})
    await database_sync_to_async(broadcast_now)(user_group(user.pk), usage)

    # then only ours is forwarded
    assert await communicator.receive_json_from(timeout=5) == usage
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@on_own_loop
async def test_anonymous_sockets_are_closed_with_4401():
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=[ORIGIN])

    connected, code = await communicator.connect()

    assert (connected, code) == (False, 4401)


@pytest.mark.django_db
def test_a_user_starts_watches_and_stops_a_session_from_the_page(client):
    from marketplace.models import MeteredSession
    from marketplace.tests.factories import fund, metered_plan

    user = UserFactory()
    fund(user, 10_000)
    plan = metered_plan()
    client.force_login(user)

    started = client.post(f"/sessions/start/{plan.pk}/")
    session = MeteredSession.objects.get()
    page = client.get(started["Location"])
    stopped = client.post(f"/sessions/{session.pk}/stop/")

    assert started.status_code == 302
    assert page.status_code == 200
    assert f'data-session-id="{session.pk}"' in page.content.decode()
    assert stopped.status_code == 302
    session.refresh_from_db()
    assert (session.status, session.stop_reason) == ("stopped", "stopped_by_user")
