import pytest
from django.urls import reverse

from billing.gateways import simulator
from billing.tests.factories import StaffFactory, UserFactory

WEBHOOK_URL = "/api/v1/billing/webhooks/razorpay"


@pytest.fixture(autouse=True)
def _billing_settings(settings):
    """Simulated gateway, default limits, and webhooks only when a test sends them."""
    settings.RAZORPAY_KEY_ID = ""
    settings.RAZORPAY_KEY_SECRET = ""
    settings.SIMULATED_RAZORPAY_ENABLED = True
    settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = "off"
    settings.SIMULATED_RAZORPAY_WEBHOOK_COPIES = 2
    settings.TOPUP_MIN_PAISE = 1_000
    settings.TOPUP_MAX_PAISE = 10_000_000
    settings.TOPUP_DAILY_MAX_PAISE = 20_000_000
    settings.TOPUP_RECONCILE_AFTER_MINUTES = 5
    settings.TOPUP_EXPIRE_MINUTES = 30
    settings.WITHDRAWAL_MIN_PAISE = 10_000
    settings.WITHDRAWAL_MAX_PAISE = 20_000_000


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def sim():
    return simulator()


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def post_webhook(client):
    """POST a raw body to the webhook endpoint the way Razorpay does."""

    def post(body: bytes, signature: str, event_id: str = "evt_test_1"):
        return client.post(
            WEBHOOK_URL,
            data=body,
            content_type="application/json",
            HTTP_X_RAZORPAY_SIGNATURE=signature,
            HTTP_X_RAZORPAY_EVENT_ID=event_id,
        )

    assert reverse("billing_webhooks:razorpay") == WEBHOOK_URL
    return post
