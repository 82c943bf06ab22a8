"""Notifications for things other apps record but do not announce themselves.

The support-notifications-sweep job runs these every 15 seconds. Each one is
safe to run twice and late: a notification carries a dedupe key per source
row, and the (user, dedupe_key) unique constraint turns a repeat into nothing.

* Low balance: the wallet imports no other domain app, so it cannot call
  notify(); it records a LowBalanceAlert row in the ledger's own transaction
  (and pushes the live banner itself). This job turns new rows into
  notifications (bell + email) within one sweep interval. A hook would need a
  signal or a wallet -> support import; a job keeps the wallet independent and
  is at-least-once by construction.
* Pass expired: the marketplace expires passes with one bulk UPDATE (and
  lazily on read), so there is no per-pass call site; the sweep announces
  time passes that ended within the look-back window and were not renewed.
* Hold expiring: flash-sale holds last two minutes and no job visits them
  before they lapse; the sweep warns holders NOTIFY_HOLD_EXPIRING_SECONDS ahead.
* Emails retried: a wanted email whose after-commit task was lost (broker
  down, worker killed) is sent by the sweep a minute later, through the same
  claimed outbox as the task (flexpass.mail).

These read the other apps' tables and never write them.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from flexpass.money import format_rupees
from support.models import Notification, NotificationKind
from support.services.notifications import notification_emails_send_due, notify

BATCH = 500


def _notified(prefix: str, user_field: str = "user_id"):
    return Exists(
        Notification.objects.filter(
            user_id=OuterRef(user_field),
            dedupe_key=Concat(Value(prefix), Cast(OuterRef("pk"), CharField())),
        )
    )


def low_balance_alerts_deliver(*, now=None) -> int:
    from wallet.models import LowBalanceAlert

    now = now or timezone.now()
    alerts = (
        LowBalanceAlert.objects.filter(created_at__gte=now - timedelta(days=1))
        .exclude(_notified("low_balance:"))
        .order_by("pk")[:BATCH]
    )
    sent = 0
    for alert in alerts:
        if notify(
            user=alert.user_id,
            kind=NotificationKind.LOW_BALANCE,
            title=f"Your wallet balance is low: {format_rupees(alert.balance_paise)}",
            body=(
                f"Your available balance dropped below your alert of "
                f"{format_rupees(alert.threshold_paise)}. Add money to keep your passes "
                "and sessions running."
            ),
            url=reverse("billing:topup_start"),
            data={"alert": alert.pk, "balance_paise": alert.balance_paise},
            dedupe_key=f"low_balance:{alert.pk}",
        ):
            sent += 1
    return sent


def passes_expired_announce(*, now=None) -> int:
    from marketplace.models import Pass, PassStatus, PlanKind

    now = now or timezone.now()
    renewed = Pass.objects.usable(now).filter(
        owner_id=OuterRef("owner_id"), plan_id=OuterRef("plan_id")
    )
    ended = (
        Pass.objects.filter(
            kind=PlanKind.TIME,
            status__in=[PassStatus.ACTIVE, PassStatus.EXPIRED],
            expires_at__lte=now,
            expires_at__gt=now - timedelta(hours=settings.NOTIFY_PASS_EXPIRED_LOOKBACK_HOURS),
        )
        .exclude(Exists(renewed))
        .exclude(_notified("pass_expired:", "owner_id"))
        .select_related("service", "plan")
        .order_by("expires_at")[:BATCH]
    )
    sent = 0
    for pass_obj in ended:
        if notify(
            user=pass_obj.owner_id,
            kind=NotificationKind.PASS_EXPIRED,
            title=f"Your {pass_obj.service.name} pass has ended",
            body=f"{pass_obj.plan.name} ended at "
            f"{timezone.localtime(pass_obj.expires_at):%d %b, %H:%M}. Buy again whenever you need it.",
            url=reverse("marketplace:service", args=[pass_obj.service.slug]),
            data={"pass": pass_obj.pk},
            dedupe_key=f"pass_expired:{pass_obj.pk}",
        ):
            sent += 1
    return sent


def holds_expiring_warn(*, now=None) -> int:
    from flashsale.models import Hold

    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.NOTIFY_HOLD_EXPIRING_SECONDS)
    holds = (
        Hold.objects.active(now)
        .filter(expires_at__lte=horizon)
        .exclude(_notified("hold_expiring:"))
        .select_related("item")
        .order_by("expires_at")[:BATCH]
    )
    sent = 0
    for hold in holds:
        seconds = max(0, int((hold.expires_at - now).total_seconds()))
        if notify(
            user=hold.user_id,
            kind=NotificationKind.HOLD_EXPIRING,
            title=f"Your hold on {hold.item.name} ends in {seconds} s",
            body="Check out now or the units go back to the sale.",
            url=reverse("flashsale:hold", args=[hold.pk]),
            data={"hold": hold.pk, "expires_at": hold.expires_at.isoformat()},
            dedupe_key=f"hold_expiring:{hold.pk}",
        ):
            sent += 1
    return sent


def notifications_sweep(*, now=None) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "low_balance": low_balance_alerts_deliver(now=now),
        "pass_expired": passes_expired_announce(now=now),
        "hold_expiring": holds_expiring_warn(now=now),
        "emails_retried": notification_emails_send_due(now=now),
    }
