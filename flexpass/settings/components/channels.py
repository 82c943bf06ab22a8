import environ

env = environ.Env()
_redis = env.str("REDIS_URL", default="")

if _redis:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, shorter than channels_redis's
                # blocking receive: idle sockets would drop every few seconds.
                "hosts": [
                    {
                        "address": _redis,
                        "socket_timeout": None,
                        "max_connections": env.int("CHANNELS_REDIS_MAX_CONNECTIONS", default=1000),
                    }
                ],
                "prefix": env.str("CHANNELS_PREFIX", default="fp-asgi"),
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    # Per process and, in practice, per event loop: embedded mode promises one process.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
