"""The channel layer's Redis connection hook (settings/components/channels.py).

The pub/sub layer re-subscribes by itself when its subscriber connection to
Redis comes back, but whatever was published while it was away is gone and no
socket is told. This hook notices the reconnect and has every WebSocket of this
process closed with 1012 ("service restart"): the browsers reconnect at once and
each consumer sends its fresh snapshot (stock, balance, unread count, chat
history since the last message), as they did when the core layer's receive
failed with Redis.

No Django imports at module level: the settings import this.
"""


async def connected(connection) -> None:
    """redis-py's `redis_connect_func`: the usual handshake, then the reconnect check.

    redis-py registers the pub/sub resubscribe callback on a connection after its
    first connect, so a connection that already has callbacks is a subscriber
    coming back (publishing connections never get one).
    """
    subscriber_back = bool(connection._connect_callbacks)
    await connection.on_connect()
    if subscriber_back:
        from flexpass.realtime import sockets_resync

        sockets_resync()
