"""Races against real PostgreSQL with real threads: row locks in pk order, conditional
updates and unique keys keep the money right; no mocks."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from flexpass.testing import race
from wallet.errors import InsufficientFunds
from wallet.integrity import _seal_batch, ledger_check
from wallet.models import EntryKind, JournalEntry, LedgerAccount, LedgerSeal, Reservation
from wallet.services import reservations_expire_overdue, wallet_ensure, wallet_transfer
from wallet.tests.factories import UserFactory, balance, funded_wallet, reserve, wallet_for

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(outcomes) -> Counter:
    return Counter(type(outcome).__name__ for outcome in outcomes)


def test_fifty_spenders_on_a_wallet_that_affords_ten():
    # given a wallet holding exactly ten payments of ₹10
    payer = funded_wallet(10 * 1_000)
    shop = wallet_for()
    # when fifty requests try to pay at once
    outcomes = race(
        50,
        lambda i: wallet_transfer(
            sender=payer.user, recipient=shop.user, amount_paise=1_000, idempotency_key=f"pay-{i}"
        ),
    )
    # then exactly ten succeed and the rest are told "insufficient funds"
    assert kinds(outcomes) == {"Transfer": 10, "InsufficientFunds": 40}
    refusals = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert {o.extra["needed_paise"] for o in refusals} == {1_000}
    assert {o.extra["balance_paise"] for o in refusals} == {0}  # refused only once it ran dry
    assert (balance(payer.available), balance(shop.available)) == (0, 10_000)
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == 10
    assert not LedgerAccount.objects.filter(may_go_negative=False, balance_paise__lt=0).exists()
    assert ledger_check().ok


def test_crossing_transfers_never_deadlock_and_conserve_money():
    # given two wallets with ₹500 each
    a = funded_wallet(50_000)
    b = funded_wallet(50_000)

    # when 20 threads send ₹1 five times, half A->B and half B->A, at once
    def work(i):
        sender, recipient = (a, b) if i % 2 == 0 else (b, a)
        return [
            wallet_transfer(
                sender=sender.user,
                recipient=recipient.user,
                amount_paise=100,
                idempotency_key=f"cross-{i}-{n}",
            ).entry.pk
            for n in range(5)
        ]

    outcomes = race(20, work)
    # then every transfer went through (no deadlock, no RetryLater) and nothing was lost
    assert kinds(outcomes) == {"list": 20}
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == 100
    assert (balance(a.available), balance(b.available)) == (50_000, 50_000)
    assert ledger_check().ok


def test_ten_retries_of_one_transfer_make_one_entry():
    # given
    payer = funded_wallet(10_000)
    payee = wallet_for()
    # when the same request (same idempotency key) arrives ten times at once
    outcomes = race(
        10,
        lambda i: (
            wallet_transfer(
                sender=payer.user, recipient=payee.user, amount_paise=2_500, idempotency_key="once"
            ).entry.pk
        ),
    )
    # then all ten get the same entry and money moved once
    assert kinds(outcomes) == {"int": 10}
    assert len(set(outcomes)) == 1
    assert JournalEntry.objects.filter(kind=EntryKind.TRANSFER).count() == 1
    assert (balance(payer.available), balance(payee.available)) == (7_500, 2_500)
    assert ledger_check().ok


def test_two_expiry_jobs_at_once_release_each_reservation_once():
    # given 20 overdue reservations
    wallet = funded_wallet(100_000)
    past = timezone.now() - timedelta(minutes=1)
    for _ in range(20):
        reserve(wallet, 1_000, expires_at=past)
    # when two beat processes run the expiry job at the same moment
    outcomes = race(2, lambda i: reservations_expire_overdue())
    # then together they expired 20, each exactly once
    assert sum(outcomes) == 20
    assert JournalEntry.objects.filter(kind=EntryKind.VOID).count() == 20
    assert set(Reservation.objects.values_list("status", flat=True)) == {"expired"}
    assert (balance(wallet.available), balance(wallet.reserved)) == (100_000, 0)
    assert ledger_check().ok


def test_two_sealers_without_redis_still_build_one_chain():
    # given 30 unsealed entries
    wallets = [funded_wallet(1_000) for _ in range(30)]
    assert len(wallets) == JournalEntry.objects.count()
    # when two sealers skip the Redis lock (as if Redis were flushed) and race
    outcomes = race(2, lambda i: _seal_batch(1000))
    # then the database serialised them: every entry sealed once, one valid chain
    assert sorted(outcomes) == [0, 30]
    assert list(LedgerSeal.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 31)
    )
    assert ledger_check().ok


def test_wallets_opened_at_once_for_people_with_the_same_name_get_distinct_handles():
    # given ten new people whose emails start the same way
    people = [UserFactory(email=f"asha@{n}.example.com") for n in range(10)]
    # when their wallets are opened at the same moment
    outcomes = race(10, lambda i: wallet_ensure(user=people[i]).handle)
    # then every wallet opened, each with its own handle
    assert kinds(outcomes) == {"str": 10}
    assert len(set(outcomes)) == 10
    assert all(handle.startswith("asha") for handle in outcomes)
