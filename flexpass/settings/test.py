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
# pytest-xdist: each worker gets its own Redis database and channel prefix.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_worker_no = int(_worker.removeprefix("gw") or 0)
_redis = os.environ["REDIS_URL"].rsplit("/", 1)[0]
os.environ["REDIS_URL"] = f"{_redis}/{1 + _worker_no}"
os.environ["CHANNELS_PREFIX"] = f"fp-test-{_worker}"

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
SOCIALACCOUNT_LOGIN_ON_GET = True
