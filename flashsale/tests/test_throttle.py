"""The anti-bot window: per account and per IP, sliding, counted, polite when Redis is away."""

import time

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from flashsale import services, throttle
from flashsale.errors import HoldThrottled, SoldOut
from flashsale.models import CounterName, Hold, SaleCounter, SaleItem
from flashsale.tests.factories import UserFactory, item_make
from flexpass import redis_guard

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _product_limits(settings):
    settings.FLASH_HOLDS_PER_USER = 2
    settings.FLASH_HOLDS_PER_IP = 2
    settings.FLASH_THROTTLE_WINDOW_SECONDS = 600


def throttle_blocks(item) -> int:
    return sum(
        SaleCounter.objects.filter(item=item, name=CounterName.THROTTLE_BLOCKED).values_list(
            "value", flat=True
        )
    )


def items(n):
    return [item_make(total=5, per_user_limit=1) for _ in range(n)]


def test_a_third_hold_from_one_account_within_ten_minutes_is_refused(buyer):
    first, second, third = items(3)
    services.hold_create(user=buyer, item_id=first.pk, quantity=1, client_ip="10.0.0.1")
    services.hold_create(user=buyer, item_id=second.pk, quantity=1, client_ip="10.0.0.2")

    with pytest.raises(HoldThrottled) as refused:
        services.hold_create(user=buyer, item_id=third.pk, quantity=1, client_ip="10.0.0.3")

    assert "this account" in str(refused.value)
    assert "at most 2 in 10 minutes" in str(refused.value)
    retry_after = int(refused.value.headers["Retry-After"])
    assert 595 <= retry_after <= 600
    assert SaleItem.objects.get(pk=third.pk).available == 5
    assert Hold.objects.filter(item=third).count() == 0
    assert throttle_blocks(third) == 1


def test_a_third_hold_from_one_address_is_refused_whoever_asks(settings):
    settings.FLASH_HOLDS_PER_USER = 5  # the message names the network's limit, not this
    first, second, third = items(3)
    for item in (first, second):
        services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1, client_ip="10.9.9.9")

    with pytest.raises(HoldThrottled, match="your network: at most 2 in 10 minutes"):
        services.hold_create(user=UserFactory(), item_id=third.pk, quantity=1, client_ip="10.9.9.9")

    services.hold_create(user=UserFactory(), item_id=third.pk, quantity=1, client_ip="10.9.9.8")
    assert SaleItem.objects.get(pk=third.pk).available == 4
    assert throttle_blocks(third) == 1


def test_ipv6_addresses_of_one_subscriber_share_the_per_ip_window(settings):
    settings.FLASH_HOLDS_PER_USER = 5
    first, second, third = items(3)
    for item, address in ((first, "2001:db8:1:2::1"), (second, "2001:db8:1:2::ffff")):
        services.hold_create(user=UserFactory(), item_id=item.pk, quantity=1, client_ip=address)

    with pytest.raises(HoldThrottled, match="your network"):
        services.hold_create(
            user=UserFactory(), item_id=third.pk, quantity=1, client_ip="2001:db8:1:2:a:b:c:d"
        )

    services.hold_create(  # another subscriber's /64
        user=UserFactory(), item_id=third.pk, quantity=1, client_ip="2001:db8:1:3::1"
    )
    assert SaleItem.objects.get(pk=third.pk).available == 4


def test_refused_holds_do_not_use_up_the_window(buyer):
    # given an item nobody can have any more
    gone = item_make(total=1, per_user_limit=1)
    services.hold_create(user=UserFactory(), item_id=gone.pk, quantity=1, client_ip="10.0.0.9")
    wanted = item_make(total=5, per_user_limit=2)

    # when the buyer is told "sold out" three times
    for _ in range(3):
        with pytest.raises(SoldOut):
            services.hold_create(user=buyer, item_id=gone.pk, quantity=1, client_ip="10.0.0.1")

    # then they can still hold twice
    services.hold_create(user=buyer, item_id=wanted.pk, quantity=1, client_ip="10.0.0.1")
    services.hold_create(user=buyer, item_id=wanted.pk, quantity=1, client_ip="10.0.0.1")
    assert SaleItem.objects.get(pk=wanted.pk).available == 3


def test_the_window_slides(buyer, settings):
    settings.FLASH_THROTTLE_WINDOW_SECONDS = 1
    first, second, third = items(3)
    services.hold_create(user=buyer, item_id=first.pk, quantity=1, client_ip="10.0.0.1")
    services.hold_create(user=buyer, item_id=second.pk, quantity=1, client_ip="10.0.0.1")
    with pytest.raises(HoldThrottled):
        services.hold_create(user=buyer, item_id=third.pk, quantity=1, client_ip="10.0.0.1")

    time.sleep(1.05)

    hold, _ = services.hold_create(user=buyer, item_id=third.pk, quantity=1, client_ip="10.0.0.1")
    assert hold.item_id == third.pk


def test_the_lua_window_admits_up_to_the_limit_then_says_how_long_to_wait():
    keys = (cache.make_key("flash:test:window"),)  # this run's prefix: cleaned after the test
    results = [throttle._redis_take(keys, (3,), f"m{i}", 1_000_000 + i, 60_000) for i in range(5)]

    assert results == [0, 0, 0, 59_997, 59_996]


def test_with_redis_unreachable_the_window_lives_in_this_process(buyer, settings):
    # given the cache points at a port where nothing listens
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    first, second, third = items(3)
    started = time.monotonic()

    # when the buyer holds three times
    services.hold_create(user=buyer, item_id=first.pk, quantity=1, client_ip="10.0.0.1")
    services.hold_create(user=buyer, item_id=second.pk, quantity=1, client_ip="10.0.0.1")
    with pytest.raises(HoldThrottled):
        services.hold_create(user=buyer, item_id=third.pk, quantity=1, client_ip="10.0.0.1")

    # then holds still work, quickly, and the third is still refused
    assert time.monotonic() - started < 3
    assert redis_guard.is_down()
    assert [SaleItem.objects.get(pk=i.pk).available for i in (first, second, third)] == [4, 4, 5]


@pytest.mark.parametrize(
    "proxies, forwarded, remote, expected",
    [
        (0, "203.0.113.7", "10.0.0.1", "10.0.0.1"),  # no proxy: the header is anyone's word
        (1, "198.51.100.1, 203.0.113.7", "10.0.0.1", "203.0.113.7"),  # what our proxy saw
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.2", "10.0.0.1", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1", "10.0.0.1"),  # did not pass through both proxies
        (1, "not-an-ip", "10.0.0.1", "10.0.0.1"),
        (1, "", "10.0.0.1", "10.0.0.1"),
    ],
)
def test_the_client_address_trusts_only_our_own_proxies(
    settings, proxies, forwarded, remote, expected
):
    settings.FLASH_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)

    assert throttle.client_ip(request) == expected
