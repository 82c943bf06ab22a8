"""The one notification service: in-app (bell, live over `user.<id>`) and email, per preference.

Other apps call `notify(user=, kind=, title=, body=, url=)` at the point where
the thing happened, inside the same transaction: the row commits with the
change (or not at all), and the live push and the email leave after commit.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from flexpass import mail
from flexpass.errors import NotFound
from flexpass.realtime import broadcast_on_commit, user_group
from support.models import Notification, NotificationKind, NotificationPreference

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KindDefaults:
    in_app: bool
    email: bool
    help: str


# What each kind does for someone who never changed their preferences.
KIND_DEFAULTS: dict[str, KindDefaults] = {
    NotificationKind.LOW_BALANCE: KindDefaults(True, True, "Your wallet dropped below your alert"),
    NotificationKind.TOPUP_CAPTURED: KindDefaults(
        True, True, "Money you added reached your wallet"
    ),
    # The marketplace emails the receipt itself; the bell links to it.
    NotificationKind.PURCHASE_RECEIPT: KindDefaults(True, False, "A receipt for each purchase"),
    NotificationKind.PASS_EXPIRING: KindDefaults(True, True, "A time pass ends within the hour"),
    NotificationKind.PASS_EXPIRED: KindDefaults(True, False, "A time pass has ended"),
    NotificationKind.CASHBACK_RELEASED: KindDefaults(
        True, True, "Cashback was added to your wallet"
    ),
    NotificationKind.REFERRAL_REWARD: KindDefaults(True, True, "Someone you invited joined"),
    # Minutes-long windows: an email would arrive too late to help.
    NotificationKind.HOLD_EXPIRING: KindDefaults(
        True, False, "A flash-sale hold is about to lapse"
    ),
    NotificationKind.WAITLIST_OFFER: KindDefaults(True, False, "A waitlisted item is held for you"),
    # Money, like a top-up: worth an email even though the hold itself was minutes long.
    NotificationKind.FLASH_PAYMENT_RETURNED: KindDefaults(
        True, True, "A flash-sale payment arrived too late and is in your wallet"
    ),
    NotificationKind.WITHDRAWAL_APPROVED: KindDefaults(True, True, "A withdrawal was paid out"),
    NotificationKind.WITHDRAWAL_REJECTED: KindDefaults(True, True, "A withdrawal was rejected"),
    NotificationKind.WITHDRAWAL_RETURNED: KindDefaults(
        True, True, "A paid-out withdrawal came back from the bank"
    ),
    NotificationKind.CHAT_REPLY: KindDefaults(True, True, "Support replied (email only when away)"),
    NotificationKind.CONSULTATION: KindDefaults(True, True, "Consultation requests and replies"),
    NotificationKind.SESSION_AUTO_STOPPED: KindDefaults(
        True, True, "A metered session was stopped"
    ),
}


# --- preferences -----------------------------------------------------------------------------


def preference_for(*, user_id: int, kind: str) -> tuple[bool, bool]:
    """(in_app, email) for one kind: the user's row, else the kind's defaults. One query."""
    row = (
        NotificationPreference.objects.filter(user_id=user_id, kind=kind)
        .values_list("in_app", "email")
        .first()
    )
    if row is not None:
        return row
    defaults = KIND_DEFAULTS[kind]
    return defaults.in_app, defaults.email


def preferences_update(*, user, changes: dict[str, dict[str, bool]]) -> None:
    """Store {kind: {"in_app": bool, "email": bool}} for `user`; unknown kinds are refused."""
    now = timezone.now()
    for kind, values in changes.items():
        if kind not in KIND_DEFAULTS:
            raise ValueError(f"Unknown notification kind: {kind}")
        defaults = KIND_DEFAULTS[kind]
        NotificationPreference.objects.update_or_create(
            user=user,
            kind=kind,
            defaults={
                "in_app": bool(values.get("in_app", defaults.in_app)),
                "email": bool(values.get("email", defaults.email)),
                "updated_at": now,
            },
        )


# --- the unread count (the bell) -------------------------------------------------------------


def _generation_key(user_id: int) -> str:
    return f"notif:gen:{user_id}"


def unread_count_invalidate(user_id: int) -> None:
    """Move the user's cache generation on, so every cached count is stale at once."""
    key = _generation_key(user_id)
    try:
        try:
            cache.incr(key)  # one round trip once the key exists, i.e. nearly always
        except ValueError:  # the user's first change (or the key was evicted)
            if not cache.add(key, 1, timeout=None):
                cache.incr(key)
    except Exception:  # a stale bell for a few minutes is acceptable; a failed request is not
        logger.warning("could not invalidate the unread count of %s", user_id, exc_info=True)


def _count_changed(user_id: int) -> None:
    """The unread count changes with this transaction: drop cached counts now (this
    transaction's reads see its own writes) and again after commit (a count cached by
    someone else meanwhile was read before the commit)."""
    unread_count_invalidate(user_id)
    transaction.on_commit(lambda: unread_count_invalidate(user_id))


def _after_change(user_id: int) -> None:
    """The bell's cached count is stale, and the user's sockets hear about it after commit."""
    _count_changed(user_id)
    broadcast_on_commit(user_group(user_id), {"type": "notification.unread"})


# --- notify ----------------------------------------------------------------------------------


def notify(
    *,
    user,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    data: dict | None = None,
    dedupe_key: str = "",
    allow_email: bool = True,
) -> Notification | None:
    """Tell `user` (a User or a user id) about something, in-app and/or by email.

    Call it inside the transaction that made the change: the notification row
    commits with it; the live push to `user.<id>` and the email (a Celery task)
    leave after commit. The user's preference for `kind` decides the channels;
    `allow_email=False` keeps it in-app only (the chat does that for people who
    are online). `dedupe_key` makes it once-only per user (jobs that may run
    twice). Returns the notification, or None when nothing was sent (both
    channels off, or already sent under `dedupe_key`).
    """
    user_id = getattr(user, "pk", user)
    kind = NotificationKind(kind).value  # ValueError for an unknown kind
    fields = dict(
        user_id=user_id,
        kind=kind,
        title=title[:140],
        body=(body or "")[:500],
        url=(url or "")[:300],
        data=data or {},
        dedupe_key=dedupe_key[:120],
    )
    if dedupe_key:
        if Notification.objects.filter(user_id=user_id, dedupe_key=fields["dedupe_key"]).exists():
            return None
        in_app, email = preference_for(user_id=user_id, kind=kind)
        email = email and allow_email
        try:
            with transaction.atomic():  # a savepoint: a racing twin must not break the caller
                notification = Notification.objects.create(
                    **fields, in_app=in_app, email_wanted=email
                )
        except IntegrityError:
            return None
        if not (in_app or email):
            # Both channels off: nothing is shown or sent, but the silent row remembers the
            # key, so the job that asks again (the sweep) moves past it instead of picking
            # the same opted-out rows first in every batch.
            return None
    else:
        notification = _insert_as_preferred(fields, allow_email=allow_email)
        if notification is None:
            return None
        in_app, email = notification.in_app, notification.email_wanted

    if in_app:
        _count_changed(user_id)
        broadcast_on_commit(
            user_group(user_id),
            {"type": "notification.new", "notification": notification_payload(notification)},
        )
    if email:
        notification_id = notification.pk
        transaction.on_commit(lambda: _email_later(notification_id), robust=True)
    return notification


def _insert_as_preferred(fields: dict, *, allow_email: bool) -> Notification | None:
    """Insert the notification with the channels the user's preference (else the kind's
    default) picks; None, and no row, when both are off.

    One INSERT ... SELECT instead of a preference look-up and an insert: notify runs
    inside every purchase. Plain SQL that PostgreSQL and SQLite both speak.
    """
    defaults = KIND_DEFAULTS[fields["kind"]]
    fields = {**fields, "created_at": timezone.now()}
    columns = list(fields)
    values = [
        Notification._meta.get_field(column.removesuffix("_id")).get_db_prep_save(
            fields[column], connection
        )
        for column in columns
    ]
    preference = (
        f"SELECT {{}} FROM {NotificationPreference._meta.db_table} WHERE user_id = %s AND kind = %s"
    )
    sql = (
        f"INSERT INTO {Notification._meta.db_table} ({', '.join(columns)}, in_app, email_wanted)"
        f" SELECT {', '.join(['%s'] * len(columns))}, p.in_app, p.email FROM ("
        f"SELECT COALESCE(({preference.format('in_app')}), %s) AS in_app,"
        f" COALESCE(({preference.format('email')}), %s) AND %s AS email) p"
        " WHERE p.in_app OR p.email RETURNING id, in_app, email_wanted"
    )
    who = [fields["user_id"], fields["kind"]]
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*values, *who, defaults.in_app, *who, defaults.email, bool(allow_email)]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    notification = Notification(pk=row[0], in_app=bool(row[1]), email_wanted=bool(row[2]), **fields)
    notification._state.adding = False
    notification._state.db = connection.alias
    return notification


def _email_later(notification_id: int) -> None:
    from support.tasks import notification_email_send

    notification_email_send.delay(notification_id)


def notification_payload(notification: Notification) -> dict:
    """The JSON shape of a notification (API, sockets)."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "kind_display": notification.get_kind_display(),
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "data": notification.data,
        "read": notification.read_at is not None,
        "created_at": notification.created_at.isoformat(),
    }


# --- read, delete ----------------------------------------------------------------------------


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of `user`'s notifications read (again is fine). NotFound for anyone else's."""
    notification = Notification.objects.filter(pk=notification_id, user=user, in_app=True).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        now = timezone.now()
        if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=now
        ):
            notification.read_at = now
            _after_change(user.pk)
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of `user` read. Returns how many changed."""
    changed = Notification.objects.filter(user=user, read_at__isnull=True, in_app=True).update(
        read_at=timezone.now()
    )
    if changed:
        _after_change(user.pk)
    return changed


def notifications_mark_read_where(*, user_id: int, kind: str, **data_match) -> int:
    """Mark `user_id`'s unread notifications of `kind` whose data matches read (chat: on read)."""
    lookups = {f"data__{key}": value for key, value in data_match.items()}
    changed = Notification.objects.filter(
        user_id=user_id, kind=kind, read_at__isnull=True, **lookups
    ).update(read_at=timezone.now())
    if changed:
        _after_change(user_id)
    return changed


def notification_delete(*, user, notification_id: int) -> None:
    deleted, _ = Notification.objects.filter(pk=notification_id, user=user, in_app=True).delete()
    if not deleted:
        raise NotFound("No such notification.")
    _after_change(user.pk)


# --- email -----------------------------------------------------------------------------------


# A lost email is sent up to 30 minutes late, no later: "your pass ends within the
# hour" is wrong an hour later.
EMAILS = mail.Outbox(
    Notification.objects.filter(email_wanted=True),
    claimed="email_claimed_at",
    sent="emailed_at",
    retry_window=timedelta(minutes=30),
)


def notification_emails_send_due(*, now=None, limit: int = 100) -> int:
    """Send wanted notification emails whose after-commit task never ran or died (retry job).

    Safe to run twice and late (flexpass.mail.Outbox.send_due).
    """
    now = now or timezone.now()
    return EMAILS.send_due(
        lambda pk: notification_email_deliver(notification_id=pk, now=now), now=now, limit=limit
    )


def notification_email_deliver(*, notification_id: int, now=None) -> bool:
    """Send a notification's email (HTML + text). True if this call sent it.

    Rendered first, then claimed, sent and marked emailed through the outbox
    (flexpass.mail), so a task run twice, or the task and the retry job, send
    it once; a send that may work later raises, for the task to retry.
    """
    now = now or timezone.now()
    notification = (
        Notification.objects.select_related("user__profile")
        .filter(pk=notification_id, email_wanted=True, emailed_at__isnull=True)
        .first()
    )
    if notification is None:
        return False
    user = notification.user
    if not user.email or not user.is_active:
        EMAILS.done(notification_id, now)  # nobody to send it to
        return False
    site = settings.SITE_URL.rstrip("/")
    context = {
        "notification": notification,
        "user": user,
        "name": user.display_name,
        "link": f"{site}{notification.url}" if notification.url.startswith("/") else "",
        "settings_link": f"{site}/notifications/settings/",
        "site": site,
    }
    subject = f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{notification.title}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("support/email/notification.txt", context),
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("support/email/notification.html", context), "text/html"
    )
    return EMAILS.send(notification_id, message, now)
