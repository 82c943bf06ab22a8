"""Staff adjustments: a balanced entry against the platform adjustments account, with an audit trail."""

import pytest
from django.db.models import Sum

from wallet.errors import (
    AdjustmentRefused,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    ReservationClosed,
    ReservationOwned,
)
from wallet.models import AccountKind, EntryKind, ReservationStatus
from wallet.services import platform_account, reservation_release, wallet_adjust
from wallet.tests.factories import (
    UserFactory,
    balances,
    funded_wallet,
    ledger_rows,
    reserve,
    wallet_for,
)

pytestmark = pytest.mark.django_db


def test_staff_credit_posts_an_adjustment_entry_with_who_and_why(staff):
    # given
    wallet = wallet_for()
    adjustments = platform_account(AccountKind.PLATFORM_ADJUSTMENTS)
    # when
    entry = wallet_adjust(
        user=wallet.user,
        amount_paise=5_000,
        reason="Goodwill for outage #42",
        acting_user=staff,
        idempotency_key="adj-1",
    )
    # then
    assert balances(wallet.available, adjustments) == [5_000, -5_000]
    assert entry.kind == EntryKind.ADJUSTMENT
    assert entry.acting_user == staff
    assert entry.memo == "Adjustment (credit): Goodwill for outage #42"
    assert entry.metadata == {
        "reason": "Goodwill for outage #42",
        "user": wallet.user.pk,
        "acting_user": staff.pk,
    }
    assert entry.postings.aggregate(total=Sum("amount_paise")) == {"total": 0}


def test_staff_debit_takes_money_back(staff):
    wallet = funded_wallet(10_000)

    wallet_adjust(
        user=wallet.user,
        amount_paise=-2_500,
        reason="Duplicate top-up",
        acting_user=staff,
        idempotency_key="adj-1",
    )

    adjustments = platform_account(AccountKind.PLATFORM_ADJUSTMENTS)
    assert balances(wallet.available, adjustments) == [7_500, 2_500]


def test_a_debit_cannot_take_a_wallet_below_zero(staff):
    wallet = funded_wallet(1_000)
    before = ledger_rows()

    with pytest.raises(InsufficientFunds):
        wallet_adjust(
            user=wallet.user,
            amount_paise=-1_001,
            reason="Too much",
            acting_user=staff,
            idempotency_key="adj-1",
        )

    assert ledger_rows() == before
    assert balances(wallet.available) == [1_000]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(staff, reason):
    wallet = wallet_for()

    with pytest.raises(AdjustmentRefused):
        wallet_adjust(
            user=wallet.user,
            amount_paise=100,
            reason=reason,
            acting_user=staff,
            idempotency_key="a",
        )

    assert ledger_rows() == (0, 0, 0)


def test_only_staff_can_adjust():
    wallet = wallet_for()
    customer = UserFactory()

    with pytest.raises(AdjustmentRefused):
        wallet_adjust(
            user=wallet.user,
            amount_paise=100,
            reason="x",
            acting_user=customer,
            idempotency_key="a",
        )

    assert balances(wallet.available) == [0]


@pytest.mark.parametrize("amount", [0, 1.5, True, 10**13, -(10**13)])
def test_bad_amounts_are_refused(staff, amount):
    wallet = wallet_for()

    with pytest.raises(InvalidAmount):
        wallet_adjust(
            user=wallet.user,
            amount_paise=amount,
            reason="x",
            acting_user=staff,
            idempotency_key="a",
        )

    assert ledger_rows() == (0, 0, 0)


def test_a_double_submitted_form_adjusts_once_and_a_changed_one_conflicts(staff):
    wallet = wallet_for()
    kwargs = dict(user=wallet.user, reason="Refund", acting_user=staff, idempotency_key="form-1")

    first = wallet_adjust(amount_paise=700, **kwargs)
    again = wallet_adjust(amount_paise=700, **kwargs)
    with pytest.raises(IdempotencyConflict):
        wallet_adjust(amount_paise=900, **kwargs)

    assert again.pk == first.pk
    assert balances(wallet.available) == [700]


def test_staff_release_a_pending_reservation_once(staff):
    wallet = funded_wallet(5_000)
    reservation = reserve(wallet, 2_000, purpose="manual hold")

    released = reservation_release(reservation_id=reservation.pk, acting_user=staff, reason="stuck")
    with pytest.raises(ReservationClosed):
        reservation_release(reservation_id=reservation.pk, acting_user=staff)

    assert released.status == ReservationStatus.VOIDED
    assert released.resolve_entry.acting_user == staff
    assert released.resolve_entry.memo == "Released by staff: stuck"
    assert balances(wallet.available, wallet.reserved) == [5_000, 0]


@pytest.mark.parametrize("purpose", ["withdrawal", "order", "metered session 7"])
def test_staff_cannot_release_money_a_flow_still_waits_on(staff, purpose):
    wallet = funded_wallet(5_000)
    reservation = reserve(wallet, 2_000, purpose=purpose)

    with pytest.raises(ReservationOwned, match="instead"):
        reservation_release(reservation_id=reservation.pk, acting_user=staff)

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.PENDING
    assert balances(wallet.available, wallet.reserved) == [3_000, 2_000]
