"""ASGI entry point: HTTP and WebSockets on one port.

In full mode HTTP requests run Django's WSGI handler on a fixed pool of threads
(a2wsgi) instead of Django's ASGI handler. Every view here is synchronous, and the
ASGI handler starts a fresh thread per request and hops between threads for the
request signals; with 200 requests in flight that doubled the CPU each request
cost (bench/README.md). WebSockets stay native ASGI (Channels). Embedded mode keeps
the ASGI handler: its in-memory channel layer lives on the server's event loop,
which asgiref's threads can reach and a2wsgi's cannot. Anonymous catalog and service
pages already kept by the page cache are answered in front of the thread pool
(marketplace.page_cache.AnonymousPageFront).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flexpass.settings.base")
django_asgi_app = get_asgi_application()

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from flexpass import realtime  # noqa: E402
from flexpass.routing import websocket_urlpatterns  # noqa: E402
from flexpass.ticker import with_embedded_ticker  # noqa: E402
from marketplace.page_cache import AnonymousPageFront  # noqa: E402


def _threaded_wsgi(threads: int):
    django_wsgi = get_wsgi_application()

    def in_request_thread(environ, start_response):
        realtime.request_thread_mark()
        return django_wsgi(environ, start_response)

    bridge = WSGIMiddleware(in_request_thread, workers=threads)

    async def http(scope, receive, send):
        # a2wsgi hands `receive` to run_coroutine_threadsafe, which wants a coroutine;
        # some servers (granian) pass an awaitable object instead.
        async def receive_coroutine():
            return await receive()

        await bridge(scope, receive_coroutine, send)

    return http


def _http():
    if settings.EMBEDDED:
        return django_asgi_app
    threaded = _threaded_wsgi(settings.WEB_THREADS)
    if not settings.REDIS_URL:  # no shared cache, so no kept pages to answer
        return threaded
    return AnonymousPageFront(threaded, django_asgi_app)


application = ProtocolTypeRouter(
    {
        "http": _http(),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
if settings.EMBEDDED:
    application = with_embedded_ticker(application)
