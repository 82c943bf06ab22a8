"""Races on real PostgreSQL with real threads: a captured payment is credited exactly once."""

import pytest

from billing import services
from billing.models import TopUp, TopUpStatus, WebhookEvent, Withdrawal, WithdrawalStatus
from billing.tests.factories import (
    StaffFactory,
    UserFactory,
    available,
    fund,
    new_key,
    pay,
    reserved,
    signed_event,
)
from flexpass.errors import DomainError
from flexpass.testing import race
from wallet.models import JournalEntry

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*calls):
    """Start every call at the same moment in its own thread; return results or exceptions."""
    return race(len(calls), lambda i: calls[i]())


def withdraw(user, key: str, ifsc: str = "HDFC0001234") -> Withdrawal:
    """Asha Rao's ₹300 withdrawal to one bank account, under `key`."""
    return services.withdrawal_request(
        user=user,
        amount_paise=30_000,
        account_holder="Asha Rao",
        account_number="123456789012",
        ifsc=ifsc,
        idempotency_key=key,
    )


def paid_topup(user, amount_paise=50_000) -> tuple[TopUp, dict]:
    topup = services.topup_create(
        user=user, amount_paise=amount_paise, idempotency_key=new_key("topup")
    )
    return topup, pay(topup)


def test_the_same_captured_webhook_ten_times_at_once_credits_once():
    user = UserFactory()
    topup, _ = paid_topup(user)
    body, signature = signed_event(topup)

    def deliver():
        return services.webhook_receive(raw_body=body, signature=signature, event_id="evt_race")

    results = run_together(*[deliver] * 10)

    assert sorted(results) == ["credited"] + ["duplicate"] * 9
    assert available(user) == 50_000
    assert JournalEntry.objects.filter(idempotency_key=f"topup:{topup.pk}:capture").count() == 1
    assert WebhookEvent.objects.filter(signature_valid=True).count() == 1


def test_ten_redeliveries_under_different_event_ids_credit_once():
    user = UserFactory()
    topup, _ = paid_topup(user)
    body, signature = signed_event(topup)

    def deliver(n):
        return lambda: services.webhook_receive(
            raw_body=body, signature=signature, event_id=f"evt_{n}"
        )

    results = run_together(*[deliver(n) for n in range(10)])

    assert sorted(results) == ["already_captured"] * 9 + ["credited"]
    assert available(user) == 50_000


def test_webhooks_racing_the_browser_return_credit_once():
    user = UserFactory()
    topup, fields = paid_topup(user)
    body, signature = signed_event(topup)

    def webhook():
        return services.webhook_receive(raw_body=body, signature=signature, event_id="evt_race")

    def browser():
        return services.topup_confirm_return(
            user=user,
            topup_id=topup.pk,
            payment_id=fields["razorpay_payment_id"],
            signature=fields["razorpay_signature"],
        ).status

    results = run_together(browser, *[webhook] * 5)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == TopUpStatus.CAPTURED
    assert available(user) == 50_000
    assert JournalEntry.objects.filter(idempotency_key=f"topup:{topup.pk}:capture").count() == 1
    topup.refresh_from_db()
    assert topup.captured_via in ("return", "webhook")


def test_reconciliation_racing_the_webhook_credits_once():
    from datetime import timedelta

    from django.utils import timezone

    user = UserFactory()
    topup, _ = paid_topup(user)
    TopUp.objects.filter(pk=topup.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    body, signature = signed_event(topup)

    results = run_together(
        services.topups_reconcile,
        services.topups_reconcile,
        lambda: services.webhook_receive(raw_body=body, signature=signature, event_id="e1"),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert available(user) == 50_000
    assert JournalEntry.objects.filter(idempotency_key=f"topup:{topup.pk}:capture").count() == 1


def test_concurrent_topups_cannot_pass_the_daily_limit(settings):
    settings.TOPUP_DAILY_MAX_PAISE = 100_000
    user = UserFactory()

    def open_topup(n):
        return lambda: services.topup_create(
            user=user, amount_paise=40_000, idempotency_key=f"daily-{n}"
        )

    results = run_together(*[open_topup(n) for n in range(6)])

    opened = [r for r in results if isinstance(r, TopUp)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert (len(opened), len(refused)) == (2, 4)
    assert TopUp.objects.filter(user=user).count() == 2


def test_concurrent_approve_and_reject_review_a_withdrawal_once():
    user, staff = UserFactory(), StaffFactory()
    fund(user, 100_000)
    withdrawal = withdraw(user, "w1")

    results = run_together(
        *[lambda: services.withdrawal_approve(withdrawal=withdrawal, acting_user=staff)] * 4,
        *[
            lambda: services.withdrawal_reject(
                withdrawal=withdrawal, acting_user=staff, reason="Race"
            )
        ]
        * 4,
    )

    reviewed = [r for r in results if isinstance(r, Withdrawal)]
    assert len(reviewed) == 1, results
    withdrawal.refresh_from_db()
    assert reserved(user) == 0
    if withdrawal.status == WithdrawalStatus.APPROVED:
        assert available(user) == 70_000
    else:
        assert available(user) == 100_000


def test_a_double_submitted_withdrawal_reserves_once_and_answers_both():
    user = UserFactory()
    fund(user, 100_000)

    def ask():
        return withdraw(user, "same-form")

    for _ in range(3):  # the interleaving that hurt does not come every time
        results = run_together(ask, ask, ask, ask)
        assert all(isinstance(r, Withdrawal) for r in results), results
        assert len({r.pk for r in results}) == 1
    assert Withdrawal.objects.count() == 1
    assert (available(user), reserved(user)) == (70_000, 30_000)


def test_the_same_key_for_two_payees_at_once_pays_one_and_refuses_the_other():
    user = UserFactory()
    fund(user, 500_000)

    def ask(key, ifsc):
        return lambda: withdraw(user, key, ifsc)

    for round_ in range(5):  # the interleaving that hurt does not come every time
        key = f"form-{round_}"
        results = run_together(ask(key, "HDFC0001234"), ask(key, "ICIC0004321"))
        kinds = sorted(type(r).__name__ for r in results)
        assert kinds == ["IdempotencyConflict", "Withdrawal"], results
    assert Withdrawal.objects.count() == 5
    assert available(user) == 500_000 - 5 * 30_000
