"""Webhooks out: outbox rows with the change, signed delivery, backoff, failure, replay, SSRF."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace import services
from marketplace.models import WebhookAttempt, WebhookDelivery
from marketplace.services import keys, webhooks
from marketplace.services.webhooks import webhook_deliver
from marketplace.tests.factories import VendorFactory, fund, usage_plan

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on 127.0.0.1 that fails `fail_times` times, then answers 200."""

    def __init__(self, fail_times=0):
        self.fail_times = fail_times
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.fail_times
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"boom" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(fail_times=0):
        made.append(Receiver(fail_times))
        return made[-1]

    yield make
    for r in made:
        r.close()


def verify(header: str, body: bytes, secret: str, now: int, tolerance: int = 300) -> bool:
    """An independent receiver-side check, written from docs/webhooks.md."""
    items = [part.split("=", 1) for part in header.split(",")]
    t = int(next(v for k, v in items if k == "t"))
    if abs(now - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in items if k == "v1")


def due_now(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_purchase_writes_pass_purchased_to_the_outbox_in_its_transaction(buyer):
    vendor = VendorFactory()
    endpoint, _ = webhooks.webhook_endpoint_create(
        vendor=vendor, url="https://example.com/hook", events=["pass.purchased"]
    )
    fund(buyer, 100_000)

    purchase = services.pass_purchase(
        buyer=buyer, plan=usage_plan(service__vendor=vendor), idempotency_key="k"
    )

    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.event_type, delivery.status) == (
        endpoint,
        "pass.purchased",
        "pending",
    )
    assert delivery.payload["purchase_id"] == purchase.pk
    assert delivery.event_id.startswith("evt_")


def test_unsubscribed_events_are_not_written(buyer):
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(
        vendor=vendor, url="https://example.com/hook", events=["pass.refunded"]
    )
    fund(buyer, 100_000)

    services.pass_purchase(
        buyer=buyer, plan=usage_plan(service__vendor=vendor), idempotency_key="k"
    )

    assert WebhookDelivery.objects.count() == 0


def test_delivery_is_signed_and_verifiable_also_during_rotation(receiver):
    r = receiver()
    endpoint, old_secret = webhooks.webhook_endpoint_create(vendor=VendorFactory(), url=r.url)
    new_secret = webhooks.webhook_secret_rotate(endpoint=endpoint)
    webhooks.webhook_event_record(
        vendor_id=endpoint.vendor_id, event_type="usage.recorded", data={"units": 3}
    )
    delivery = WebhookDelivery.objects.get()

    assert webhook_deliver(delivery_id=delivery.pk) == "delivered"

    headers, body = r.requests[0]
    now = int(timezone.now().timestamp())
    assert verify(headers["FlexPass-Signature"], body, new_secret, now)
    assert verify(headers["FlexPass-Signature"], body, old_secret, now)
    assert not verify(headers["FlexPass-Signature"], body + b" ", new_secret, now)
    assert not verify(headers["FlexPass-Signature"], body, new_secret, now + 301)
    assert json.loads(body) == {
        "id": delivery.event_id,
        "type": "usage.recorded",
        "created": int(delivery.created_at.timestamp()),
        "data": {"units": 3},
    }


def test_a_failing_receiver_is_retried_with_growing_backoff_then_succeeds(receiver, settings):
    r = receiver(fail_times=3)
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=VendorFactory(), url=r.url)
    webhooks.webhook_event_record(
        vendor_id=endpoint.vendor_id, event_type="pass.expired", data={"pass_id": 1}
    )
    delivery = WebhookDelivery.objects.get()
    delays = []

    for _ in range(3):
        before = timezone.now()
        assert webhook_deliver(delivery_id=delivery.pk) == "pending"
        delivery.refresh_from_db()
        delays.append((delivery.next_attempt_at - before).total_seconds())
        due_now(delivery)
    final = webhook_deliver(delivery_id=delivery.pk)

    assert final == "delivered"
    assert delays[0] < delays[1] < delays[2]
    base = settings.WEBHOOK_BACKOFF_BASE_SECONDS
    assert base * 0.75 <= delays[0] <= base * 1.25
    log = list(WebhookAttempt.objects.values_list("status_code", "response_excerpt"))
    assert log == [(500, "boom")] * 3 + [(200, "ok")]
    assert len({h["FlexPass-Event-Id"] for h, _ in r.requests}) == 1


def test_a_delivery_not_yet_due_is_not_sent(receiver):
    r = receiver()
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=VendorFactory(), url=r.url)
    webhooks.webhook_event_record(vendor_id=endpoint.vendor_id, event_type="pass.expired", data={})
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + timezone.timedelta(hours=1))

    assert webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk) == "skipped"
    assert r.requests == []


def test_after_the_last_attempt_it_fails_and_replay_delivers_it(receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    r = receiver(fail_times=2)
    vendor = VendorFactory()
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=vendor, url=r.url)
    webhooks.webhook_event_record(vendor_id=vendor.pk, event_type="pass.expired", data={})
    delivery = WebhookDelivery.objects.get()
    webhook_deliver(delivery_id=delivery.pk)
    due_now(delivery)

    assert webhook_deliver(delivery_id=delivery.pk) == "failed"

    secret = keys.api_key_create(vendor=vendor, mode="live").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(f"/api/v1/vendor/webhooks/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 202
    assert response.json() == {"replayed": 1}
    assert webhook_deliver(delivery_id=delivery.pk) == "delivered"
    assert WebhookAttempt.objects.count() == 3


def test_replay_of_another_vendors_delivery_is_404(receiver):
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=VendorFactory(), url="https://x.test/")
    webhooks.webhook_event_record(vendor_id=endpoint.vendor_id, event_type="pass.expired", data={})
    WebhookDelivery.objects.update(status="failed")

    with pytest.raises(webhooks.NotFound):
        webhooks.webhook_replay(
            vendor=VendorFactory(), delivery_id=WebhookDelivery.objects.get().pk
        )
    assert WebhookDelivery.objects.get().status == "failed"


def test_private_targets_are_refused_when_the_guard_is_on(receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    r = receiver()
    endpoint, _ = webhooks.webhook_endpoint_create(vendor=VendorFactory(), url=r.url)
    webhooks.webhook_event_record(vendor_id=endpoint.vendor_id, event_type="pass.expired", data={})

    assert webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk) == "pending"

    assert r.requests == []
    assert "non-public" in WebhookAttempt.objects.get().error


def test_endpoint_urls_must_be_http_or_https():
    vendor = VendorFactory()
    secret = keys.api_key_create(vendor=vendor, mode="live").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    bad = client.post(
        "/api/v1/vendor/webhooks/endpoints/", {"url": "ftp://example.com/x"}, format="json"
    )
    good = client.post(
        "/api/v1/vendor/webhooks/endpoints/",
        {"url": "https://example.com/x", "events": ["usage.recorded"]},
        format="json",
    )

    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_webhook_url"
    assert good.status_code == 201
    assert good.json()["secret"].startswith("whsec_")
    assert vendor.webhook_endpoints.count() == 1


@pytest.mark.parametrize("url", ["http://[::1", "http://example.com:99999/", "http://e.com:x/"])
def test_endpoint_urls_that_do_not_parse_are_refused(url):
    vendor = VendorFactory()
    secret = keys.api_key_create(vendor=vendor, mode="live").secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post("/api/v1/vendor/webhooks/endpoints/", {"url": url}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_webhook_url")
    assert vendor.webhook_endpoints.count() == 0
