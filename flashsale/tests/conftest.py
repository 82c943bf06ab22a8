import pytest

from flashsale import throttle
from flashsale.tests.factories import UserFactory, fund, item_make
from flexpass import redis_guard


@pytest.fixture(autouse=True)
def _fresh_fronts():
    """Each test starts with Redis believed up and empty in-memory throttle windows."""
    redis_guard.reset()
    throttle.throttle_reset()
    yield
    redis_guard.reset()
    throttle.throttle_reset()


@pytest.fixture(autouse=True)
def _roomy_throttle(settings):
    """The anti-bot window has its own tests; elsewhere many test holds share one address."""
    settings.FLASH_HOLDS_PER_USER = 1_000
    settings.FLASH_HOLDS_PER_IP = 1_000


@pytest.fixture
def redis_unreachable(settings):
    """The cache (throttle, rate limits, live-stock coalescing) at a port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }


@pytest.fixture
def buyer(db):
    user = UserFactory()
    fund(user, 500_000)
    return user


@pytest.fixture
def item(db):
    return item_make(total=10)


@pytest.fixture(params=["one statement", "four steps"])
def hold_write_path(request, monkeypatch):
    """Run a test on both ways of writing a hold: PostgreSQL's single statement and the
    portable transaction SQLite uses (both must keep the same promises)."""
    from flashsale.services import hold_sql

    monkeypatch.setattr(hold_sql, "ENABLED", request.param == "one statement")
    return request.param
