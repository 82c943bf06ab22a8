import pytest

from flashsale import redis_guard, throttle
from flashsale.tests.factories import UserFactory, fund, item_make


@pytest.fixture(autouse=True)
def _fresh_fronts():
    """Each test starts with Redis believed up and empty in-memory throttle windows."""
    redis_guard.reset()
    throttle.throttle_reset()
    yield
    redis_guard.reset()
    throttle.throttle_reset()


@pytest.fixture
def buyer(db):
    user = UserFactory()
    fund(user, 500_000)
    return user


@pytest.fixture
def item(db):
    return item_make(total=10)
