"""Test settings: full mode against the local PostgreSQL and Redis (see Makefile)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flexpass")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-" + "t" * 40)
os.environ.setdefault("GOOGLE_CLIENT_ID", "test-client.apps.googleusercontent.com")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "test-google-secret")
os.environ.setdefault("LOG_JSON", "false")
os.environ.setdefault("DJANGO_SECURE", "false")
os.environ.setdefault("WHITENOISE_USE_FINDERS", "true")
# Race tests run more threads than a pool would hold; each test thread opens its own.
os.environ.setdefault("DB_POOL", "false")
# Every pytest process (each xdist worker, each developer's run) gets its own
# test database, cache key prefix and channel prefix, so runs never collide.
_run = f"p{os.getpid()}"
os.environ["CACHE_KEY_PREFIX"] = f"fp-test-{_run}"
os.environ["CHANNELS_PREFIX"] = f"fp-test-{_run}"

from .base import *  # noqa: E402,F403
from .base import DATABASES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_flexpass_{_run}"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
SOCIALACCOUNT_LOGIN_ON_GET = True
