"""The same batch posted by 10 threads at once is billed once; units never go negative."""

import threading

import pytest

from flexpass.testing import race, results_and_errors, second_waits_for_first
from marketplace import services
from marketplace.models import ApiKey, Pass, PassStatus, UsageEvent
from marketplace.services import keys, usage
from marketplace.tests.factories import VendorFactory, fund, usage_plan

pytestmark = pytest.mark.django_db(transaction=True)


def usage_pass_and_key(buyer, units: int) -> tuple[Pass, ApiKey]:
    """The buyer's `units`-unit pass, and a live API key of the vendor who sold it."""
    vendor = VendorFactory()
    fund(buyer, 100_000)
    services.pass_purchase(
        buyer=buyer, plan=usage_plan(service__vendor=vendor, units=units), idempotency_key="k"
    )
    return Pass.objects.get(), keys.api_key_create(vendor=vendor, mode="live").key


def test_ten_threads_posting_the_same_batch_bill_it_once(buyer):
    # given a 100-unit pass and a 30-event batch worth 60 units
    p, key = usage_pass_and_key(buyer, units=100)
    batch = [usage.EventIn(f"e{i}", p.token, 2) for i in range(30)]

    # when ten threads ingest it at once
    outcomes, errors = results_and_errors(
        race(10, lambda _: usage.usage_ingest(key=key, events=batch))
    )

    # then exactly one accepted everything and the others saw duplicates
    assert errors == []
    assert sorted(o.count("accepted") for o in outcomes) == [0] * 9 + [30]
    assert sorted(o.count("duplicate") for o in outcomes) == [0] + [30] * 9
    p.refresh_from_db()
    assert p.units_left == 40
    assert UsageEvent.objects.count() == 30


def test_distinct_batches_racing_for_few_units_never_go_below_zero(buyer):
    # given a 10-unit pass
    p, key = usage_pass_and_key(buyer, units=10)
    batches = iter([[usage.EventIn(f"t{t}-{i}", p.token, 1) for i in range(3)] for t in range(10)])
    lock = threading.Lock()

    def one():
        with lock:
            batch = next(batches)
        return usage.usage_ingest(key=key, events=batch)

    # when ten threads each report 3 units
    outcomes, errors = results_and_errors(race(10, lambda _: one()))

    # then exactly 10 units are accepted, none beyond
    assert errors == []
    assert sum(o.count("accepted") for o in outcomes) == 10
    p.refresh_from_db()
    assert p.units_left == 0
    assert UsageEvent.objects.count() == 10


def test_usage_read_before_a_refund_revoked_the_pass_is_refused_after_it(buyer):
    # given a 100-unit pass, and a full refund that has revoked it but not yet committed
    p, key = usage_pass_and_key(buyer, units=100)

    # when usage arrives after the revoke but before it commits (the ingest reads the
    # pass as active, then waits for its row)
    _, outcome = second_waits_for_first(
        lambda: Pass.objects.select_for_update().filter(pk=p.pk).update(status=PassStatus.REVOKED),
        lambda: usage.usage_ingest(key=key, events=[usage.EventIn("late", p.token, 5)]),
    )

    # then, once the revoke commits, the usage is refused and nothing is taken or kept
    [result] = outcome.results
    assert (result.status, result.reason) == ("refused", "pass_revoked")
    p.refresh_from_db()
    assert (p.status, p.units_left) == (PassStatus.REVOKED, 100)
    assert not UsageEvent.objects.exists()
