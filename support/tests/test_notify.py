"""The notification service: channels per preference, after commit, once per dedupe key."""

import pytest
from django.core import mail

from flexpass.errors import NotFound
from support import services
from support.models import Notification, NotificationKind, NotificationPreference
from support.selectors import notifications_unread_count
from support.tests.factories import person

pytestmark = pytest.mark.django_db

ALL_KINDS = [kind.value for kind in NotificationKind]


def test_every_listed_kind_exists_and_has_defaults():
    # Given the kinds the issue lists (plus consultations)
    listed = {
        "low_balance",
        "topup_captured",
        "purchase_receipt",
        "pass_expiring",
        "pass_expired",
        "cashback_released",
        "referral_reward",
        "hold_expiring",
        "waitlist_offer",
        "withdrawal_approved",
        "withdrawal_rejected",
        "chat_reply",
        "session_auto_stopped",
    }

    # Then each one is a kind with defaults
    assert listed <= set(ALL_KINDS)
    assert set(services.KIND_DEFAULTS) == set(ALL_KINDS)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_kind_reaches_in_app_and_email_per_preferences(
    kind, django_capture_on_commit_callbacks
):
    # Given four people with the four possible preferences for this kind
    combos = [(True, True), (True, False), (False, True), (False, False)]
    people = []
    for in_app, email in combos:
        user = person()
        NotificationPreference.objects.create(user=user, kind=kind, in_app=in_app, email=email)
        people.append(user)

    # When each is notified
    with django_capture_on_commit_callbacks(execute=True):
        for user in people:
            services.notify(
                user=user, kind=kind, title="Something happened", body="Details", url="/wallet/"
            )

    # Then the bell shows it exactly to those who want it in-app ...
    in_app = [notifications_unread_count(user_id=user.pk) for user in people]
    assert in_app == [1, 1, 0, 0]
    # ... and exactly those who want email got one, with a text and an HTML part
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [people[0].email, people[2].email]
    )
    for message in mail.outbox:
        assert message.subject == "[FlexPass] Something happened"
        assert "Details" in message.body
        assert message.alternatives[0].mimetype == "text/html"
        assert "Open in FlexPass" in message.alternatives[0].content
    # ... and nobody with both channels off got a row
    assert Notification.objects.filter(user=people[3]).count() == 0


def test_defaults_apply_without_preferences(django_capture_on_commit_callbacks):
    # Given a person who never changed preferences
    user = person()

    # When a purchase receipt (in-app only by default) and a top-up (both) are announced
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=user, kind="purchase_receipt", title="Receipt FP-000001")
        services.notify(user=user, kind="topup_captured", title="₹500.00 added")

    # Then both ring the bell and only the top-up is emailed
    assert notifications_unread_count(user_id=user.pk) == 2
    assert [message.subject for message in mail.outbox] == ["[FlexPass] ₹500.00 added"]


def test_allow_email_false_keeps_it_in_app_and_sends_nothing_to_email_only_people(
    django_capture_on_commit_callbacks,
):
    # Given one person on the defaults (in-app and email for top-ups) and one email-only
    default, email_only = person(), person()
    NotificationPreference.objects.create(
        user=email_only, kind="topup_captured", in_app=False, email=True
    )

    # When both are told with email not allowed (the chat does that for people online)
    with django_capture_on_commit_callbacks(execute=True):
        shown = services.notify(user=default, kind="topup_captured", title="t", allow_email=False)
        none = services.notify(user=email_only, kind="topup_captured", title="t", allow_email=False)

    # Then the first gets it in the bell only; the second gets nothing and no row
    assert (shown.in_app, shown.email_wanted) == (True, False)
    assert Notification.objects.get(pk=shown.pk).email_wanted is False
    assert none is None
    assert not Notification.objects.filter(user=email_only).exists()
    assert mail.outbox == []


def test_nothing_leaves_before_commit_and_nothing_if_rolled_back(
    django_capture_on_commit_callbacks,
):
    # Given a person
    user = person()

    # When notify runs in a transaction that is then rolled back
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(user=user, kind="topup_captured", title="₹500.00 added")

    # Then the email and the push wait for the commit
    assert mail.outbox == []
    assert len(callbacks) == 3  # cache invalidation, live push, email


def test_dedupe_key_makes_it_once_only(django_capture_on_commit_callbacks):
    # Given a person already told about alert 7
    user = person()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.notify(
            user=user.pk, kind="low_balance", title="Low", dedupe_key="low_balance:7"
        )

    # When a job runs again and tells them again
    with django_capture_on_commit_callbacks(execute=True):
        second = services.notify(
            user=user.pk, kind="low_balance", title="Low", dedupe_key="low_balance:7"
        )

    # Then nothing new was recorded or sent
    assert first is not None and second is None
    assert Notification.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1


def test_email_is_sent_once_even_if_the_task_runs_twice(django_capture_on_commit_callbacks):
    # Given a notification whose email went out
    user = person()
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(user=user, kind="withdrawal_approved", title="Paid out")

    # When the task runs again (a retry)
    again = services.notification_email_deliver(notification_id=notification.pk)

    # Then no second email
    assert again is False
    assert len(mail.outbox) == 1


def test_unknown_kind_is_refused():
    user = person()
    with pytest.raises(ValueError):
        services.notify(user=user, kind="lottery_win", title="You won")
    assert Notification.objects.count() == 0


def test_unread_count_follows_read_and_delete(django_capture_on_commit_callbacks):
    # Given three unread notifications (the count is cached)
    user = person()
    with django_capture_on_commit_callbacks(execute=True):
        made = [services.notify(user=user, kind="pass_expiring", title=f"N{i}") for i in range(3)]
    assert notifications_unread_count(user_id=user.pk) == 3

    # When one is read, one deleted
    with django_capture_on_commit_callbacks(execute=True):
        services.notification_mark_read(user=user, notification_id=made[0].pk)
        services.notification_delete(user=user, notification_id=made[1].pk)

    # Then the cached count moved with them
    assert notifications_unread_count(user_id=user.pk) == 1

    # When all are read
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.notifications_mark_all_read(user=user)

    # Then
    assert changed == 1
    assert notifications_unread_count(user_id=user.pk) == 0


def test_someone_elses_notification_is_not_found_and_unchanged():
    # Given Asha's notification
    asha, ravi = person("Asha"), person("Ravi")
    notification = services.notify(user=asha, kind="topup_captured", title="₹500.00 added")

    # When Ravi tries to read or delete it
    with pytest.raises(NotFound):
        services.notification_mark_read(user=ravi, notification_id=notification.pk)
    with pytest.raises(NotFound):
        services.notification_delete(user=ravi, notification_id=notification.pk)

    # Then it is still there, unread
    notification.refresh_from_db()
    assert notification.read_at is None


def test_an_email_whose_task_was_lost_is_sent_once_by_the_sweep(
    monkeypatch, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from kombu.exceptions import OperationalError

    from support.services.feeds import notifications_sweep
    from support.tasks import notification_email_send

    # given the broker refuses the after-commit email task
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(notification_email_send, "delay", broker_down)
    user = person()
    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notify(user=user, kind="withdrawal_approved", title="Paid out")
    assert mail.outbox == []

    # when the sweep runs a minute later, and again
    later = notification.created_at + timedelta(minutes=2)
    first = notifications_sweep(now=later)["emails_retried"]
    second = notifications_sweep(now=later + timedelta(seconds=15))["emails_retried"]

    # then one email
    assert (first, second) == (1, 0)
    assert [m.subject for m in mail.outbox] == ["[FlexPass] Paid out"]
