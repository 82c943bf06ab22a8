"""Two-phase reservations: reserve, then settle (fully or partly) or void, exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from wallet.errors import InsufficientFunds, InvalidAmount, ReservationClosed
from wallet.models import EntryKind, JournalEntry, Reservation, ReservationStatus
from wallet.services import Leg, reservations_expire_overdue
from wallet.tests.factories import balances, funded_wallet, ledger_rows, reserve, settle, void

pytestmark = pytest.mark.django_db


def test_reserve_moves_money_from_available_to_reserved():
    wallet = funded_wallet(10_000)

    reservation = reserve(wallet, 4_000, key="r1")

    assert balances(wallet.available, wallet.reserved) == [6_000, 4_000]
    assert reservation.status == ReservationStatus.PENDING
    assert reservation.amount_paise == 4_000
    assert reservation.reserve_entry.kind == EntryKind.RESERVE


def test_reserve_more_than_available_is_refused_and_nothing_changes():
    wallet = funded_wallet(1_000)
    before = ledger_rows()

    with pytest.raises(InsufficientFunds):
        reserve(wallet, 1_001)

    assert ledger_rows() == before
    assert balances(wallet.available, wallet.reserved) == [1_000, 0]


def test_reserve_replay_with_the_same_key_returns_the_same_reservation():
    wallet = funded_wallet(10_000)

    first = reserve(wallet, 4_000, key="r1")
    again = reserve(wallet, 4_000, key="r1")

    assert again.pk == first.pk
    assert Reservation.objects.count() == 1
    assert balances(wallet.available, wallet.reserved) == [6_000, 4_000]


def test_settle_in_full_pays_the_payee(vendor_payable):
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)

    settle(reservation, [Leg(vendor_payable, 4_000)])

    reservation.refresh_from_db()
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [6_000, 0, 4_000]
    assert (reservation.status, reservation.settled_paise) == (ReservationStatus.SETTLED, 4_000)
    assert reservation.resolve_entry.kind == EntryKind.SETTLE


def test_settle_in_part_returns_the_rest_to_available(vendor_payable):
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)

    settle(reservation, [Leg(vendor_payable, 1_500)])

    reservation.refresh_from_db()
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [8_500, 0, 1_500]
    assert (reservation.status, reservation.settled_paise) == (ReservationStatus.SETTLED, 1_500)


def test_settle_more_than_reserved_is_refused_and_nothing_changes(vendor_payable):
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)
    before = ledger_rows()

    with pytest.raises(InvalidAmount):
        settle(reservation, [Leg(vendor_payable, 4_001)])

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.PENDING
    assert ledger_rows() == before
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [6_000, 4_000, 0]


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_settle_with_a_bad_amount_leaves_the_reservation_pending(vendor_payable, amount):
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)

    with pytest.raises(InvalidAmount):
        settle(reservation, [Leg(vendor_payable, amount)])

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.PENDING
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [6_000, 4_000, 0]


def test_void_returns_everything_to_available():
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)

    void(reservation)

    reservation.refresh_from_db()
    assert balances(wallet.available, wallet.reserved) == [10_000, 0]
    assert reservation.status == ReservationStatus.VOIDED
    assert reservation.resolve_entry.kind == EntryKind.VOID


@pytest.mark.parametrize("first", ["settle", "void"])
@pytest.mark.parametrize("second", ["settle", "void"])
def test_a_reservation_resolves_only_once(vendor_payable, first, second):
    # given a reservation that was settled or voided
    wallet = funded_wallet(10_000)
    reservation = reserve(wallet, 4_000)
    resolve = {"settle": lambda r: settle(r, [Leg(vendor_payable, 1_000)]), "void": void}
    resolve[first](Reservation.objects.get(pk=reservation.pk))
    after_first = balances(wallet.available, wallet.reserved, vendor_payable)
    rows = ledger_rows()
    # when it is resolved again
    with pytest.raises(ReservationClosed):
        resolve[second](Reservation.objects.get(pk=reservation.pk))
    # then nothing changed
    assert balances(wallet.available, wallet.reserved, vendor_payable) == after_first
    assert ledger_rows() == rows


def test_expiry_job_voids_overdue_reservations_only():
    # given one overdue, one not yet due and one without expiry
    wallet = funded_wallet(10_000)
    now = timezone.now()
    overdue = reserve(wallet, 1_000, expires_at=now - timedelta(seconds=1))
    later = reserve(wallet, 2_000, expires_at=now + timedelta(minutes=5))
    forever = reserve(wallet, 3_000)
    # when the job runs
    expired = reservations_expire_overdue(now=now)
    # then only the overdue one went back to available
    assert expired == 1
    statuses = dict(Reservation.objects.values_list("pk", "status"))
    assert statuses == {
        overdue.pk: ReservationStatus.EXPIRED,
        later.pk: ReservationStatus.PENDING,
        forever.pk: ReservationStatus.PENDING,
    }
    assert balances(wallet.available, wallet.reserved) == [5_000, 5_000]


def test_expiry_job_is_safe_to_run_twice():
    wallet = funded_wallet(10_000)
    now = timezone.now()
    reserve(wallet, 1_000, expires_at=now - timedelta(minutes=1))
    reserve(wallet, 2_000, expires_at=now - timedelta(minutes=2))

    first = reservations_expire_overdue(now=now)
    entries = JournalEntry.objects.count()
    second = reservations_expire_overdue(now=now)

    assert (first, second) == (2, 0)
    assert JournalEntry.objects.count() == entries
    assert balances(wallet.available, wallet.reserved) == [10_000, 0]


def test_expiry_does_not_touch_a_reservation_settled_meanwhile(vendor_payable):
    wallet = funded_wallet(10_000)
    now = timezone.now()
    reservation = reserve(wallet, 1_000, expires_at=now - timedelta(minutes=1))
    settle(reservation, [Leg(vendor_payable, 1_000)])

    assert reservations_expire_overdue(now=now) == 0
    assert balances(wallet.available, wallet.reserved, vendor_payable) == [9_000, 0, 1_000]
