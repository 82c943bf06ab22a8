"""wallet_transfer: one user's available balance to another's."""

import pytest
from django.db import IntegrityError, transaction

from wallet.errors import InsufficientFunds, InvalidAmount, RecipientNotFound, TransferRefused
from wallet.models import EntryKind, JournalEntry, Wallet
from wallet.services import wallet_transfer
from wallet.tests.factories import UserFactory, balances, funded_wallet, ledger_rows, wallet_for

pytestmark = pytest.mark.django_db


def test_transfer_moves_money_between_available_balances():
    # given
    alice = funded_wallet(10_000)
    bob = wallet_for()
    # when
    transfer = wallet_transfer(
        sender=alice.user,
        recipient=bob.user,
        amount_paise=2_500,
        idempotency_key="t1",
        note="Lunch",
    )
    entry = transfer.entry
    # then
    assert balances(alice.available, bob.available) == [7_500, 2_500]
    assert transfer.source.available.balance_paise == 7_500  # what the API answers with
    assert entry.kind == EntryKind.TRANSFER
    assert entry.memo == "Lunch"
    assert entry.acting_user == alice.user
    assert entry.idempotency_key == f"user:{alice.user.pk}:transfer:t1"
    assert entry.metadata == {"from_user": alice.user.pk, "to_user": bob.user.pk, "note": "Lunch"}


def test_transfer_opens_the_recipients_wallet_on_first_use():
    alice = funded_wallet(1_000)
    newcomer = UserFactory()

    wallet_transfer(sender=alice.user, recipient=newcomer, amount_paise=400, idempotency_key="t1")

    assert balances(alice.available, newcomer.wallet.available) == [600, 400]


def test_transfer_to_yourself_is_refused_and_nothing_changes():
    alice = funded_wallet(1_000)
    before = ledger_rows()

    with pytest.raises(TransferRefused):
        wallet_transfer(
            sender=alice.user, recipient=alice.user, amount_paise=100, idempotency_key="t1"
        )

    assert ledger_rows() == before
    assert balances(alice.available) == [1_000]


def test_transfer_to_an_inactive_user_is_refused_and_nothing_changes():
    alice = funded_wallet(1_000)
    gone = UserFactory(is_active=False)
    before = ledger_rows()

    with pytest.raises(RecipientNotFound):
        wallet_transfer(sender=alice.user, recipient=gone, amount_paise=100, idempotency_key="t1")

    assert ledger_rows() == before
    assert balances(alice.available) == [1_000]


def test_transfer_beyond_the_balance_is_refused_and_nothing_changes():
    alice = funded_wallet(1_000)
    bob = wallet_for()
    before = ledger_rows()

    with pytest.raises(InsufficientFunds):
        wallet_transfer(
            sender=alice.user, recipient=bob.user, amount_paise=1_001, idempotency_key="t1"
        )

    assert ledger_rows() == before
    assert balances(alice.available, bob.available) == [1_000, 0]


@pytest.mark.parametrize("amount", [0, -5, 2.5, True, 10**13])
def test_transfer_of_a_bad_amount_is_refused(amount):
    alice = funded_wallet(1_000)
    bob = wallet_for()
    before = ledger_rows()

    with pytest.raises(InvalidAmount):
        wallet_transfer(
            sender=alice.user, recipient=bob.user, amount_paise=amount, idempotency_key="t"
        )

    assert ledger_rows() == before
    assert balances(alice.available, bob.available) == [1_000, 0]


def test_retrying_a_transfer_with_the_same_key_moves_money_once():
    alice = funded_wallet(1_000)
    bob = wallet_for()

    first = wallet_transfer(
        sender=alice.user, recipient=bob.user, amount_paise=300, idempotency_key="t1"
    )
    again = wallet_transfer(
        sender=alice.user, recipient=bob.user, amount_paise=300, idempotency_key="t1"
    )

    assert again.entry.pk == first.entry.pk
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == 1
    assert balances(alice.available, bob.available) == [700, 300]


def test_keys_are_scoped_to_the_sender():
    alice = funded_wallet(1_000)
    bob = funded_wallet(1_000)

    wallet_transfer(sender=alice.user, recipient=bob.user, amount_paise=100, idempotency_key="same")
    wallet_transfer(sender=bob.user, recipient=alice.user, amount_paise=100, idempotency_key="same")

    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == 2
    assert balances(alice.available, bob.available) == [1_000, 1_000]


def test_the_database_keeps_handles_lowercase_as_the_recipient_look_up_needs():
    wallet = wallet_for()
    assert wallet.handle == wallet.handle.lower()

    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(handle="Mixed-Case")
