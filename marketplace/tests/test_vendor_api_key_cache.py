"""The per-process API key cache: fewer queries, revocation still takes effect."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flexpass import ratelimit
from flexpass.testing import cache_clear
from marketplace.models import ApiKey
from marketplace.services import keys
from marketplace.tests.factories import VendorFactory

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/vendor/access/check/"


@pytest.fixture(autouse=True)
def _fresh():
    ratelimit.reset_local()
    cache_clear()
    keys.api_key_cache_clear()
    yield
    keys.api_key_cache_clear()


def client_for(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_a_used_key_is_not_looked_up_again(django_assert_num_queries):
    created = keys.api_key_create(vendor=VendorFactory(), mode="live")
    keys.api_key_authenticate(created.secret)  # first use: lookup + last_used_at

    with django_assert_num_queries(0):
        key = keys.api_key_authenticate(created.secret)

    assert key.pk == created.key.pk


def test_revoking_drops_the_cached_key_at_once():
    vendor = VendorFactory()
    created = keys.api_key_create(vendor=vendor, mode="live")
    client = client_for(created.secret)
    assert client.post(CHECK, {"token": "x"}, format="json").status_code == 200

    keys.api_key_revoke(vendor=vendor, key_id=created.key.pk)

    response = client.post(CHECK, {"token": "x"}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key was revoked."


def test_a_revocation_elsewhere_is_seen_after_the_cache_time(monkeypatch, settings):
    # given a key cached by this process, revoked by another (a direct row update here)
    settings.VENDOR_API_KEY_CACHE_SECONDS = 5
    created = keys.api_key_create(vendor=VendorFactory(), mode="live")
    keys.api_key_authenticate(created.secret)
    ApiKey.objects.filter(pk=created.key.pk).update(revoked_at=timezone.now())
    clock = keys.time.monotonic()

    # within the cache time it is still served; after it, refused
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock + 4)
    assert keys.api_key_authenticate(created.secret).pk == created.key.pk
    monkeypatch.setattr(keys.time, "monotonic", lambda: clock + 6)
    with pytest.raises(keys.KeyInvalid):
        keys.api_key_authenticate(created.secret)


def test_expiry_is_checked_on_every_request_even_when_cached():
    created = keys.api_key_create(
        vendor=VendorFactory(), mode="live", expires_at=timezone.now() + timezone.timedelta(hours=1)
    )
    keys.api_key_authenticate(created.secret)

    with pytest.raises(keys.KeyInvalid, match="expired"):
        keys.api_key_authenticate(created.secret, now=timezone.now() + timezone.timedelta(hours=2))


def test_unknown_keys_are_not_cached_and_zero_disables(settings, django_assert_num_queries):
    settings.VENDOR_API_KEY_CACHE_SECONDS = 0
    created = keys.api_key_create(vendor=VendorFactory(), mode="live")
    keys.api_key_authenticate(created.secret)
    with pytest.raises(keys.KeyInvalid):
        keys.api_key_authenticate("fp_live_unknown")

    with django_assert_num_queries(1):
        keys.api_key_authenticate(created.secret)
    assert keys._key_cache == {}
