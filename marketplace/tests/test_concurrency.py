"""Races on PostgreSQL with real threads: the row locks decide, not luck."""

import pytest

from accounts.tests.factories import UserFactory
from flexpass.testing import race
from marketplace import services
from marketplace.models import Pass, Purchase, Service
from marketplace.tests.factories import PlanFactory, assert_ledger_balanced, balance, fund
from wallet.errors import InsufficientFunds
from wallet.models import EntryKind, JournalEntry
from wallet.services import wallet_ensure

pytestmark = pytest.mark.django_db(transaction=True)


# PostgreSQL here allows 100 connections shared with other test runs: at most
# this many threads hold one at a time, the rest queue right behind them.
MAX_CONNECTIONS = 25


def test_100_concurrent_buys_from_a_wallet_that_affords_7_buy_exactly_7():
    # given a wallet holding exactly 7 day passes' worth and 3 paise
    plan = PlanFactory(price_paise=4_900)
    buyer = UserFactory()
    fund(buyer, 7 * 4_900 + 3)

    # when 100 threads buy at once, each with its own key
    results = race(
        100,
        lambda i: services.pass_purchase(buyer=buyer, plan=plan, idempotency_key=f"storm-{i}"),
        max_connections=MAX_CONNECTIONS,
    )

    # then exactly 7 succeed and the rest are refused for lack of funds
    bought = [r for r in results if isinstance(r, Purchase)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(bought), len(refused)) == (7, 93), results
    assert Purchase.objects.count() == 7
    assert Pass.objects.count() == 7
    assert JournalEntry.objects.filter(kind=EntryKind.PURCHASE).count() == 7
    assert balance(wallet_ensure(user=buyer).available) == 3
    assert Service.objects.get(pk=plan.service_id).purchases_count == 7
    assert_ledger_balanced()


def test_a_double_click_with_one_key_buys_once():
    plan = PlanFactory(price_paise=4_900)
    buyer = UserFactory()
    fund(buyer, 10_000)

    results = race(
        8, lambda i: services.pass_purchase(buyer=buyer, plan=plan, idempotency_key="click")
    )

    assert all(isinstance(r, Purchase) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Purchase.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PURCHASE).count() == 1
    assert balance(wallet_ensure(user=buyer).available) == 5_100
    assert_ledger_balanced()
