"""Reconciliation asks the gateway about top-ups nobody heard back about."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services, tasks
from billing.errors import GatewayUnavailable
from billing.gateways.simulated import SimulatedRazorpay
from billing.models import TopUp, TopUpStatus
from billing.tests.factories import available, new_key, pay
from wallet.models import JournalEntry

pytestmark = pytest.mark.django_db


def topup_aged(user, minutes: int, amount_paise: int = 50_000) -> TopUp:
    topup = services.topup_create(
        user=user, amount_paise=amount_paise, idempotency_key=new_key("topup")
    )
    TopUp.objects.filter(pk=topup.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))
    topup.refresh_from_db()
    return topup


def status_of(topup) -> str:
    topup.refresh_from_db()
    return topup.status


def test_a_paid_topup_we_never_heard_about_is_credited(user):
    topup = topup_aged(user, minutes=10)
    pay(topup)  # the payer paid, but neither the browser nor the webhook reached us

    counts = services.topups_reconcile()

    assert counts == {"captured": 1}
    topup.refresh_from_db()
    assert (topup.status, topup.captured_via) == (TopUpStatus.CAPTURED, "reconcile")
    assert available(user) == 50_000


def test_running_twice_credits_once_and_then_finds_nothing(user):
    topup = topup_aged(user, minutes=10)
    pay(topup)

    first = services.topups_reconcile()
    second = services.topups_reconcile()

    assert (first, second) == ({"captured": 1}, {})
    assert available(user) == 50_000
    assert JournalEntry.objects.filter(idempotency_key=f"topup:{topup.pk}:capture").count() == 1


def test_recent_topups_are_left_alone(user):
    topup = topup_aged(user, minutes=2)
    pay(topup)

    assert services.topups_reconcile() == {}
    assert status_of(topup) == TopUpStatus.CREATED


def test_unpaid_topups_expire_only_after_the_expiry_window(user):
    young = topup_aged(user, minutes=10)
    stale = topup_aged(user, minutes=31)
    pending = topup_aged(user, minutes=45)
    TopUp.objects.filter(pk=pending.pk).update(status=TopUpStatus.PENDING)

    counts = services.topups_reconcile()

    assert counts == {"unchanged": 1, "expired": 2}
    assert (status_of(young), status_of(stale), status_of(pending)) == (
        TopUpStatus.CREATED,
        TopUpStatus.EXPIRED,
        TopUpStatus.EXPIRED,
    )
    # the second run asks about the expired two again (a late capture), and changes nothing
    assert services.topups_reconcile() == {"unchanged": 3}
    assert available(user) == 0


def test_a_failed_attempt_expires_like_an_unpaid_order(user):
    topup = topup_aged(user, minutes=40)
    pay(topup, "fail")

    assert services.topups_reconcile() == {"expired": 1}
    assert available(user) == 0


def test_a_capture_arriving_after_expiry_is_still_credited(user):
    topup = topup_aged(user, minutes=40)
    services.topups_reconcile()
    assert status_of(topup) == TopUpStatus.EXPIRED
    fields = pay(topup)  # the gateway took the money after we stopped waiting

    services.topup_confirm_return(
        user=user,
        topup_id=topup.pk,
        payment_id=fields["razorpay_payment_id"],
        signature=fields["razorpay_signature"],
    )

    assert status_of(topup) == TopUpStatus.CAPTURED
    assert available(user) == 50_000


@pytest.mark.parametrize("first_attempt", ["fail", "none"])
def test_a_late_capture_nobody_told_us_about_is_credited(user, first_attempt):
    # given a top-up that failed (or expired unpaid), then was paid on the same order,
    # with neither the webhook nor the browser reaching us
    topup = topup_aged(user, minutes=40)
    if first_attempt == "fail":
        pay(topup, "fail")
    services.topups_reconcile()
    assert status_of(topup) == TopUpStatus.EXPIRED
    pay(topup)

    # when reconciliation runs again
    counts = services.topups_reconcile()

    # then the money the gateway took is in the wallet, once
    assert counts == {"captured": 1}
    assert status_of(topup) == TopUpStatus.CAPTURED
    assert available(user) == 50_000
    assert services.topups_reconcile() == {}


def test_gateway_outage_changes_nothing(user, monkeypatch, caplog):
    topup = topup_aged(user, minutes=40)

    def down(self, order_id):
        raise GatewayUnavailable("timeout")

    monkeypatch.setattr(SimulatedRazorpay, "fetch_order", down)

    assert services.topups_reconcile() == {"gateway_error": 1}
    assert status_of(topup) == TopUpStatus.CREATED
    assert "cannot ask the gateway" in caplog.text


def test_a_topup_whose_order_was_never_created_expires(user):
    topup = topup_aged(user, minutes=10)
    TopUp.objects.filter(pk=topup.pk).update(gateway_order_id=None)

    assert services.topups_reconcile() == {"expired": 1}


def test_the_beat_task_runs_the_reconciliation(user):
    topup = topup_aged(user, minutes=10)
    pay(topup)

    result = tasks.topups_reconcile.delay().get()

    assert result == {"captured": 1}
    assert available(user) == 50_000


def test_a_backlog_of_late_topups_larger_than_the_batch_is_asked_in_turn(user, settings):
    # given three expired top-ups, and a batch that only has room for two
    oldest, middle, newest = (topup_aged(user, minutes=40) for _ in range(3))
    services.topups_reconcile()
    assert {status_of(t) for t in (oldest, middle, newest)} == {TopUpStatus.EXPIRED}
    settings.TOPUP_RECONCILE_BATCH = 2

    # when the newest is paid after a run that asked the two oldest (nothing to find)
    assert services.topups_reconcile() == {"unchanged": 2}
    pay(newest)

    # then the next run gets to it (not the same two again), and after that the rest rotate
    assert services.topups_reconcile() == {"captured": 1, "unchanged": 1}
    assert status_of(newest) == TopUpStatus.CAPTURED
    pay(middle)
    services.topups_reconcile()
    assert status_of(middle) == TopUpStatus.CAPTURED
    assert available(user) == 100_000


def test_open_topups_the_gateway_keeps_no_answer_for_do_not_starve_the_rest(user, settings):
    # given three unpaid top-ups still inside the expiry window, and room for two a run
    oldest, middle, newest = (topup_aged(user, minutes=10) for _ in range(3))
    settings.TOPUP_RECONCILE_BATCH = 2
    assert services.topups_reconcile() == {"unchanged": 2}

    # when the newest is paid and nobody tells us
    pay(newest)

    # then the next run asks it (not the two oldest again), and the run after the others
    assert services.topups_reconcile() == {"captured": 1, "unchanged": 1}
    assert status_of(newest) == TopUpStatus.CAPTURED
    pay(oldest)
    pay(middle)
    services.topups_reconcile()
    assert {status_of(oldest), status_of(middle)} == {TopUpStatus.CAPTURED}
    assert available(user) == 150_000


def test_a_topup_just_expired_is_first_in_line_for_late_captures(user, settings):
    # given two expired top-ups already asked about, and an open one asked while open
    asked = [topup_aged(user, minutes=40) for _ in range(2)]
    assert services.topups_reconcile() == {"expired": 2}
    assert services.topups_reconcile() == {"unchanged": 2}  # asked as late ones
    fresh = topup_aged(user, minutes=20)
    settings.TOPUP_RECONCILE_BATCH = 1
    assert services.topups_reconcile() == {"unchanged": 1}  # the open one, still in its window

    # when it expires unpaid, and the payer pays the same order after all
    TopUp.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(minutes=40))
    assert services.topups_reconcile() == {"expired": 1}
    pay(fresh)

    # then the next run asks it first, not after the ones asked before it
    assert services.topups_reconcile() == {"captured": 1}
    assert [status_of(t) for t in asked] == [TopUpStatus.EXPIRED] * 2
