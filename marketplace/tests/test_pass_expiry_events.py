"""pass.expired webhook events: one per pass, in the expiring transaction, job or lazy read."""

import threading
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from marketplace import selectors, services, tasks
from marketplace.models import Pass, PassStatus, WebhookDelivery
from marketplace.services import keys, webhooks
from marketplace.tests.factories import PlanFactory, VendorFactory, usage_plan


@pytest.fixture(autouse=True)
def _no_delivery(monkeypatch):
    # The outbox rows are what is under test; sending them is test_webhooks' business.
    monkeypatch.setattr(webhooks, "_deliver_later", lambda ids: None)


def _overdue_passes(vendor, count, *, ago=timedelta(minutes=1)):
    """`count` time passes of `vendor` (test passes, owned by the vendor) that ended `ago`."""
    plan = PlanFactory(service__vendor=vendor)
    passes = [keys.test_pass_mint(vendor=vendor, plan=plan) for _ in range(count)]
    Pass.objects.filter(pk__in=[p.pk for p in passes]).update(expires_at=timezone.now() - ago)
    return passes


def _expired_events():
    return list(
        WebhookDelivery.objects.filter(event_type="pass.expired").values_list(
            "payload__pass_id", flat=True
        )
    )


@pytest.mark.django_db
def test_the_expiry_job_writes_one_pass_expired_event_per_pass():
    # given a vendor subscribed to pass.expired with two overdue passes and one still running
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    a, b = _overdue_passes(vendor, 2)
    running = keys.test_pass_mint(vendor=vendor, plan=PlanFactory(service__vendor=vendor))

    # when the job runs twice
    assert tasks.passes_expire() == 2
    assert tasks.passes_expire() == 0

    # then each overdue pass is expired and has exactly one event
    assert sorted(_expired_events()) == sorted([a.pk, b.pk])
    delivery = WebhookDelivery.objects.get(payload__pass_id=a.pk)
    a.refresh_from_db()
    assert delivery.payload == {
        "pass_id": a.pk,
        "plan_id": a.plan_id,
        "service_id": a.service_id,
        "purchase_id": None,
        "expired_at": DjangoJSONEncoder().default(a.expires_at),
        "test": True,
    }
    assert a.status == PassStatus.EXPIRED
    running.refresh_from_db()
    assert running.status == PassStatus.ACTIVE


@pytest.mark.django_db
def test_the_lazy_expiry_on_read_writes_the_event_and_the_job_does_not_repeat_it():
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    (p,) = _overdue_passes(vendor, 1)

    # when the owner reads their passes (lazy expiry), then the job runs
    list(selectors.passes_for_owner(owner=vendor.user, tab="expired"))
    assert services.passes_expire() == 0

    assert _expired_events() == [p.pk]


@pytest.mark.django_db
def test_reading_one_pass_expires_it_with_its_event():
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    (p,) = _overdue_passes(vendor, 1)

    seen = selectors.access_pass(user=vendor.user, pass_id=p.pk)

    assert seen.status == PassStatus.EXPIRED
    assert _expired_events() == [p.pk]


@pytest.mark.django_db
def test_used_up_revoked_and_unsubscribed_passes_get_no_expired_event():
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(
        vendor=vendor, url="https://example.com/h", events=["usage.recorded"]
    )
    other = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=other, url="https://example.com/o")
    revoked, unsubscribed = _overdue_passes(other, 1)[0], _overdue_passes(vendor, 1)[0]
    Pass.objects.filter(pk=revoked.pk).update(status=PassStatus.REVOKED)
    spent = keys.test_pass_mint(vendor=other, plan=usage_plan(service__vendor=other, units=2))
    Pass.objects.filter(pk=spent.pk).update(units_left=0)

    assert services.passes_expire() == 2  # unsubscribed expired, spent used up

    assert _expired_events() == []
    assert Pass.objects.get(pk=unsubscribed.pk).status == PassStatus.EXPIRED
    assert Pass.objects.get(pk=spent.pk).status == PassStatus.USED_UP
    assert Pass.objects.get(pk=revoked.pk).status == PassStatus.REVOKED


@pytest.mark.django_db
def test_a_large_backlog_is_expired_in_batches(monkeypatch):
    monkeypatch.setattr(services.passes, "EXPIRE_BATCH", 3)
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/h")
    passes = _overdue_passes(vendor, 7)

    assert services.passes_expire() == 7

    assert sorted(_expired_events()) == sorted(p.pk for p in passes)


@pytest.mark.django_db(transaction=True)
def test_job_and_lazy_reads_racing_write_exactly_one_event_per_pass():
    # given 60 overdue passes of one owner, two endpoints subscribed
    vendor = VendorFactory()
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/a")
    webhooks.webhook_endpoint_create(vendor=vendor, url="https://example.com/b")
    passes = _overdue_passes(vendor, 60)
    barrier = threading.Barrier(8)
    counts, errors = [], []

    def run(lazy: bool):
        try:
            barrier.wait()
            counts.append(services.passes_expire(owner_id=vendor.user.pk if lazy else None))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            errors.append(exc)
        finally:
            connection.close()

    # when four expiry jobs and four lazy reads run at once
    threads = [threading.Thread(target=run, args=(i % 2 == 0,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then every pass was expired by exactly one of them, with one event per endpoint
    assert errors == []
    assert sum(counts) == 60
    events = _expired_events()
    assert len(events) == 120
    assert sorted(set(events)) == sorted(p.pk for p in passes)
    assert all(events.count(p.pk) == 2 for p in passes)
    assert not Pass.objects.filter(status=PassStatus.ACTIVE).exists()
