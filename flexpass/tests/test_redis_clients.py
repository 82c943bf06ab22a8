import threading

from django.core.cache import cache, caches


def test_every_thread_shares_one_redis_client_and_sees_the_same_data():
    # given a value written from this thread
    cache.set("redis-clients:probe", 42, timeout=60)
    seen = []

    def other_thread():  # under ASGI every request runs in a new thread like this one
        seen.append(
            (caches["default"].client.get_client(), caches["default"].get("redis-clients:probe"))
        )
        caches.close_all()

    # when two other threads, each with its own Django cache object, read it
    for _ in range(2):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()

    # then they read it through the same redis-py client as this thread
    mine = cache.client.get_client()
    assert seen == [(mine, 42), (mine, 42)]
