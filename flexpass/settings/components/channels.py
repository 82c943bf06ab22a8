import environ

from flexpass.layer_reconnect import connected

env = environ.Env()
_redis = env.str("REDIS_URL", default="")
_prefix = env.str("CHANNELS_PREFIX", default="fp-asgi")

if _redis:
    # Redis pub/sub, not channels-redis's core layer: the core layer has every socket
    # of a process share one blocking pop, and a socket leaving (its receive
    # cancelled) as a message arrives can drop another socket's message
    # (flexpass/tests/test_asgi.py). Pub/sub delivers each message to every process
    # with a subscriber, which hands it to its own sockets' queues. Either way a live
    # update is best-effort: pages get a fresh snapshot when their socket reconnects,
    # and every socket reconnects when the layer's subscription had to
    # (flexpass.layer_reconnect).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s; the subscriber connection
                # sits idle between messages and must not be dropped for it.
                "hosts": [
                    {
                        "address": _redis,
                        "socket_timeout": None,
                        "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000),
                        # After a lost subscription, sockets reconnect to resync.
                        "redis_connect_func": connected,
                        "client_name": f"{_prefix}-layer",
                    }
                ],
                "prefix": _prefix,
            },
        }
    }
else:
    # Per process and, in practice, per event loop: embedded mode promises one process.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
