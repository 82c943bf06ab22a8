"""Withdrawals: reserve at once, staff approve (pay out) or reject (release), exactly once."""

import pytest

from billing import services
from billing.bank_details import account_number_hash
from billing.errors import NotAllowed, WithdrawalAlreadyReviewed, WithdrawalRefused
from billing.models import Withdrawal, WithdrawalStatus
from billing.tests.factories import (
    UserFactory,
    account_balance,
    available,
    fund,
    new_key,
    reserved,
)
from support.models import Notification
from wallet.errors import IdempotencyConflict, InsufficientFunds
from wallet.models import AccountKind, EntryKind, JournalEntry, Reservation

pytestmark = pytest.mark.django_db

BANK = {"account_holder": "Asha  Rao", "account_number": "1234 5678 9012", "ifsc": "hdfc0001234"}


def request_withdrawal(user, amount_paise=30_000, key=None, **bank) -> Withdrawal:
    return services.withdrawal_request(
        user=user,
        amount_paise=amount_paise,
        idempotency_key=key or new_key("wd"),
        **{**BANK, **bank},
    )


@pytest.fixture
def funded(user):
    fund(user, 100_000)
    return user


def test_request_reserves_the_amount_and_keeps_only_the_last_four_digits(funded):
    withdrawal = request_withdrawal(funded, 30_000)

    assert withdrawal.status == WithdrawalStatus.REQUESTED
    assert (available(funded), reserved(funded)) == (70_000, 30_000)
    assert withdrawal.account_holder == "Asha Rao"
    assert withdrawal.ifsc == "HDFC0001234"
    assert withdrawal.account_last4 == "9012"
    assert withdrawal.account_hash == account_number_hash("123456789012")
    assert "123456789012" not in str(Withdrawal.objects.filter(pk=withdrawal.pk).values().get())
    reservation = withdrawal.reservation
    assert (reservation.purpose, reservation.status, reservation.expires_at) == (
        "withdrawal",
        "pending",
        None,
    )


def test_same_key_returns_the_first_request(funded):
    first = request_withdrawal(funded, 30_000, key="w1")
    again = request_withdrawal(funded, 30_000, key="w1")

    assert again.pk == first.pk
    assert reserved(funded) == 30_000

    with pytest.raises(IdempotencyConflict):
        request_withdrawal(funded, 40_000, key="w1")
    assert reserved(funded) == 30_000


def test_approve_settles_to_the_payouts_account(funded, staff):
    withdrawal = request_withdrawal(funded, 30_000)
    payouts_before = account_balance(AccountKind.PLATFORM_PAYOUTS)

    approved = services.withdrawal_approve(withdrawal=withdrawal, acting_user=staff)

    assert approved.status == WithdrawalStatus.APPROVED
    assert (approved.reviewed_by, approved.reviewed_at is not None) == (staff, True)
    assert (available(funded), reserved(funded)) == (70_000, 0)
    assert account_balance(AccountKind.PLATFORM_PAYOUTS) == payouts_before + 30_000
    reservation = Reservation.objects.get(pk=withdrawal.reservation_id)
    assert reservation.status == "settled"
    entry = reservation.resolve_entry
    assert (entry.kind, entry.category, entry.acting_user) == (
        EntryKind.WITHDRAWAL,
        "withdrawal",
        staff,
    )


def test_reject_voids_back_to_available_with_the_reason(funded, staff):
    withdrawal = request_withdrawal(funded, 30_000)

    rejected = services.withdrawal_reject(
        withdrawal=withdrawal, acting_user=staff, reason="Name does not match the account"
    )

    assert rejected.status == WithdrawalStatus.REJECTED
    assert rejected.reason == "Name does not match the account"
    assert (available(funded), reserved(funded)) == (100_000, 0)
    assert Reservation.objects.get(pk=withdrawal.reservation_id).status == "voided"


def test_double_approve_and_approve_after_reject_are_refused(funded, staff):
    one = request_withdrawal(funded, 30_000)
    two = request_withdrawal(funded, 20_000)
    services.withdrawal_approve(withdrawal=one, acting_user=staff)
    services.withdrawal_reject(withdrawal=two, acting_user=staff, reason="Duplicate request")
    entries_before = JournalEntry.objects.count()

    with pytest.raises(WithdrawalAlreadyReviewed):
        services.withdrawal_approve(withdrawal=one, acting_user=staff)
    with pytest.raises(WithdrawalAlreadyReviewed):
        services.withdrawal_approve(withdrawal=two, acting_user=staff)
    with pytest.raises(WithdrawalAlreadyReviewed):
        services.withdrawal_reject(withdrawal=one, acting_user=staff, reason="Changed my mind")

    assert JournalEntry.objects.count() == entries_before
    assert (available(funded), reserved(funded)) == (70_000, 0)
    one.refresh_from_db()
    assert one.status == WithdrawalStatus.APPROVED


def test_a_payout_the_bank_returned_goes_back_to_the_wallet_once(funded, staff, client):
    withdrawal = services.withdrawal_approve(
        withdrawal=request_withdrawal(funded, 30_000), acting_user=staff
    )
    payouts_before = account_balance(AccountKind.PLATFORM_PAYOUTS)

    returned = services.withdrawal_return(
        withdrawal=withdrawal, acting_user=staff, reason="Account  closed"
    )

    assert (returned.status, returned.reason) == (WithdrawalStatus.RETURNED, "Account closed")
    assert (returned.reviewed_by, returned.reviewed_at) == (staff, withdrawal.reviewed_at)
    assert (available(funded), reserved(funded)) == (100_000, 0)
    assert account_balance(AccountKind.PLATFORM_PAYOUTS) == payouts_before - 30_000
    note = Notification.objects.get(user=funded, kind="withdrawal_returned")
    assert note.title == "₹300.00 came back from your bank"
    # ... once: a second return, or one for a withdrawal never paid out, changes nothing
    entries_before = JournalEntry.objects.count()
    with pytest.raises(WithdrawalRefused):
        services.withdrawal_return(withdrawal=withdrawal, acting_user=staff, reason="Again")
    under_review = request_withdrawal(funded, 10_000)
    with pytest.raises(WithdrawalRefused):
        services.withdrawal_return(withdrawal=under_review, acting_user=staff, reason="Bounced")
    with pytest.raises(NotAllowed):
        services.withdrawal_return(withdrawal=withdrawal, acting_user=funded, reason="Bounced")
    assert JournalEntry.objects.count() == entries_before + 1  # the second request's hold
    # ... and the statement's withdrawal filter shows the money coming back
    client.force_login(funded)
    lines = client.get("/wallet/", {"kind": "withdrawal"}).context["rows"]
    assert [(row["description"], row["amount_paise"]) for row in lines][:2] == [
        ("Withdrawal to bank •••• 9012", -10_000),
        ("Withdrawal returned by the bank: Account closed", 30_000),
    ]


def test_reject_needs_a_reason_and_only_staff_review(funded, staff):
    withdrawal = request_withdrawal(funded, 30_000)

    with pytest.raises(WithdrawalRefused):
        services.withdrawal_reject(withdrawal=withdrawal, acting_user=staff, reason=" ")
    with pytest.raises(NotAllowed):
        services.withdrawal_approve(withdrawal=withdrawal, acting_user=funded)

    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.REQUESTED
    assert reserved(funded) == 30_000


def test_insufficient_funds_is_refused_and_nothing_changes(funded):
    entries_before = JournalEntry.objects.count()

    with pytest.raises(InsufficientFunds) as refused:
        request_withdrawal(funded, 100_001)

    assert str(refused.value) == "You have ₹1,000.00 available; you asked to withdraw ₹1,000.01."
    assert (available(funded), reserved(funded)) == (100_000, 0)
    assert Withdrawal.objects.count() == 0 and Reservation.objects.count() == 0
    assert JournalEntry.objects.count() == entries_before


@pytest.mark.parametrize(
    "bank, field",
    [
        ({"ifsc": "HDFC1001234"}, "ifsc"),  # fifth character must be 0
        ({"ifsc": "HDF00001234"}, "ifsc"),
        ({"ifsc": "HDFC000123"}, "ifsc"),
        ({"ifsc": "HDFC0001234X"}, "ifsc"),
        ({"account_number": "12345678"}, "account_number"),
        ({"account_number": "12345678901234567890"}, "account_number"),
        ({"account_number": "1234abcd5678"}, "account_number"),
        ({"account_holder": " "}, "account_holder"),
    ],
)
def test_bad_bank_details_are_refused_and_nothing_changes(funded, bank, field):
    with pytest.raises(WithdrawalRefused) as refused:
        request_withdrawal(funded, 30_000, **bank)

    assert refused.value.extra["field"] == field
    assert (available(funded), reserved(funded)) == (100_000, 0)
    assert Withdrawal.objects.count() == 0


def test_amount_limits(funded, settings):
    with pytest.raises(WithdrawalRefused, match="smallest withdrawal is ₹100.00"):
        request_withdrawal(funded, 9_999)
    settings.WITHDRAWAL_MAX_PAISE = 50_000
    with pytest.raises(WithdrawalRefused, match="largest withdrawal is ₹500.00"):
        request_withdrawal(funded, 50_001)
    assert reserved(funded) == 0


def test_a_user_with_no_wallet_yet_is_refused_for_lack_of_funds():
    with pytest.raises(InsufficientFunds):
        request_withdrawal(UserFactory(), 10_000)


def test_statement_filtered_to_withdrawals_shows_the_money_leaving_and_coming_back(
    funded, staff, client
):
    paid = request_withdrawal(funded, 30_000)
    services.withdrawal_approve(withdrawal=paid, acting_user=staff)
    rejected = request_withdrawal(funded, 20_000)
    services.withdrawal_reject(withdrawal=rejected, acting_user=staff, reason="Wrong IFSC")
    client.force_login(funded)

    response = client.get("/wallet/", {"kind": "withdrawal"})

    lines = [(row["description"], row["amount_paise"]) for row in response.context["rows"]]
    assert lines == [
        ("Withdrawal rejected: Wrong IFSC", 20_000),
        ("Withdrawal to bank •••• 9012", -20_000),
        ("Withdrawal to bank •••• 9012", -30_000),
    ]
