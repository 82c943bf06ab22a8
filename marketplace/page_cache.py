"""Whole responses for anonymous visitors, answered before the middleware chain.

An anonymous visitor's catalog or service page is the same for everybody once
the page frame's holes are filled (no token, no toasts: see flexpass.page_frame),
so once a view has served such a page from its cached frame, this middleware,
first in MIDDLEWARE, keeps the finished response (headers included) and
answers the next anonymous request for the same address itself: one cache
read, without the thread hops and the dozen middlewares of a Django request,
which were most of what a cached page still cost. In full mode
`AnonymousPageFront` answers the same entries one step earlier still, in the
ASGI layer on the event loop, before the request reaches the thread pool that
runs Django (flexpass.asgi): see its docstring.

Entries carry the catalog generation of the frame they were built from and are
served only while it is current, so a change is visible as soon as it commits
(catalog_cache). A response is kept only when the view marked it shared
(`share_with_anonymous_visitors`: a frame hit, never a first render, so a page
that is uncached by design costs no extra write), the request carried no
session or messages cookie and the response sets no cookie. Requests that carry
either cookie, htmx requests, other methods and other addresses pass straight
through, and so does anything when the cache fails.
"""

import io
import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.cache import cache, caches
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.http import HttpResponse

from flexpass import redis_clients
from flexpass.observability import HTTP_LATENCY, HTTP_REQUESTS
from marketplace.catalog_cache import GENERATION_KEY, cache_key

logger = logging.getLogger(__name__)

PATHS = ("/catalog/", "/services/")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # as flexpass.observability.RequestIdMiddleware
_NOT_KEPT = {"set-cookie", "x-request-id", "date"}


def share_with_anonymous_visitors(response: HttpResponse, *, generation: int) -> HttpResponse:
    """Let the page cache keep `response` for every anonymous visitor, under `generation`."""
    response.anonymous_page_generation = generation
    return response


def _key(request) -> str | None:
    """The entry's key, or None when this request must go through Django."""
    if request.method not in ("GET", "HEAD") or not request.path.startswith(PATHS):
        return None
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return None
    if "HX-Request" in request.headers:
        return None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None  # SecurityMiddleware redirects it
    try:
        host = request.get_host()  # validates ALLOWED_HOSTS; a bad host gets Django's 400
    except Exception:
        return None
    return cache_key("anonymous-page", request.scheme, host, request.get_full_path())


def _hit(key: str) -> HttpResponse | None:
    found = cache.get_many([GENERATION_KEY, key])
    return _response(found.get(key), found.get(GENERATION_KEY))


def _response(entry, generation) -> HttpResponse | None:
    """The kept response, if there is one and it was built under the current generation."""
    if entry is None or entry[0] != generation:
        return None
    _, status, headers, body = entry
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def _keep(key: str, response) -> None:
    generation = getattr(response, "anonymous_page_generation", None)
    if generation is None or response.status_code != 200 or response.cookies:
        return
    if response.streaming:
        return
    headers = [(k, v) for k, v in response.items() if k.lower() not in _NOT_KEPT]
    entry = (generation, response.status_code, headers, response.content)
    cache.set(key, entry, timeout=settings.CATALOG_CACHE_SECONDS)


def _finish(request, response: HttpResponse, started: float) -> HttpResponse:
    incoming = request.headers.get("X-Request-ID", "")
    response["X-Request-ID"] = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
    HTTP_LATENCY.labels(request.method).observe(time.perf_counter() - started)
    HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
    return response


def _safely(function, *args):
    try:
        return function(*args)
    except Exception:  # the page cache must never fail a request
        logger.warning("anonymous page cache unavailable", exc_info=True)
        return None


class AnonymousPageCacheMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        key = _key(request)
        if key is None:
            return self.get_response(request)
        hit = _safely(_hit, key)
        if hit is not None:
            return _finish(request, hit, started)
        response = self.get_response(request)
        _safely(_keep, key, response)
        return response

    async def _acall(self, request):
        # Under ASGI this runs on the event loop: a hit costs one hop to a thread
        # for the cache read instead of the whole sync middleware chain and view.
        started = time.perf_counter()
        key = _key(request)
        if key is None:
            return await self.get_response(request)
        hit = await sync_to_async(_safely)(_hit, key)
        if hit is not None:
            return _finish(request, hit, started)
        response = await self.get_response(request)
        if getattr(response, "anonymous_page_generation", None) is not None:
            await sync_to_async(_safely)(_keep, key, response)
        return response


class AnonymousPageFront:
    """Full mode's ASGI front: kept anonymous pages answered before Django is reached.

    In full mode Django runs on a pool of request threads behind an ASGI-to-WSGI
    bridge (flexpass.asgi); even a page-cache hit in the middleware above pays
    for the hop to a thread and for building Django's request and response
    there, about three quarters of what a hit cost. This front makes the same
    decision on the event loop instead: Django's own ASGIRequest built from the
    scope (so host validation and cookies are read exactly as the middleware
    reads them), the same key, and one MGET of the generation and the entry on
    an asyncio Redis client, decoded by django-redis. A hit is sent from here;
    anything else (another path or method, a miss, an unreachable Redis) goes
    on to Django untouched, where the middleware keeps the entry for next time
    (so a miss reads the cache twice: rare, and cheap beside the render).
    """

    def __init__(self, app, django_asgi: ASGIHandler):
        self.app = app
        self.django_asgi = django_asgi  # for send_response: Django's encoding of a response
        backend = caches["default"]
        self.make_key = backend.make_key
        self.decode = backend.client.decode

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PATHS):
            response = await self._hit(scope)
            if response is not None:
                await self.django_asgi.send_response(response, send)
                return
        await self.app(scope, receive, send)

    async def _hit(self, scope) -> HttpResponse | None:
        started = time.perf_counter()
        try:
            request = ASGIRequest(scope, io.BytesIO())
            key = _key(request)
            if key is None:
                return None
            client = redis_clients.async_client(settings.REDIS_URL)
            raw = await client.mget([self.make_key(GENERATION_KEY), self.make_key(key)])
            generation, entry = (None if value is None else self.decode(value) for value in raw)
            response = _response(entry, generation)
        except Exception:  # the page cache must never fail a request: Django answers
            logger.warning("anonymous page cache unavailable", exc_info=True)
            return None
        return None if response is None else _finish(request, response, started)
