"""One redis-py client per Redis URL and process, for django-redis.

Django keeps one cache object per thread, and under ASGI every request runs in
a thread of its own, so django-redis built a new `redis.Redis` client for every
request that touched the cache (about 0.2 ms of CPU with redis-py 8: the
response-callback table, the event dispatcher), on top of the connection pool
it already shares per URL. redis-py clients are thread-safe (each command
borrows a connection from the pool), so this factory hands out one per URL and
process, keyed like django-redis's own pools.

`async_client` is the asyncio counterpart for code that runs on a server's event
loop (marketplace.page_cache.AnonymousPageFront): one per URL and loop.
"""

import asyncio
import threading
import weakref

import redis.asyncio
from django.conf import settings
from django_redis.pool import ConnectionFactory


class SharedClientConnectionFactory(ConnectionFactory):
    _clients: dict = {}
    _lock = threading.Lock()

    def connect(self, url: str):
        client = self._clients.get(url)
        if client is None:
            with self._lock:
                client = self._clients.get(url)
                if client is None:
                    client = self._clients[url] = super().connect(url)
        return client


_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> {url: client}


def async_client(url: str) -> redis.asyncio.Redis:
    """A redis.asyncio client for `url` on the running event loop, with the cache's timeouts."""
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(url)
    if client is None:
        options = settings.CACHES["default"]["OPTIONS"]
        client = clients[url] = redis.asyncio.Redis.from_url(
            url,
            socket_connect_timeout=options["SOCKET_CONNECT_TIMEOUT"],
            socket_timeout=options["SOCKET_TIMEOUT"],
        )
    return client
