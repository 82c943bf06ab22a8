"""Usage ingest does a fixed number of statements per batch, whatever its size."""

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flexpass import ratelimit
from flexpass.testing import cache_clear
from marketplace import services
from marketplace.models import Pass, UsageEvent, WebhookDelivery
from marketplace.services import keys, usage, webhooks
from marketplace.tests.factories import VendorFactory, fund, usage_plan

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/vendor/usage/batch/"


@pytest.fixture(autouse=True)
def _fresh_limits():
    ratelimit.reset_local()
    cache_clear()


@pytest.fixture
def vendor():
    return VendorFactory()


def _pass(buyer, vendor, units, key="k"):
    fund(buyer, 100_000)
    services.pass_purchase(
        buyer=buyer, plan=usage_plan(service__vendor=vendor, units=units), idempotency_key=key
    )
    return Pass.objects.filter(owner=buyer).first()


def test_a_thousand_events_cost_the_same_statements_as_ten(
    vendor, buyer, django_assert_num_queries
):
    # given a usage pass with plenty of units and a subscribed webhook endpoint
    p = _pass(buyer, vendor, 100_000)
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    key = keys.api_key_create(vendor=vendor, mode="live").key

    def batch(prefix, n):
        return [usage.EventIn(f"{prefix}{i}", p.token, 1) for i in range(n)]

    # when 10 and then 1,000 events are ingested:
    # passes read, claim INSERT, conditional UPDATE, endpoints read, outbox INSERT
    # (+ the test transaction's SAVEPOINT and RELEASE)
    with django_assert_num_queries(7):
        small = usage.usage_ingest(key=key, events=batch("s", 10))
    with django_assert_num_queries(7):
        big = usage.usage_ingest(key=key, events=batch("b", 1000))

    # then every event was accepted with the units left after it
    assert small.count("accepted") == 10
    assert big.count("accepted") == 1000
    assert [r.units_left for r in big.results[:3]] == [99_989, 99_988, 99_987]
    p.refresh_from_db()
    assert p.units_left == 100_000 - 1_010
    assert UsageEvent.objects.count() == 1_010
    assert WebhookDelivery.objects.filter(event_type="usage.recorded").count() == 2


def test_events_on_several_passes_each_take_their_own_units(vendor, buyer):
    a = _pass(buyer, vendor, 5, key="a")
    b = Pass.objects.get(
        pk=services.pass_purchase(
            buyer=buyer, plan=usage_plan(service__vendor=vendor, units=3), idempotency_key="b"
        ).pass_obj.pk
    )
    key = keys.api_key_create(vendor=vendor, mode="live").key
    events = [usage.EventIn(f"e{i}", (a, b)[i % 2].token, 1) for i in range(10)]

    outcome = usage.usage_ingest(key=key, events=events)

    # a takes e0, e2, e4, e6, e8 (5 of 5); b takes e1, e3, e5 and refuses e7, e9
    statuses = [r.status for r in outcome.results]
    assert statuses == ["accepted"] * 7 + ["refused", "accepted", "refused"]
    assert [outcome.results[i].reason for i in (7, 9)] == ["insufficient_units"] * 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.units_left, a.status, b.units_left, b.status) == (0, "used_up", 0, "used_up")
    assert UsageEvent.objects.count() == 8  # the refused claims were dropped


def test_units_beyond_the_integer_column_are_refused_not_a_500(vendor, buyer):
    p = _pass(buyer, vendor, 10)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {keys.api_key_create(vendor=vendor, mode='live').secret}"
    )

    response = client.post(
        BATCH,
        {"events": [{"event_id": "huge", "pass_token": p.token, "units": 2**40}]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"event_id": "huge", "status": "refused", "reason": "units_too_large"}
    ]
    assert UsageEvent.objects.count() == 0


def test_any_event_id_and_timestamp_are_stored_exactly(vendor, buyer):
    p = _pass(buyer, vendor, 10)
    key = keys.api_key_create(vendor=vendor, mode="live").key
    at = timezone.now().astimezone(ZoneInfo("Asia/Kolkata")).replace(microsecond=123456)
    odd = ['ünï-😀-"quote"\\', "tab\there", "comma,{brace}", "'single'", "a" * 255]

    outcome = usage.usage_ingest(key=key, events=[usage.EventIn(i, p.token, 1, at) for i in odd])

    assert outcome.count("accepted") == 5
    stored = dict(UsageEvent.objects.values_list("event_id", "occurred_at"))
    assert sorted(stored) == sorted(odd)
    assert set(stored.values()) == {at}
