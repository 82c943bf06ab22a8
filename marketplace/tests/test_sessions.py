"""Metered sessions: block reservations, exact settlement, auto-stop, stale close, arithmetic."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from marketplace.models import MeteredSession
from marketplace.services import keys, sessions
from marketplace.services.sessions import SessionStopped, block_paise, cost_paise
from marketplace.tests.factories import (
    VendorFactory,
    assert_ledger_balanced,
    balance,
    fund,
    metered_plan,
)
from wallet.errors import InsufficientFunds
from wallet.models import Reservation
from wallet.services import vendor_payable_account, wallet_ensure

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def vendor():
    return VendorFactory()


@pytest.fixture
def per_minute(vendor):
    return metered_plan(service__vendor=vendor, metered_rate_paise=200, metered_unit="minute")


def at(seconds):
    return T0 + timedelta(seconds=seconds)


@given(
    rate=st.integers(min_value=1, max_value=10_000),
    seconds=st.integers(min_value=0, max_value=10 * 24 * 3600),
)
def test_cost_is_rate_times_duration_rounded_as_documented(rate, seconds):
    assert cost_paise(rate_paise=rate, unit="second", seconds=seconds) == rate * seconds
    minutes = seconds // 60 + (1 if seconds % 60 else 0)
    assert cost_paise(rate_paise=rate, unit="minute", seconds=seconds) == rate * minutes
    assert cost_paise(rate_paise=rate, unit="call", seconds=seconds, calls=7) == rate * 7


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rate=st.integers(min_value=1, max_value=50),
    beats=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=8),
    funds=st.integers(min_value=0, max_value=60_000),
)
def test_reservation_covers_the_next_block_or_the_session_stops(
    django_db_blocker, rate, beats, funds
):
    # hypothesis + the db: each example in its own savepoint, rolled back
    from django.db import transaction

    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                _example(rate, beats, funds)
                raise _Rollback
        except _Rollback:
            pass


class _Rollback(Exception):
    pass


def _example(rate, beats, funds):
    from accounts.tests.factories import UserFactory

    user = UserFactory()
    plan = metered_plan(metered_rate_paise=rate, metered_unit="second")
    block = block_paise(rate_paise=rate, unit="second")
    fund(user, block + funds)
    session = sessions.session_start.__wrapped__(user=user, plan=plan, now=at(0))
    t = 0
    for step in beats:
        t += step
        event = sessions.session_heartbeat.__wrapped__(
            session_id=session.pk, vendor_id=plan.service.vendor_id, now=at(t)
        )
        session.refresh_from_db()
        if event["status"] == "stopped":
            assert session.stop_reason == "insufficient_funds"
            assert session.cost_paise == min(rate * t, session.reserved_paise)
            return
        assert session.reserved_paise >= rate * (t + 300)
        assert event["cost_paise"] == min(rate * t, session.reserved_paise)


def test_stop_settles_the_exact_cost_and_returns_the_rest(vendor, per_minute, buyer):
    fund(buyer, 10_000)
    session = sessions.session_start(user=buyer, plan=per_minute, now=at(0))
    assert balance(wallet_ensure(user=buyer).available) == 10_000 - 1_000  # 5 min x ₹2

    sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(200))
    stopped = sessions.session_stop(session_id=session.pk, user=buyer, now=at(301))

    assert (stopped.status, stopped.stop_reason, stopped.cost_paise) == (
        "stopped",
        "stopped_by_user",
        1_200,  # 6 started minutes
    )
    assert balance(wallet_ensure(user=buyer).available) == 10_000 - 1_200
    assert balance(wallet_ensure(user=buyer).reserved) == 0
    assert balance(vendor_payable_account(vendor.user)) == 1_080  # 10 % platform fee
    assert set(Reservation.objects.values_list("status", flat=True)) <= {"settled", "voided"}
    assert_ledger_balanced()


def test_start_without_funds_for_the_first_block_is_refused(per_minute, buyer):
    fund(buyer, 999)

    with pytest.raises(InsufficientFunds):
        sessions.session_start(user=buyer, plan=per_minute, now=at(0))

    assert MeteredSession.objects.count() == 0
    assert balance(wallet_ensure(user=buyer).available) == 999


def test_a_block_that_cannot_be_reserved_stops_the_session(vendor, per_minute, buyer):
    fund(buyer, 1_500)  # one block (₹10) and half of the next
    session = sessions.session_start(user=buyer, plan=per_minute, now=at(0))

    event = sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(60))

    assert (event["status"], event["stop_reason"], event["cost_paise"]) == (
        "stopped",
        "insufficient_funds",
        200,
    )
    assert balance(wallet_ensure(user=buyer).available) == 1_300
    with pytest.raises(SessionStopped):
        sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(61))
    assert balance(wallet_ensure(user=buyer).available) == 1_300


def test_stale_sessions_are_closed_billed_to_the_last_heartbeat(vendor, per_minute, buyer):
    fund(buyer, 10_000)
    session = sessions.session_start(user=buyer, plan=per_minute, now=at(0))
    sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(90))

    closed = sessions.sessions_close_stale(now=at(90 + 121))

    session.refresh_from_db()
    assert closed == 1
    assert (session.stop_reason, session.cost_paise) == ("heartbeat_timeout", 400)
    assert balance(wallet_ensure(user=buyer).available) == 9_600


def test_a_session_whose_block_went_back_still_stops_and_others_close_too(
    vendor, per_minute, buyer
):
    # given two stale sessions, the first one's block voided elsewhere (gone back to the user)
    from wallet.services import money_transaction, reservation_void

    fund(buyer, 10_000)
    first = sessions.session_start(user=buyer, plan=per_minute, now=at(0))
    second = sessions.session_start(user=buyer, plan=per_minute, now=at(0))
    block = Reservation.objects.select_related("wallet__available", "wallet__reserved").get(
        pk=first.reservations[0]
    )
    money_transaction(reservation_void)(reservation=block, memo="voided elsewhere")
    sessions.session_heartbeat(session_id=second.pk, vendor_id=vendor.pk, now=at(90))

    # when the stale-session job runs
    closed = sessions.sessions_close_stale(now=at(90 + 121))

    # then both stop: the first bills nothing (its money went back), the second its minutes
    first.refresh_from_db()
    second.refresh_from_db()
    assert closed == 2
    assert (first.status, first.cost_paise) == ("stopped", 0)
    assert (second.status, second.cost_paise) == ("stopped", 400)
    assert_ledger_balanced()


def test_low_balance_warns_once_per_crossing(vendor, per_minute, buyer, monkeypatch):
    sent = []
    monkeypatch.setattr(sessions, "notify", lambda **kw: sent.append(kw["kind"]))
    fund(buyer, 3_000)  # ₹30 = 15 minutes; after a 5-min block 10 min left
    session = sessions.session_start(user=buyer, plan=per_minute, now=at(0))

    for t in (10, 20, 30):
        sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(t))
    sessions.session_heartbeat(session_id=session.pk, vendor_id=vendor.pk, now=at(200))

    assert sent == ["low_balance"]


def test_vendor_heartbeat_and_stop_over_the_api(vendor, per_minute, buyer):
    fund(buyer, 10_000)
    session = sessions.session_start(user=buyer, plan=per_minute)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {keys.api_key_create(vendor=vendor, mode='live').secret}"
    )

    beat = client.post(f"/api/v1/vendor/sessions/{session.token}/heartbeat/")
    stop = client.post(f"/api/v1/vendor/sessions/{session.token}/stop/")
    again = client.post(f"/api/v1/vendor/sessions/{session.token}/heartbeat/")

    assert beat.status_code == 200
    assert beat.json()["status"] == "running"
    assert stop.json()["status"] == "stopped"
    assert again.status_code == 409
    assert again.json()["code"] == "session_stopped"


def test_another_vendor_cannot_touch_the_session(per_minute, buyer):
    fund(buyer, 10_000)
    session = sessions.session_start(user=buyer, plan=per_minute)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {keys.api_key_create(vendor=VendorFactory(), mode='live').secret}"
    )

    response = client.post(f"/api/v1/vendor/sessions/{session.token}/stop/")

    assert response.status_code == 404
    session.refresh_from_db()
    assert session.status == "running"
