"""The one posting function: balanced entries only, whole paise, no overdraft, idempotent."""

import pytest
from django.db import IntegrityError, connection, transaction

from wallet.errors import IdempotencyConflict, InsufficientFunds, InvalidAmount, UnbalancedEntry
from wallet.models import AccountKind, EntryKind, JournalEntry, LedgerAccount, Posting
from wallet.services import MAX_AMOUNT_PAISE, Leg, entry_post, money_transaction, platform_account
from wallet.tests.factories import balances, funded_wallet, ledger_rows, wallet_for

pytestmark = pytest.mark.django_db


@money_transaction
def post(**kwargs) -> JournalEntry:
    return entry_post(**kwargs)


def test_balanced_entry_moves_money_and_updates_cached_balances(clearing):
    # given
    wallet = wallet_for()
    # when
    entry = post(
        kind=EntryKind.TOPUP,
        legs=[Leg(clearing, -25_000), Leg(wallet.available, 25_000)],
        memo="Top-up",
        idempotency_key="topup-1",
    )
    # then
    assert balances(clearing, wallet.available) == [-25_000, 25_000]
    assert sorted(entry.postings.values_list("account_id", "amount_paise")) == sorted(
        [(clearing.pk, -25_000), (wallet.available.pk, 25_000)]
    )
    assert entry.kind == EntryKind.TOPUP
    assert entry.idempotency_key == "topup-1"


def test_unbalanced_entry_is_refused_and_nothing_changes(clearing):
    wallet = wallet_for()
    before = ledger_rows()

    with pytest.raises(UnbalancedEntry):
        post(kind=EntryKind.TOPUP, legs=[Leg(clearing, -100), Leg(wallet.available, 99)])

    assert ledger_rows() == before
    assert balances(clearing, wallet.available) == [0, 0]


def test_single_leg_entry_is_refused(clearing):
    with pytest.raises(UnbalancedEntry):
        post(kind=EntryKind.TOPUP, legs=[Leg(clearing, 0)])
    assert ledger_rows() == (0, 0, 0)


@pytest.mark.parametrize(
    "amount",
    [0, 1.5, 100.0, True, "100", MAX_AMOUNT_PAISE + 1],
    ids=["zero", "float", "whole-float", "bool", "string", "huge"],
)
def test_bad_amounts_are_refused_and_nothing_changes(clearing, amount):
    wallet = wallet_for()

    negative = "-100" if isinstance(amount, str) else -amount

    with pytest.raises(InvalidAmount):
        post(kind=EntryKind.TOPUP, legs=[Leg(clearing, negative), Leg(wallet.available, amount)])

    assert ledger_rows() == (0, 0, 0)
    assert balances(clearing, wallet.available) == [0, 0]


def test_no_negative_account_cannot_go_below_zero_and_nothing_changes(clearing):
    # given a wallet holding ₹50
    wallet = funded_wallet(5_000)
    other = wallet_for()
    before = ledger_rows()
    # when it tries to pay ₹50.01
    with pytest.raises(InsufficientFunds) as refused:
        post(
            kind=EntryKind.TRANSFER,
            legs=[Leg(wallet.available, -5_001), Leg(other.available, 5_001)],
        )
    # then nothing moved
    assert str(refused.value) == "Your wallet balance is too low for this payment."
    assert refused.value.extra == {
        "account_kind": AccountKind.USER_AVAILABLE,
        "balance_paise": 5_000,
        "needed_paise": 5_001,
    }
    assert balances(wallet.available, other.available, clearing) == [5_000, 0, -5_000]
    assert ledger_rows() == before


def test_a_refused_multi_leg_entry_leaves_no_partial_balance_change(clearing):
    # given the first (lower id) account can pay but the second cannot
    rich = funded_wallet(10_000)
    poor = funded_wallet(100)
    revenue = platform_account(AccountKind.PLATFORM_REVENUE)
    # when one entry debits both, and the caller catches the refusal inside its transaction
    with transaction.atomic(), pytest.raises(InsufficientFunds):
        entry_post(
            kind=EntryKind.PURCHASE,
            legs=[Leg(rich.available, -500), Leg(poor.available, -500), Leg(revenue, 1_000)],
        )
    # then no cached balance moved (the refusal came before any write)
    assert balances(rich.available, poor.available, revenue) == [10_000, 100, 0]


def test_platform_source_accounts_may_go_negative(clearing):
    wallet = wallet_for()
    post(kind=EntryKind.TOPUP, legs=[Leg(clearing, -(10**9)), Leg(wallet.available, 10**9)])
    assert balances(clearing, wallet.available) == [-(10**9), 10**9]


def test_replay_with_the_same_key_returns_the_first_entry(clearing):
    wallet = wallet_for()
    legs = [Leg(clearing, -700), Leg(wallet.available, 700)]
    first = post(kind=EntryKind.TOPUP, legs=legs, memo="Top-up", idempotency_key="k-1")

    again = post(
        kind=EntryKind.TOPUP,
        legs=[Leg(clearing, -700), Leg(wallet.available, 700)],
        memo="Top-up",
        idempotency_key="k-1",
    )

    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1
    assert balances(clearing, wallet.available) == [-700, 700]


def test_same_key_different_request_is_a_conflict_and_nothing_changes(clearing):
    wallet = wallet_for()
    post(
        kind=EntryKind.TOPUP,
        legs=[Leg(clearing, -700), Leg(wallet.available, 700)],
        idempotency_key="k-1",
    )
    before = ledger_rows()

    with pytest.raises(IdempotencyConflict):
        post(
            kind=EntryKind.TOPUP,
            legs=[Leg(clearing, -800), Leg(wallet.available, 800)],
            idempotency_key="k-1",
        )

    assert ledger_rows() == before
    assert balances(clearing, wallet.available) == [-700, 700]


def test_postings_and_entries_cannot_be_updated_or_deleted_in_the_database(clearing):
    # given one entry
    wallet = funded_wallet(1_000)
    posting = Posting.objects.get(account=wallet.available)
    entry = posting.entry
    # when someone edits or deletes ledger history directly, the database refuses
    statements = [
        ("UPDATE wallet_posting SET amount_paise = 5 WHERE id = %s", posting.pk),
        ("DELETE FROM wallet_posting WHERE id = %s", posting.pk),
        ("UPDATE wallet_journalentry SET memo = 'edited' WHERE id = %s", entry.pk),
        ("DELETE FROM wallet_journalentry WHERE id = %s", entry.pk),
    ]
    for sql, pk in statements:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [pk] if pk else [])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount_paise=5)  # the ORM too
    # then history is as it was
    posting.refresh_from_db()
    entry.refresh_from_db()
    assert posting.amount_paise == 1_000
    assert entry.memo == "Test top-up"
    assert Posting.objects.count() == 2


def test_database_refuses_an_unbalanced_entry_written_around_the_posting_function(clearing):
    wallet = wallet_for()
    entry = JournalEntry.objects.create(kind=EntryKind.ADJUSTMENT, memo="sneaky")

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.create(entry=entry, account=wallet.available, amount_paise=500)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would do

    assert Posting.objects.count() == 0


def test_database_refuses_a_negative_balance_on_a_no_negative_account():
    wallet = wallet_for()

    with pytest.raises(IntegrityError, match="ledger_account_no_negative"), transaction.atomic():
        LedgerAccount.objects.filter(pk=wallet.available.pk).update(balance_paise=-1)

    assert balances(wallet.available) == [0]
