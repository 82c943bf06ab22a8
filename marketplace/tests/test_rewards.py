"""Cashback (pending -> released), the double-sided referral bonus, badges, receipt emails."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace import badges, rewards, services
from marketplace.models import CashbackGrant, CashbackStatus, ReferralReward, UserBadge
from marketplace.tests.factories import PlanFactory, assert_ledger_balanced, balance, fund
from support.models import Notification
from wallet.models import AccountKind, EntryKind, JournalEntry
from wallet.services import pending_account, platform_account, wallet_ensure

pytestmark = pytest.mark.django_db

DAY_PASS = 4_900  # ₹49 -> ₹2.45 cashback


def buy(user, plan, key="k"):
    return services.pass_purchase(buyer=user, plan=plan, idempotency_key=key)


@pytest.mark.parametrize(
    ("price", "cashback"),
    [(4_900, 245), (999, 50), (990, 50), (989, 49), (10, 1), (9, 0), (100_000, 5_000)],
)
def test_cashback_is_five_percent_rounded_half_up_to_a_paisa(price, cashback):
    # 999 -> 49.95 -> 50; 990 -> 49.5 -> 50; 989 -> 49.45 -> 49; 10 -> 0.5 -> 1; 9 -> 0.45 -> 0
    assert rewards.cashback_for(price) == cashback


def test_a_purchase_records_pending_cashback_on_the_books(funded_buyer, plan):
    # when
    purchase = buy(funded_buyer, plan)

    # then the cashback waits in the pending account, not in available
    grant = CashbackGrant.objects.get()
    assert (grant.purchase, grant.amount_paise, grant.status) == (purchase, 245, "pending")
    assert grant.release_at == purchase.created_at + timedelta(hours=24)
    assert balance(pending_account(funded_buyer)) == 245
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000 - DAY_PASS
    assert balance(platform_account(AccountKind.PLATFORM_CASHBACK)) == -245
    assert_ledger_balanced()


def test_a_price_too_small_for_cashback_posts_no_cashback_legs_and_no_grant(funded_buyer):
    # given a 9-paise plan (5 % is 0.45 paise, which rounds to nothing)
    plan = PlanFactory(price_paise=9)

    # when it is bought
    purchase = buy(funded_buyer, plan)

    # then the purchase entry has no cashback legs and there is no grant
    kinds = set(purchase.entry.postings.values_list("account__kind", flat=True))
    assert AccountKind.USER_PENDING not in kinds
    assert AccountKind.PLATFORM_CASHBACK not in kinds
    assert not CashbackGrant.objects.exists()
    assert_ledger_balanced()


def test_the_release_job_pays_nothing_inside_the_refund_window(funded_buyer, plan):
    buy(funded_buyer, plan)

    released = rewards.cashback_release_due(now=timezone.now() + timedelta(hours=23))

    assert released == 0
    assert CashbackGrant.objects.get().status == "pending"
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000 - DAY_PASS


def test_the_release_job_pays_once_even_when_run_twice_and_late(funded_buyer, plan):
    buy(funded_buyer, plan)
    much_later = timezone.now() + timedelta(days=30)

    first = rewards.cashback_release_due(now=much_later)
    second = rewards.cashback_release_due(now=much_later)

    grant = CashbackGrant.objects.get()
    assert (first, second) == (1, 0)
    assert grant.status == CashbackStatus.RELEASED
    assert balance(pending_account(funded_buyer)) == 0
    assert balance(wallet_ensure(user=funded_buyer).available) == 10_000 - DAY_PASS + 245
    # the grant rode on the purchase entry; the release is an entry of its own, once
    assert JournalEntry.objects.filter(kind=EntryKind.CASHBACK).count() == 1
    note = Notification.objects.get(user=funded_buyer, kind="cashback_released")
    assert note.title == "₹2.45 cashback is in your wallet"
    assert_ledger_balanced()


def referred_pair(**referred_kwargs):
    referrer = UserFactory(email="asha@example.com")
    referred = UserFactory(
        email="ravi@example.com",
        referral_code=referrer.profile.referral_code,
        **referred_kwargs,
    )
    fund(referred, 20_000)
    return referrer, referred


def test_a_referred_users_first_purchase_pays_both_sides_once(plan):
    referrer, referred = referred_pair()

    buy(referred, plan, key="first")
    buy(referred, plan, key="second")

    reward = ReferralReward.objects.get()
    assert (reward.referrer, reward.referred, reward.referrer_paise, reward.referred_paise) == (
        referrer,
        referred,
        500,
        250,
    )
    assert balance(wallet_ensure(user=referrer).available) == 500
    assert balance(wallet_ensure(user=referred).available) == 20_000 - 2 * DAY_PASS + 250
    assert balance(platform_account(AccountKind.PLATFORM_REFERRAL)) == -750
    entry = JournalEntry.objects.get(kind=EntryKind.REFERRAL)
    assert entry.memo.startswith("Referral bonus")
    assert set(
        Notification.objects.filter(kind="referral_reward").values_list("user", flat=True)
    ) == {
        referrer.pk,
        referred.pk,
    }
    assert_ledger_balanced()


def test_no_referral_bonus_for_the_same_phone_under_a_second_account(plan):
    referrer, referred = referred_pair()
    for user in (referrer, referred):
        user.profile.phone = "+91 98765 43210"
        user.profile.save(update_fields=["phone"])

    buy(referred, plan)

    assert ReferralReward.objects.count() == 0
    assert balance(wallet_ensure(user=referrer).available) == 0


def test_no_referral_bonus_for_the_same_gmail_mailbox_under_a_second_account(plan):
    referrer = UserFactory(email="asha.rao@gmail.com")
    referred = UserFactory(
        email="asharao+second@gmail.com", referral_code=referrer.profile.referral_code
    )
    fund(referred, 20_000)

    buy(referred, plan)

    assert ReferralReward.objects.count() == 0


def test_normalized_email_folds_gmail_dots_and_plus_tags():
    assert rewards.normalized_email("A.Sha+x@GoogleMail.com") == "asha@gmail.com"
    assert rewards.normalized_email("a.sha+x@example.com") == "a.sha@example.com"


def test_no_referral_bonus_from_a_deactivated_referrer(plan):
    referrer, referred = referred_pair()
    referrer.is_active = False
    referrer.save(update_fields=["is_active"])

    buy(referred, plan)

    assert ReferralReward.objects.count() == 0


def test_badges_are_awarded_by_the_rules_once_each(plan):
    buyer = UserFactory()
    fund(buyer, 1_000_000)

    for number in range(10):
        buy(buyer, plan, key=f"b{number}")

    codes = list(UserBadge.objects.filter(user=buyer).values_list("code", flat=True))
    assert sorted(codes) == ["first_purchase", "regular"]
    assert badges.badges_award(user=buyer) == []  # nothing new: each badge once


def test_big_spender_and_first_referral_badges():
    referrer, referred = referred_pair()
    fund(referred, 600_000)
    pricey = PlanFactory(price_paise=500_000)

    buy(referred, pricey)

    assert set(UserBadge.objects.filter(user=referred).values_list("code", flat=True)) == {
        "first_purchase",
        "big_spender",
    }
    assert list(UserBadge.objects.filter(user=referrer).values_list("code", flat=True)) == [
        "first_referral"
    ]


def test_badges_show_on_the_profile_and_the_wallet(client, funded_buyer, plan):
    buy(funded_buyer, plan)
    client.force_login(funded_buyer)

    profile = client.get(reverse("profile")).content.decode()
    wallet = client.get(reverse("wallet:home")).content.decode()

    assert 'data-badge="first_purchase"' in profile
    assert "Big spender" in profile  # locked badges show what is left to earn
    assert 'data-badge="first_purchase"' in wallet


def test_the_wallet_shows_pending_cashback(client, funded_buyer, plan):
    buy(funded_buyer, plan)
    client.force_login(funded_buyer)

    html = client.get(reverse("wallet:home")).content.decode()

    assert 'data-testid="balance-pending">₹2.45<' in html


def test_the_receipt_email_has_html_and_text_and_the_cashback(
    funded_buyer, plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(funded_buyer, plan)

    receipts = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert len(receipts) == 1
    message = receipts[0]
    assert message.to == [funded_buyer.email]
    assert purchase.number in message.body
    assert "Cashback: ₹2.45" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert purchase.number in html and "₹49.00" in html


def test_the_receipt_page_shows_pending_cashback(client, funded_buyer, plan):
    purchase = buy(funded_buyer, plan)
    client.force_login(funded_buyer)

    html = client.get(reverse("marketplace:receipt", args=[purchase.pk])).content.decode()

    assert 'data-testid="receipt-cashback">₹2.45<' in html
    assert "after the refund window" in html


# --- receipts whose task was lost -------------------------------------------------------------


def _receipts() -> list:
    return [m for m in mail.outbox if "receipt" in m.subject.lower()]


def test_a_receipt_whose_task_was_lost_is_sent_once_by_the_retry_job(
    funded_buyer, plan, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from marketplace.tasks import receipt_email_send

    # given the broker refuses the after-commit task (Redis down at that moment)
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(receipt_email_send, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(funded_buyer, plan)
    assert _receipts() == []

    # when the retry job runs too early, then in time, then again
    soon = rewards.receipts_send_due(now=purchase.created_at + timedelta(seconds=30))
    due = rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=2))
    again = rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=3))

    # then the receipt went out exactly once, a minute after the sale
    assert (soon, due, again) == (0, 1, 0)
    assert [m.to for m in _receipts()] == [[funded_buyer.email]]


def test_a_receipt_is_sent_once_when_the_task_runs_twice(
    funded_buyer, plan, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(funded_buyer, plan)

    assert rewards.receipt_email_send(purchase_id=purchase.pk) is False
    assert rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=2)) == 0
    assert len(_receipts()) == 1


def test_a_failed_receipt_send_is_tried_again_by_the_retry_job(funded_buyer, plan, monkeypatch):
    from smtplib import SMTPServerDisconnected

    from django.core.mail import EmailMultiAlternatives

    purchase = buy(funded_buyer, plan)  # no on-commit run: only the calls below send
    real_send = EmailMultiAlternatives.send

    def smtp_down(self, *args, **kwargs):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    # given the mail server drops the connection when the task sends
    monkeypatch.setattr(EmailMultiAlternatives, "send", smtp_down)
    with pytest.raises(SMTPServerDisconnected):
        rewards.receipt_email_send(purchase_id=purchase.pk)
    # (the retry job logs and goes on)
    assert rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=2)) == 0

    # when the mail server is back and the job runs
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    sent = rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=3))

    # then the claim was given back each time and the receipt goes out once
    assert sent == 1
    assert len(_receipts()) == 1


def test_a_receipt_refused_for_good_is_not_retried(funded_buyer, plan, monkeypatch):
    from smtplib import SMTPRecipientsRefused

    from django.core.mail import EmailMultiAlternatives

    purchase = buy(funded_buyer, plan)
    attempts = []

    def no_such_mailbox(self, *args, **kwargs):
        attempts.append(self.to)
        raise SMTPRecipientsRefused({funded_buyer.email: (550, b"5.1.1 No such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", no_such_mailbox)

    # the task's refusal is final: no exception for Celery to retry, the claim kept
    assert rewards.receipt_email_send(purchase_id=purchase.pk) is False
    assert rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=2)) == 0
    assert len(attempts) == 1


def test_the_retry_job_stops_at_the_first_failure_and_sends_the_rest_later(
    funded_buyer, plan, monkeypatch
):
    from smtplib import SMTPConnectError

    from django.core.mail import EmailMultiAlternatives

    first = buy(funded_buyer, plan, key="a")  # no on-commit run: both receipts unsent
    buy(funded_buyer, plan, key="b")
    real_send = EmailMultiAlternatives.send
    attempts = []

    def server_away(self, *args, **kwargs):
        attempts.append(self.to)
        raise SMTPConnectError(421, b"Service not available")

    monkeypatch.setattr(EmailMultiAlternatives, "send", server_away)
    later = first.created_at + timedelta(minutes=2)
    assert rewards.receipts_send_due(now=later) == 0
    assert len(attempts) == 1  # not one slow attempt per unsent receipt

    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert rewards.receipts_send_due(now=later + timedelta(minutes=1)) == 2
    assert len(_receipts()) == 2


def test_a_receipt_claimed_by_a_worker_that_died_is_sent_once_its_claim_lapses(funded_buyer, plan):
    from flexpass.mail import LEASE

    purchase = buy(funded_buyer, plan)  # no on-commit run: the task below "dies"
    # given a worker claimed the receipt and died before sending it
    assert rewards.RECEIPTS.claim(purchase.pk, purchase.created_at) is True

    # when the retry job runs while the claim holds, then after it lapsed
    held = rewards.receipts_send_due(now=purchase.created_at + timedelta(minutes=2))
    lapsed = rewards.receipts_send_due(now=purchase.created_at + LEASE + timedelta(seconds=1))

    # then the receipt goes out once, after the lease
    assert (held, lapsed) == (0, 1)
    assert len(_receipts()) == 1
