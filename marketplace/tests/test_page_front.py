"""Full mode's ASGI front: kept anonymous pages answered before Django's request threads
(marketplace.page_cache.AnonymousPageFront, in front of the pool in flexpass.asgi)."""

import threading

import httpx
import pytest
import redis.asyncio
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.signals import request_finished

from flexpass import realtime, redis_clients
from flexpass.asgi import application
from marketplace.catalog_cache import catalog_cache_invalidate
from marketplace.models import Service, ServiceStatus

# Requests are served by the application's own request threads, which see only committed
# rows; the test bodies stay synchronous so their database work uses the test's connection.
pytestmark = pytest.mark.django_db(transaction=True)

CATALOG = "/catalog/"


@pytest.fixture
def reached_django(monkeypatch):
    """One entry per request that reached Django's request threads.

    Afterwards it waits for those requests to finish: a request thread closes its
    database connection after the response is sent, and an open one would keep
    the test database from being dropped.
    """
    seen, finished = [], threading.Semaphore(0)
    mark = realtime.request_thread_mark

    def counted():
        seen.append(1)
        mark()

    def on_finished(**kwargs):
        finished.release()

    monkeypatch.setattr(realtime, "request_thread_mark", counted)
    request_finished.connect(on_finished)
    yield seen
    for _ in seen:
        assert finished.acquire(timeout=10)
    request_finished.disconnect(on_finished)


@async_to_sync
async def _get(path: str, **headers) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers)


def _seen_twice() -> httpx.Response:
    """Rendered once, then served from its frame once (which keeps the whole page)."""
    _get(CATALOG)
    return _get(CATALOG)


def test_a_kept_page_is_answered_without_reaching_django(plan, reached_django, monkeypatch):
    second = _seen_twice()
    assert len(reached_django) == 2

    def boom(*args, **kwargs):
        raise AssertionError("the view ran")

    monkeypatch.setattr("marketplace.views.frame_fill", boom)
    third = _get(CATALOG, **{"X-Request-ID": "front-1"})

    assert len(reached_django) == 2
    assert third.status_code == 200 and third.content == second.content
    for header in ("content-type", "vary", "x-frame-options", "x-content-type-options"):
        assert third.headers[header] == second.headers[header]
    assert third.headers["x-request-id"] == "front-1"
    assert "set-cookie" not in third.headers


def test_a_committed_change_is_shown_at_once(plan, reached_django):
    assert 'data-slug="imagegen-pro"' in (_seen_twice()).text

    Service.objects.filter(pk=plan.service_id).update(status=ServiceStatus.PAUSED)
    catalog_cache_invalidate()  # autocommit: the generation moves now
    page = _get(CATALOG)

    assert len(reached_django) == 3
    assert page.status_code == 200 and 'data-slug="imagegen-pro"' not in page.text


def test_sessions_htmx_and_unknown_hosts_go_to_django(plan, reached_django):
    _seen_twice()

    signed_in = _get(CATALOG, Cookie=f"{settings.SESSION_COOKIE_NAME}=someone")
    fragment = _get(CATALOG, **{"HX-Request": "true"})
    evil = _get(CATALOG, Host="evil.example")

    assert len(reached_django) == 5
    assert fragment.text.lstrip().startswith('<section id="catalog-results"')
    assert signed_in.status_code == 200 and evil.status_code == 400


def test_with_redis_unreachable_django_answers(plan, reached_django, monkeypatch, caplog):
    _seen_twice()
    dead = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    monkeypatch.setattr(redis_clients, "async_client", lambda url: dead)

    page = _get(CATALOG)

    assert page.status_code == 200 and 'data-slug="imagegen-pro"' in page.text
    assert len(reached_django) == 3
    assert "anonymous page cache unavailable" in caplog.text
