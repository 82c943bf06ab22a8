"""Notifications from the other apps: the sweep job (low balance, passes ended, holds lapsing)
and the call sites wired into billing, marketplace and flash sales."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing import services as billing
from billing.tests.factories import pay
from flashsale import services as flash
from flashsale.models import Hold
from flashsale.tests.factories import item_make
from marketplace.models import Pass
from marketplace.services import pass_purchase, passes_notify_expiring
from marketplace.tests.factories import PlanFactory, fund
from support.models import Notification
from support.services.feeds import notifications_sweep
from support.tests.factories import agent, person
from wallet.models import LowBalanceAlert, Wallet

pytestmark = pytest.mark.django_db


def kinds(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("kind", flat=True)
    )


# --- the sweep --------------------------------------------------------------------------------


def test_a_low_balance_alert_becomes_one_notification_and_one_email(
    django_capture_on_commit_callbacks,
):
    # Given Asha's wallet dropped below her ₹100 alert when she bought a pass
    asha = person("Asha")
    fund(asha, 12_000)
    Wallet.objects.filter(user=asha).update(low_balance_threshold_paise=10_000)
    pass_purchase(buyer=asha, plan=PlanFactory(price_paise=4_900), idempotency_key="k1")
    alert = LowBalanceAlert.objects.get(user=asha)

    # When the sweep runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = notifications_sweep()
        second = notifications_sweep()

    # Then one notification (bell + email), however often the job runs
    assert (first["low_balance"], second["low_balance"]) == (1, 0)
    notification = Notification.objects.get(user=asha, kind="low_balance")
    assert notification.title == "Your wallet balance is low: ₹71.00"
    assert notification.dedupe_key == f"low_balance:{alert.pk}"
    assert [m.subject for m in mail.outbox if m.to == [asha.email]] == [
        "[FlexPass] Your wallet balance is low: ₹71.00"
    ]


def test_people_who_opted_out_do_not_hold_up_everyone_else(monkeypatch):
    # Given Asha opted out of low-balance notices entirely, and Ravi did not
    from support.models import NotificationPreference
    from support.services import feeds

    monkeypatch.setattr(feeds, "BATCH", 1)
    asha, ravi = person("Asha"), person("Ravi")
    NotificationPreference.objects.create(user=asha, kind="low_balance", in_app=False, email=False)
    for n, user in enumerate((asha, asha, ravi)):
        fund(user, 12_000)
        Wallet.objects.filter(user=user).update(low_balance_threshold_paise=10_000)
        pass_purchase(buyer=user, plan=PlanFactory(price_paise=4_900), idempotency_key=f"k{n}")

    # When the sweep runs three times, one alert a run
    for _ in range(3):
        feeds.low_balance_alerts_deliver()

    # Then Ravi heard, and Asha saw nothing
    assert Notification.objects.filter(user=ravi, kind="low_balance", in_app=True).count() == 1
    assert not Notification.objects.filter(user=asha, kind="low_balance", in_app=True).exists()


def test_an_ended_time_pass_is_announced_once_unless_renewed():
    # Given two people whose day passes ended a minute ago; Ravi bought a new one
    asha, ravi = person("Asha"), person("Ravi")
    plan = PlanFactory()
    for buyer in (asha, ravi):
        fund(buyer, 20_000)
        pass_purchase(buyer=buyer, plan=plan, idempotency_key=f"{buyer.pk}-1")
    Pass.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    pass_purchase(buyer=ravi, plan=plan, idempotency_key=f"{ravi.pk}-2")

    # When the sweep runs twice
    counts = [notifications_sweep()["pass_expired"] for _ in range(2)]

    # Then only Asha hears, once
    assert counts == [1, 0]
    assert "pass_expired" in kinds(asha)
    assert "pass_expired" not in kinds(ravi)


def test_a_hold_about_to_lapse_warns_its_holder_once():
    # Given Ravi's two-minute hold has 30 seconds left, Asha's a full two minutes
    ravi, asha = person("Ravi"), person("Asha")
    item = item_make(total=5)
    soon, _ = flash.hold_create(user=ravi, item_id=item.pk, quantity=1)
    flash.hold_create(user=asha, item_id=item.pk, quantity=1)
    Hold.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + timedelta(seconds=30))

    # When the sweep runs twice
    counts = [notifications_sweep()["hold_expiring"] for _ in range(2)]

    # Then
    assert counts == [1, 0]
    assert kinds(ravi) == ["hold_expiring"]
    assert kinds(asha) == []


# --- call sites in the other apps -------------------------------------------------------------


def test_a_captured_top_up_notifies_once_whichever_path_credits_it():
    # Given Asha's top-up paid at the (simulated) gateway
    asha = person("Asha")
    topup = billing.topup_create(user=asha, amount_paise=50_000, idempotency_key="t1")
    fields = pay(topup)

    # When the return and the reconciliation both try to credit it
    billing.topup_capture(topup_id=topup.pk, payment_id=fields["razorpay_payment_id"], via="return")
    billing.topup_capture(
        topup_id=topup.pk, payment_id=fields["razorpay_payment_id"], via="reconcile"
    )

    # Then
    assert list(Notification.objects.filter(user=asha).values_list("kind", "title")) == [
        ("topup_captured", "₹500.00 added to your wallet")
    ]


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_reviewed_withdrawal_notifies_the_user(decision):
    # Given Asha asked to withdraw ₹200
    asha, staff = person("Asha"), agent("Ops")
    fund(asha, 50_000)
    withdrawal = billing.withdrawal_request(
        user=asha,
        amount_paise=20_000,
        account_holder="Asha Rao",
        account_number="123456789012",
        ifsc="HDFC0001234",
        idempotency_key="w1",
    )

    # When staff decide
    if decision == "approve":
        billing.withdrawal_approve(withdrawal=withdrawal, acting_user=staff)
    else:
        billing.withdrawal_reject(withdrawal=withdrawal, acting_user=staff, reason="Name mismatch.")

    # Then she is told
    notification = Notification.objects.get(user=asha)
    if decision == "approve":
        assert (notification.kind, notification.title) == (
            "withdrawal_approved",
            "₹200.00 paid out to •••• 9012",
        )
    else:
        assert (notification.kind, notification.title) == (
            "withdrawal_rejected",
            "Withdrawal of ₹200.00 rejected",
        )
        assert notification.body == "Name mismatch. The money is back in your wallet."


def test_a_purchase_leaves_a_receipt_notification():
    asha = person("Asha")
    fund(asha, 20_000)
    purchase = pass_purchase(buyer=asha, plan=PlanFactory(name="Day pass"), idempotency_key="p1")
    notification = Notification.objects.get(user=asha, kind="purchase_receipt")
    assert notification.title == f"Receipt {purchase.number}: {purchase.service.name} · Day pass"
    assert notification.url == f"/receipts/{purchase.pk}/"


def test_a_pass_ending_soon_is_announced_with_the_marketplace_notice():
    # Given Asha's day pass ends in 30 minutes
    asha = person("Asha")
    fund(asha, 20_000)
    pass_purchase(buyer=asha, plan=PlanFactory(), idempotency_key="p1")
    Pass.objects.update(expires_at=timezone.now() + timedelta(minutes=30))

    # When the marketplace's job runs twice
    passes_notify_expiring()
    passes_notify_expiring()

    # Then
    assert kinds(asha).count("pass_expiring") == 1


def test_a_waitlist_offer_reaches_the_first_in_line():
    # Given the last unit is held by Ravi and Asha waits for it
    ravi, asha = person("Ravi"), person("Asha")
    item = item_make(total=1, per_user_limit=1)
    hold, _ = flash.hold_create(user=ravi, item_id=item.pk, quantity=1)
    flash.waitlist_join(user=asha, item=item)

    # When Ravi lets it go
    flash.hold_release(user=ravi, hold_id=hold.pk)

    # Then Asha is told it is held for her
    notification = Notification.objects.get(user=asha, kind="waitlist_offer")
    offered = Hold.objects.get(user=asha)
    assert notification.url == f"/flash/holds/{offered.pk}/"
