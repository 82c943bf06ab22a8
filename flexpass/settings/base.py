"""FlexPass settings.

Two modes, chosen by the environment only (see docs/ and the README):

* embedded: no DATABASE_URL / REDIS_URL - SQLite, local-memory cache, in-memory
  channel layer, eager Celery, periodic jobs from a ticker on the server loop;
* full: DATABASE_URL=postgres://..., REDIS_URL=redis://... - what production and
  the test suite use.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not (DATABASE_URL or REDIS_URL)
# Full mode: threads per web process that run requests (flexpass.asgi). Each holds at
# most one database connection from the pool (DB_POOL_MAX) while it works.
WEB_THREADS = env.int("WEB_THREADS", default=8)
FULL_MODE = bool(DATABASE_URL and REDIS_URL)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if EMBEDDED:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="embedded-mode-not-secret-" + "x" * 40)
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # required outside embedded mode
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

GOOGLE_LOGIN_ENABLED = bool(env.str("GOOGLE_CLIENT_ID", default=""))
INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.headless",
    "channels",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "flexpass",
    "accounts",
    "wallet",
    "billing",
    "marketplace",
    "flashsale",
    "support",
]
if GOOGLE_LOGIN_ENABLED:  # without credentials /accounts/google/... is simply not there (404)
    INSTALLED_APPS.insert(
        INSTALLED_APPS.index("allauth.headless"), "allauth.socialaccount.providers.google"
    )

MIDDLEWARE = [
    # anonymous catalog and service pages already rendered: answered whole, before the rest
    "marketplace.page_cache.AnonymousPageCacheMiddleware",
    "flexpass.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # who is active (operator dashboard): after the view, at most one Redis write per person per 30 s
    "support.middleware.ActivityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "flexpass.observability.MetricsMiddleware",
]

ROOT_URLCONF = "flexpass.urls"
WSGI_APPLICATION = "flexpass.wsgi.application"
ASGI_APPLICATION = "flexpass.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "flexpass.context_processors.site",
            ],
        },
    },
]

if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    # A bounded pool per process (psycopg-pool): no connection set-up per request,
    # and a burst of requests queues for a connection instead of exhausting
    # PostgreSQL's max_connections. DB_POOL=false falls back to one per request.
    if env.bool("DB_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=16),
            "timeout": env.int("DB_POOL_TIMEOUT", default=10),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
    # Parameters bound by the server and statements prepared once per pooled
    # connection: PostgreSQL plans a repeated query once instead of on every call
    # (planning was a third of a purchase's database CPU), and psycopg sends
    # values instead of quoting them into the SQL text. DB_PREPARE=false for a
    # pooler in transaction mode (PgBouncer before 1.21), which cannot keep them.
    if env.bool("DB_PREPARE", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=env.int("DB_PREPARE_THRESHOLD", default=5)
        )
    # A transaction waiting for a row lock gives up after this and is retried
    # (wallet.services.money_transaction) instead of hanging a request.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=5000)}"
    )
else:
    # SQLite has no SELECT ... FOR UPDATE: IMMEDIATE transactions take the write
    # lock at BEGIN, WAL lets readers run beside the writer, and the busy timeout
    # waits instead of failing with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "var" / "flexpass.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="fp"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # one redis-py client per process, not one per request (ASGI threads)
                "CONNECTION_FACTORY": "flexpass.redis_clients.SharedClientConnectionFactory",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if REDIS_URL:
    # Every signed-in request reads its session: from Redis, with PostgreSQL behind
    # it (written through, read on a miss), instead of a query per request.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-in"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
# Embedded mode and tests serve static files straight from the finders; full
# mode runs collectstatic and serves hashed, compressed files.
WHITENOISE_USE_FINDERS = EMBEDDED or DEBUG or env.bool("WHITENOISE_USE_FINDERS", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if WHITENOISE_USE_FINDERS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# Seconds before a hung mail server fails the send (which the retry jobs try again
# later) instead of holding a worker, or the embedded ticker, forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FlexPass <hello@flexpass.local>")

# Security defaults: production is whatever is not embedded mode and not DEBUG.
SECURE = not EMBEDDED and not DEBUG and env.bool("DJANGO_SECURE", default=True)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

from .components.allauth import *  # noqa: E402,F403
from .components.billing import *  # noqa: E402,F403
from .components.celery import *  # noqa: E402,F403
from .components.channels import *  # noqa: E402,F403
from .components.drf import *  # noqa: E402,F403
from .components.flashsale import *  # noqa: E402,F403
from .components.flexpass import *  # noqa: E402,F403
from .components.logging import *  # noqa: E402,F403
from .components.marketplace import *  # noqa: E402,F403
from .components.support import *  # noqa: E402,F403
from .components.vendor import *  # noqa: E402,F403
