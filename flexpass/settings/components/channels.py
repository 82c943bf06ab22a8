import environ

env = environ.Env()
_redis = env.str("REDIS_URL", default="")

if _redis:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [_redis],
                "prefix": env.str("CHANNELS_PREFIX", default="fp-asgi"),
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    # Per process and, in practice, per event loop: embedded mode promises one process.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
