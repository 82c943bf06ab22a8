"""Rewards under races on PostgreSQL: bonuses and cashback are paid exactly once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from flexpass.testing import race
from marketplace import rewards, services
from marketplace.models import (
    CashbackGrant,
    Pass,
    PassStatus,
    Purchase,
    PurchaseStatus,
    ReferralReward,
    Refund,
)
from marketplace.refunds import RefundRefused, purchase_refund
from marketplace.tests.factories import PlanFactory, assert_ledger_balanced, balance, fund
from wallet.models import EntryKind, JournalEntry
from wallet.services import pending_account, wallet_ensure

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_first_purchases_pay_the_referral_bonus_once():
    # given a referred user with money for 10 passes
    referrer = UserFactory(email="asha@example.com")
    referred = UserFactory(email="ravi@example.com", referral_code=referrer.profile.referral_code)
    fund(referred, 10 * 4_900)
    plan = PlanFactory(price_paise=4_900)

    # when 10 "first" purchases race
    results = race(
        10, lambda i: services.pass_purchase(buyer=referred, plan=plan, idempotency_key=f"f{i}")
    )

    # then all 10 are bought, the bonus is paid once, and each purchase got its cashback
    assert all(isinstance(r, Purchase) for r in results), results
    assert ReferralReward.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REFERRAL).count() == 1
    assert balance(wallet_ensure(user=referrer).available) == 500
    assert balance(wallet_ensure(user=referred).available) == 250
    assert CashbackGrant.objects.count() == 10
    assert balance(pending_account(referred)) == 10 * 245
    assert_ledger_balanced()


def test_two_release_jobs_racing_pay_each_cashback_once():
    buyer = UserFactory()
    fund(buyer, 5 * 4_900)
    plan = PlanFactory(price_paise=4_900)
    for number in range(5):
        services.pass_purchase(buyer=buyer, plan=plan, idempotency_key=f"p{number}")
    later = timezone.now() + timedelta(days=2)

    results = race(2, lambda i: rewards.cashback_release_due(now=later))

    assert sorted(results) in ([0, 5], [1, 4], [2, 3]) and sum(results) == 5, results
    assert balance(pending_account(buyer)) == 0
    assert balance(wallet_ensure(user=buyer).available) == 5 * 245
    assert JournalEntry.objects.filter(kind=EntryKind.CASHBACK).count() == 5  # one release each
    assert_ledger_balanced()


def _refunds_race(count: int, amount_paise: int):
    """A ₹49 day pass, then `count` staff refunds of `amount_paise` at the same moment."""
    buyer, staff = UserFactory(), UserFactory(is_staff=True)
    fund(buyer, 4_900)
    purchase = services.pass_purchase(
        buyer=buyer, plan=PlanFactory(price_paise=4_900), idempotency_key="p"
    )
    results = race(
        count,
        lambda i: purchase_refund(
            purchase_id=purchase.pk,
            amount_paise=amount_paise,
            reason="Outage",
            acting_user=staff,
            idempotency_key=f"race-{i}",
        ),
    )
    return buyer, purchase, results


def test_racing_full_refunds_refund_once():
    buyer, purchase, results = _refunds_race(8, 4_900)

    assert sum(isinstance(r, Refund) for r in results) == 1
    assert sum(isinstance(r, RefundRefused) for r in results) == 7
    assert balance(wallet_ensure(user=buyer).available) == 4_900
    assert Purchase.objects.get(pk=purchase.pk).refunded_paise == 4_900
    assert_ledger_balanced()


def test_racing_partial_refunds_that_add_up_to_the_price_revoke_the_pass():
    # given a ₹49 day pass, when staff refund two halves at the same moment
    buyer, purchase, results = _refunds_race(2, 2_450)

    # then both go through, and together they are a full refund
    assert all(isinstance(r, Refund) for r in results), results
    purchase.refresh_from_db()
    assert (purchase.refunded_paise, purchase.status) == (4_900, PurchaseStatus.REFUNDED)
    assert Pass.objects.get(purchase=purchase).status == PassStatus.REVOKED
    assert balance(wallet_ensure(user=buyer).available) == 4_900
    assert_ledger_balanced()
