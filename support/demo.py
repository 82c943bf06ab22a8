"""Demo data for support: canned replies, the staff agent, a few conversations, a
consultation, notifications and some security events. Idempotent: each piece is
created once (found again by its subject / dedupe key)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from support import services
from support.models import (
    AgentProfile,
    AgentStatus,
    CannedReply,
    Conversation,
    SecurityEvent,
    SecurityEventKind,
)

CANNED = [
    ("hello", "Greeting", "Hi {name}! Thanks for reaching out, I'm looking into this now."),
    (
        "topup-delay",
        "Top-up not arrived",
        "Top-ups usually land within a minute. If the bank took the money, it will reach your "
        "wallet automatically within 30 minutes; nothing is lost. Could you share the time you paid?",
    ),
    (
        "refund",
        "Refund window",
        "Passes can be refunded within 24 hours of purchase if you have not used them. "
        "I've started the refund; you'll see it in your wallet statement.",
    ),
    (
        "bye",
        "Closing",
        "Glad I could help, {name}! I'll mark this resolved; reply any time to reopen it.",
    ),
]


def _user(email: str) -> User | None:
    return User.objects.filter(email=email).select_related("profile").first()


def seed_demo(stdout) -> None:
    asha = _user("asha@demo.flexpass.dev")
    ravi = _user("ravi@demo.flexpass.dev")
    staff = _user("staff@demo.flexpass.dev")
    if not (asha and ravi and staff):
        stdout.write("support demo: demo users missing, skipped")
        return

    for shortcut, title, body in CANNED:
        CannedReply.objects.get_or_create(
            shortcut=shortcut, defaults={"title": title, "body": body, "created_by": staff}
        )
    profile = services.agent_profile_ensure(user=staff)
    AgentProfile.objects.filter(pk=profile.pk).update(status=AgentStatus.ONLINE)

    with transaction.atomic():
        _resolved_conversation(asha, staff)
        _open_conversation(ravi, staff)
        _consultation(ravi)
        _notifications(asha)
        _security_events()
    stdout.write("support demo: canned replies, conversations, a consultation, notifications")


def _resolved_conversation(asha, staff) -> None:
    subject = "Top-up of ₹500 not showing"
    if Conversation.objects.filter(customer=asha, subject=subject).exists():
        return
    conversation = services.conversation_start(
        customer=asha,
        subject=subject,
        body="I paid ₹500 by UPI ten minutes ago but my wallet still shows the old balance.",
        client_id="demo-1",
    )
    services.conversation_assign(
        conversation_id=conversation.pk, agent=staff, acting_user=staff, reason="demo"
    )
    services.message_send(
        conversation_id=conversation.pk,
        sender=staff,
        body="Hi Asha! I can see the payment at the gateway; it was credited a minute ago. "
        "Could you refresh your wallet?",
        client_id="demo-2",
    )
    services.message_send(
        conversation_id=conversation.pk,
        sender=asha,
        body="Got it, it's there now. Thank you!",
        client_id="demo-3",
    )
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=staff, status="resolved"
    )
    conversation.refresh_from_db()
    services.csat_submit(conversation=conversation, user=asha, score=5, comment="Quick and clear.")


def _open_conversation(ravi, staff) -> None:
    subject = "Flash sale hold expired during checkout"
    if Conversation.objects.filter(customer=ravi, subject=subject).exists():
        return
    conversation = services.conversation_start(
        customer=ravi,
        subject=subject,
        body="My hold on the Midnight Madness headphones ran out while the payment page was "
        "loading. Was I charged?",
        client_id="demo-1",
    )
    services.message_send(
        conversation_id=conversation.pk,
        sender=staff,
        body="Checked the ledger: no charge was made, the hold simply lapsed. "
        "The item is back in stock if you'd like to try again.",
        client_id="demo-note-1",
        internal=True,
    )
    services.conversation_set_priority(
        conversation_id=conversation.pk, acting_user=staff, priority="high"
    )


def _consultation(ravi) -> None:
    subject = "Can you review my Django deployment?"
    if Conversation.objects.filter(customer=ravi, subject=subject).exists():
        return
    try:
        services.consultation_start(
            customer=ravi,
            service_slug="codepair-live",
            subject=subject,
            body="I'd like 30 minutes to go through my Docker and Postgres settings before launch.",
            client_id="demo-c1",
        )
    except Exception:  # the marketplace demo catalog is not there
        return


def _notifications(asha) -> None:
    now = timezone.now()
    for key, kind, title, body, url, minutes in [
        (
            "demo:topup",
            "topup_captured",
            "₹500.00 added to your wallet",
            "UPI payment · FlexPass test gateway",
            "/wallet/",
            180,
        ),
        (
            "demo:cashback",
            "cashback_released",
            "₹12.45 cashback released",
            "5% back on ImageGen Pro · Week pass",
            "/wallet/",
            90,
        ),
        (
            "demo:expiring",
            "pass_expiring",
            "Your ImageGen Pro pass ends in 45 minutes",
            "Day pass · renew to keep creating",
            "/passes/",
            30,
        ),
        (
            "demo:referral",
            "referral_reward",
            "Ravi joined with your link: ₹5.00 for you",
            "Thanks for spreading the word.",
            "/profile/",
            8,
        ),
    ]:
        notification = services.notify(
            user=asha, kind=kind, title=title, body=body, url=url, dedupe_key=key, allow_email=False
        )
        if notification is not None:
            type(notification).objects.filter(pk=notification.pk).update(
                created_at=now - timedelta(minutes=minutes)
            )


def _security_events() -> None:
    if SecurityEvent.objects.filter(email="mallory@example.com").exists():
        return
    now = timezone.now()
    rows = []
    for hours_ago, kind, email, ip in [
        (20, SecurityEventKind.LOGIN_FAILED, "mallory@example.com", "203.0.113.7"),
        (20, SecurityEventKind.LOGIN_FAILED, "mallory@example.com", "203.0.113.7"),
        (14, SecurityEventKind.LOGIN_CODE_REJECTED, "ravi@demo.flexpass.dev", "198.51.100.4"),
        (6, SecurityEventKind.LOGIN_FAILED, "asha@demo.flexpass.dev", "198.51.100.9"),
        (3, SecurityEventKind.LOGIN_FAILED, "mallory@example.com", "203.0.113.8"),
        (3, SecurityEventKind.LOGIN_FAILED, "mallory@example.com", "203.0.113.8"),
        (1, SecurityEventKind.LOGIN_CODE_REJECTED, "mallory@example.com", "203.0.113.8"),
    ]:
        rows.append(
            SecurityEvent(
                kind=kind,
                email=email,
                ip=ip,
                host="demo",
                created_at=now - timedelta(hours=hours_ago, minutes=7),
            )
        )
    SecurityEvent.objects.bulk_create(rows)
