"""The vendor console: a key's secret is shown once, listed masked; revoke; endpoints; 404 for others."""

import pytest

from accounts.tests.factories import UserFactory
from marketplace.models import ApiKey
from marketplace.tests.factories import VendorFactory

pytestmark = pytest.mark.django_db
URL = "/sessions/vendor/"


def test_a_vendor_creates_a_key_sees_it_once_then_masked_and_revokes_it(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)

    created = client.post(URL, {"action": "key_create", "mode": "live", "name": "prod"})
    key = ApiKey.objects.get()
    listed = client.get(URL)
    client.post(URL, {"action": "key_revoke", "key_id": key.pk})

    page = created.content.decode()
    assert 'data-testid="secret-once"' in page
    assert key.masked in listed.content.decode()
    assert 'data-testid="secret-once"' not in listed.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_bad_endpoint_url_is_refused_on_the_page(client):
    vendor = VendorFactory()
    client.force_login(vendor.user)

    response = client.post(URL, {"action": "endpoint_create", "url": "javascript:alert(1)"})

    assert response.status_code == 200
    assert vendor.webhook_endpoints.count() == 0


def test_customers_get_404(client):
    client.force_login(UserFactory())

    assert client.get(URL).status_code == 404
