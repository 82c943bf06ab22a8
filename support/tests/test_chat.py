"""The chat services: messages, notifications to the other side, status, ratings, attachments."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from support import services
from support.errors import (
    AttachmentRefused,
    ChatRefused,
    ConversationNotFound,
    InvalidTransition,
    NotAllowed,
)
from support.models import (
    Conversation,
    CsatRating,
    Message,
    MessageKind,
    Notification,
    ReadMark,
)
from support.payloads import message_payload
from support.presence import presence_touch, viewing_touch
from support.selectors import conversations_for_customer, messages_after, with_unread
from support.services.notifications import preferences_update
from support.tests.factories import agent, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def asha():
    return person("Asha")


@pytest.fixture
def operator():
    return agent("Operator", seen=False)


@pytest.fixture
def conversation(asha):
    return services.conversation_start(
        customer=asha, subject="Top-up missing", body="My ₹500 has not arrived", client_id="c-1"
    )


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#5b4cf0").save(buffer, format="PNG")
    return buffer.getvalue()


# --- messages ---------------------------------------------------------------------------------


def test_starting_a_conversation_stores_it_open_with_its_first_message(asha, conversation):
    # Then
    assert (conversation.kind, conversation.status, conversation.customer_id) == (
        "support",
        "open",
        asha.pk,
    )
    messages = list(conversation.messages.values_list("sender_id", "body", "client_id"))
    assert messages == [(asha.pk, "My ₹500 has not arrived", "c-1")]
    assert conversation.last_message_preview == "My ₹500 has not arrived"


def test_the_same_client_id_is_stored_once(asha, conversation):
    # When the client resends a message it was not sure went through
    first, created_first = services.message_send(
        conversation_id=conversation.pk, sender=asha, body="Hello?", client_id="c-2"
    )
    again, created_again = services.message_send(
        conversation_id=conversation.pk, sender=asha, body="Hello?", client_id="c-2"
    )

    # Then
    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert Message.objects.filter(conversation=conversation, client_id="c-2").count() == 1


def test_a_stranger_cannot_post_and_nothing_is_stored(conversation):
    # Given someone who is not in the conversation
    stranger = person("Mallory")
    before = Message.objects.count()

    # When they post into it
    with pytest.raises(ConversationNotFound):
        services.message_send(conversation_id=conversation.pk, sender=stranger, body="hi")

    # Then
    assert Message.objects.count() == before


def test_only_staff_write_internal_notes(asha, operator, conversation):
    # When the customer tries, then the agent
    with pytest.raises(NotAllowed):
        services.message_send(conversation_id=conversation.pk, sender=asha, body="x", internal=True)
    note, _ = services.message_send(
        conversation_id=conversation.pk, sender=operator, body="VIP", internal=True
    )

    # Then the note is stored as a note, hidden from the customer's history
    assert note.kind == MessageKind.NOTE
    visible, _more = messages_after(conversation=conversation, user=asha)
    assert [m.body for m in visible] == ["My ₹500 has not arrived"]
    staff_view, _more = messages_after(conversation=conversation, user=operator)
    assert [m.body for m in staff_view] == ["My ₹500 has not arrived", "VIP"]


@pytest.mark.parametrize("body", ["", "   "])
def test_an_empty_message_is_refused(asha, conversation, body):
    with pytest.raises(ChatRefused):
        services.message_send(conversation_id=conversation.pk, sender=asha, body=body)
    assert conversation.messages.count() == 1


def test_an_agent_reply_claims_an_unassigned_conversation(operator, conversation):
    # When the agent answers
    services.message_send(conversation_id=conversation.pk, sender=operator, body="On it")

    # Then it is theirs
    conversation.refresh_from_db()
    assert conversation.assignee_id == operator.pk


@pytest.mark.parametrize("status", ["pending", "snoozed", "resolved"])
def test_a_customer_writing_again_reopens_the_conversation(asha, operator, conversation, status):
    # Given the conversation was moved on
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status=status
    )

    # When Asha writes
    services.message_send(conversation_id=conversation.pk, sender=asha, body="Still broken")

    # Then
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until, conversation.resolved_at) == (
        "open",
        None,
        None,
    )


def test_unread_counts_follow_read_marks(asha, operator, conversation):
    # Given two agent replies
    first, _ = services.message_send(conversation_id=conversation.pk, sender=operator, body="1")
    services.message_send(conversation_id=conversation.pk, sender=operator, body="2")
    assert [c.unread for c in conversations_for_customer(user=asha)] == [2]

    # When Asha reads the first
    services.conversation_read(conversation=conversation, user=asha, message_id=first.pk)

    # Then one is left; and a mark past the end is clamped to the last message
    assert [c.unread for c in conversations_for_customer(user=asha)] == [1]
    mark = services.conversation_read(conversation=conversation, user=asha, message_id=10**9)
    conversation.refresh_from_db()
    assert mark == conversation.last_message_id
    assert [c.unread for c in conversations_for_customer(user=asha)] == [0]
    # ... and it never moves back
    assert services.conversation_read(conversation=conversation, user=asha, message_id=1) == mark
    assert ReadMark.objects.get(conversation=conversation, user=asha).last_read_id == mark


# --- the other side hears about replies -------------------------------------------------------


def test_a_reply_to_an_away_customer_rings_the_bell_and_sends_one_email(
    asha, operator, conversation, django_capture_on_commit_callbacks
):
    # Given Asha has no FlexPass page open
    # When the agent replies twice before she reads
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Found it")
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Credited")

    # Then one notification and one email (no storm)
    notifications = list(Notification.objects.filter(user=asha).values_list("kind", "url"))
    assert notifications == [("chat_reply", f"/support/c/{conversation.pk}/")]
    assert [message.to for message in mail.outbox] == [[asha.email]]
    assert "Found it" in mail.outbox[0].body

    # When she reads the conversation
    last = conversation.messages.order_by("-id").first()
    services.conversation_read(conversation=conversation, user=asha, message_id=last.pk)

    # Then the notification is read too
    assert Notification.objects.get(user=asha).read_at is not None


def test_a_reply_to_an_online_customer_rings_the_bell_without_email(
    asha, operator, conversation, django_capture_on_commit_callbacks
):
    # Given Asha has a page open elsewhere on FlexPass
    presence_touch(asha.pk)

    # When the agent replies
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Found it")

    # Then the bell rings, no email
    assert Notification.objects.filter(user=asha, kind="chat_reply").count() == 1
    assert mail.outbox == []


def test_a_reply_after_the_customer_left_is_emailed_though_the_bell_rang_before(
    asha, operator, conversation, django_capture_on_commit_callbacks
):
    # Given a reply while Asha was online rang only the bell
    presence_touch(asha.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Looking")
    cache.delete(f"presence:{asha.pk}")  # she closed her last FlexPass page

    # When the agent replies again
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Refund sent")

    # Then this one reaches her by email
    assert [message.to for message in mail.outbox] == [[asha.email]]
    assert "Refund sent" in mail.outbox[0].body


def test_replies_to_someone_who_wants_no_chat_emails_ring_the_bell_once(
    asha, operator, conversation, django_capture_on_commit_callbacks
):
    # Given Asha switched chat-reply emails off, and is away
    preferences_update(user=asha, changes={"chat_reply": {"in_app": True, "email": False}})

    # When the agent replies twice before she reads
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Looking")
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Found it")

    # Then one notice on the bell, as for anyone else, and no email
    assert Notification.objects.filter(user=asha, kind="chat_reply").count() == 1
    assert mail.outbox == []


def test_a_customer_looking_at_the_chat_gets_no_notification(
    asha, operator, conversation, django_capture_on_commit_callbacks
):
    # Given Asha has this conversation open
    viewing_touch(conversation.pk, asha.pk)

    # When the agent replies
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send(conversation_id=conversation.pk, sender=operator, body="Found it")

    # Then the chat itself shows it: nothing else
    assert Notification.objects.filter(user=asha).count() == 0
    assert mail.outbox == []


def test_internal_notes_never_notify_the_customer(asha, operator, conversation):
    services.message_send(
        conversation_id=conversation.pk, sender=operator, body="Check ledger", internal=True
    )
    assert Notification.objects.filter(user=asha).count() == 0


# --- status -----------------------------------------------------------------------------------


def test_staff_resolve_with_a_line_in_the_conversation(operator, conversation):
    # When
    updated = services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status="resolved"
    )

    # Then
    assert updated.status == "resolved" and updated.resolved_at is not None
    line = conversation.messages.order_by("-id").first()
    assert (line.kind, line.body) == ("system", "Operator marked the conversation resolved")


def test_an_event_line_is_unread_for_the_other_side_only(asha, operator, conversation):
    # Given both sides have read everything
    services.message_send(conversation_id=conversation.pk, sender=operator, body="On it")
    services.conversation_read(conversation=conversation, user=asha, message_id=10**9)

    # When the operator resolves the conversation
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status="resolved"
    )

    # Then the line is news to Asha, not to the operator who did it; it speaks for FlexPass
    def unread(user):
        return with_unread(Conversation.objects.filter(pk=conversation.pk), user=user)[0].unread

    assert (unread(asha), unread(operator)) == (1, 0)
    line = conversation.messages.order_by("-id").first()
    assert message_payload(line)["sender"] == {"id": None, "name": "FlexPass", "role": "system"}


def test_a_customer_may_end_their_chat_but_not_snooze_it(asha, conversation):
    with pytest.raises(InvalidTransition):
        services.conversation_set_status(
            conversation_id=conversation.pk, acting_user=asha, status="snoozed"
        )
    conversation.refresh_from_db()
    assert conversation.status == "open"

    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=asha, status="resolved"
    )
    conversation.refresh_from_db()
    assert conversation.status == "resolved"


def test_snoozing_into_the_past_is_refused(operator, conversation):
    with pytest.raises(ChatRefused):
        services.conversation_set_status(
            conversation_id=conversation.pk,
            acting_user=operator,
            status="snoozed",
            snoozed_until=timezone.now() - timedelta(minutes=1),
        )


def test_snoozed_conversations_wake_up_when_their_time_comes(operator, conversation):
    # Given a conversation snoozed for ten minutes
    services.conversation_set_status(
        conversation_id=conversation.pk,
        acting_user=operator,
        status="snoozed",
        snoozed_until=timezone.now() + timedelta(minutes=10),
    )

    # When the job runs before and after
    early = services.conversations_wake_snoozed()
    late = services.conversations_wake_snoozed(now=timezone.now() + timedelta(minutes=11))

    # Then it woke once
    conversation.refresh_from_db()
    assert (early, late, conversation.status) == (0, 1, "open")


# --- CSAT -------------------------------------------------------------------------------------


def test_the_customer_rates_a_resolved_conversation_once_for_its_agent(
    asha, operator, conversation
):
    # Given the agent resolved Asha's conversation
    services.conversation_assign(
        conversation_id=conversation.pk, agent=operator, acting_user=operator
    )
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status="resolved"
    )
    conversation.refresh_from_db()

    # When she rates it, then tries again
    rating = services.csat_submit(conversation=conversation, user=asha, score=4, comment="Quick")
    with pytest.raises(InvalidTransition):
        services.csat_submit(conversation=conversation, user=asha, score=1)

    # Then one rating, counted for the agent
    assert list(CsatRating.objects.values_list("agent_id", "score", "comment")) == [
        (operator.pk, 4, "Quick")
    ]
    assert rating.conversation_id == conversation.pk


def test_an_open_conversation_cannot_be_rated(asha, conversation):
    with pytest.raises(InvalidTransition):
        services.csat_submit(conversation=conversation, user=asha, score=5)
    assert CsatRating.objects.count() == 0


@pytest.mark.parametrize("score", [0, 6, "5", True])
def test_ratings_are_whole_numbers_from_1_to_5(asha, operator, conversation, score):
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status="resolved"
    )
    conversation.refresh_from_db()
    with pytest.raises(ChatRefused):
        services.csat_submit(conversation=conversation, user=asha, score=score)
    assert CsatRating.objects.count() == 0


# --- attachments ------------------------------------------------------------------------------


def test_an_image_attachment_is_stored_privately(asha, conversation, settings):
    # When Asha sends a screenshot
    upload = SimpleUploadedFile("screen shot.png", png_bytes(), content_type="image/png")
    message, _ = services.message_send(
        conversation_id=conversation.pk, sender=asha, attachment=upload, client_id="f-1"
    )

    # Then it is kept outside the public media folder, typed by its content
    assert (message.attachment_name, message.attachment_type) == ("screen_shot.png", "image/png")
    assert message.attachment.path.startswith(settings.SUPPORT_ATTACHMENTS_ROOT)
    assert not message.attachment.path.startswith(settings.MEDIA_ROOT)
    assert message.attachment_size == len(png_bytes())


def test_a_pdf_is_accepted_and_renamed_by_what_it_is(asha, conversation):
    upload = SimpleUploadedFile("invoice.exe", b"%PDF-1.7\n%fake but pdf-shaped", "application/pdf")
    message, _ = services.message_send(
        conversation_id=conversation.pk, sender=asha, attachment=upload
    )
    assert (message.attachment_name, message.attachment_type) == ("invoice.pdf", "application/pdf")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("page.png", b"<html><script>alert(1)</script></html>", "Only images"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "damaged"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_wrong_or_damaged_files_are_refused(asha, conversation, name, content, error):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    with pytest.raises(AttachmentRefused, match=error):
        services.message_send(conversation_id=conversation.pk, sender=asha, attachment=upload)
    assert conversation.messages.count() == 1


def test_files_over_the_limit_are_refused(asha, conversation, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 2000, content_type="application/pdf")
    with pytest.raises(AttachmentRefused, match="at most"):
        services.message_send(conversation_id=conversation.pk, sender=asha, attachment=upload)
    assert conversation.messages.count() == 1


# --- consultations ----------------------------------------------------------------------------


@pytest.fixture
def metered_service():
    from marketplace.models import MeteredUnit, PlanKind
    from marketplace.tests.factories import PlanFactory, ServiceFactory

    service = ServiceFactory(name="CodePair Live")
    PlanFactory(
        service=service,
        kind=PlanKind.METERED,
        name="Per minute",
        price_paise=0,
        metered_rate_paise=1_500,
        metered_unit=MeteredUnit.MINUTE,
    )
    return service


def ask(customer, service):
    return services.consultation_start(
        customer=customer, service_slug=service.slug, subject="Review", body="Please"
    )


def set_status(consultation, user, status: str):
    return services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=user, status=status
    )


def in_progress(customer, service):
    """A consultation the customer (given ₹1,000) asked for, accepted and started by the vendor."""
    from marketplace.tests.factories import fund

    fund(customer, 100_000)
    vendor = service.vendor.user
    consultation = ask(customer, service)
    set_status(consultation, vendor, "accepted")
    return consultation, set_status(consultation, vendor, "in_progress")


def test_a_consultation_goes_to_the_vendor_with_the_metered_rate(
    asha, metered_service, django_capture_on_commit_callbacks
):
    # When Asha asks the vendor
    with django_capture_on_commit_callbacks(execute=True):
        consultation = services.consultation_start(
            customer=asha, service_slug=metered_service.slug, subject="", body="30 minutes?"
        )

    # Then the vendor has it, requested, billed per minute when in progress
    vendor = metered_service.vendor.user
    assert (consultation.kind, consultation.status, consultation.vendor_id) == (
        "consultation",
        "requested",
        vendor.pk,
    )
    assert (consultation.rate_paise, consultation.rate_unit) == (1_500, "minute")
    assert consultation.subject == "Question about CodePair Live"
    assert list(Notification.objects.filter(user=vendor).values_list("kind", flat=True)) == [
        "consultation"
    ]


def test_the_vendor_moves_a_consultation_forward_and_the_customer_hears(asha, metered_service):
    # Given a requested consultation, and money for the metered session
    from marketplace.tests.factories import fund

    fund(asha, 50_000)
    vendor = metered_service.vendor.user
    consultation = services.consultation_start(
        customer=asha, service_slug=metered_service.slug, subject="Review", body="Please"
    )

    # When the vendor accepts and starts it
    services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=vendor, status="accepted"
    )
    started = services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=vendor, status="in_progress"
    )

    # Then it runs since now and Asha was told twice
    assert started.status == "in_progress" and started.started_at is not None
    titles = list(
        Notification.objects.filter(user=asha).order_by("id").values_list("title", flat=True)
    )
    assert titles == [
        f"{vendor.display_name} accepted your consultation",
        f"{vendor.display_name} started your consultation",
    ]
    # ... and it cannot jump back
    with pytest.raises(InvalidTransition):
        services.conversation_set_status(
            conversation_id=consultation.pk, acting_user=vendor, status="requested"
        )


def test_a_closed_consultation_takes_no_more_messages(asha, metered_service):
    consultation = services.consultation_start(
        customer=asha, service_slug=metered_service.slug, subject="Review", body="Please"
    )
    services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=asha, status="closed"
    )
    with pytest.raises(ChatRefused):
        services.message_send(conversation_id=consultation.pk, sender=asha, body="one more")
    assert Conversation.objects.get(pk=consultation.pk).messages.filter(kind="text").count() == 1


def test_a_vendor_cannot_consult_themselves(metered_service):
    with pytest.raises(ChatRefused):
        services.consultation_start(
            customer=metered_service.vendor.user,
            service_slug=metered_service.slug,
            subject="",
            body="hi me",
        )
    assert Conversation.objects.count() == 0


def test_a_metered_consultation_is_billed_while_in_progress(asha, metered_service):
    # Given Asha has ₹1,000 and the vendor accepted her consultation
    from marketplace.tests.factories import fund
    from wallet.services import wallet_ensure

    fund(asha, 100_000)
    vendor = metered_service.vendor.user
    consultation = services.consultation_start(
        customer=asha, service_slug=metered_service.slug, subject="Review", body="Please"
    )
    services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=vendor, status="accepted"
    )

    # When the vendor starts it and closes it 90 seconds later
    from marketplace.models import MeteredSession

    started = services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=vendor, status="in_progress"
    )
    session = started.metered_session
    assert (session.status, session.rate_paise, session.unit) == ("running", 1_500, "minute")
    MeteredSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(seconds=90)
    )
    services.conversation_set_status(
        conversation_id=consultation.pk, acting_user=vendor, status="closed"
    )

    # Then two started minutes were billed and the rest of the reservation came back
    session.refresh_from_db()
    assert (session.status, session.cost_paise) == ("stopped", 3_000)
    assert wallet_ensure(user=asha).available.balance_paise == 100_000 - 3_000


def test_a_consultation_bills_the_rate_the_customer_saw_when_asking(asha, metered_service):
    # Given Asha asked at ₹15/minute, then the vendor raised the plan to ₹50/minute
    from marketplace.models import Plan
    from marketplace.tests.factories import fund

    fund(asha, 100_000)
    vendor = metered_service.vendor.user
    consultation = ask(asha, metered_service)
    Plan.objects.filter(pk=consultation.metered_plan_id).update(metered_rate_paise=5_000)
    set_status(consultation, vendor, "accepted")

    # When the vendor starts it
    started = set_status(consultation, vendor, "in_progress")

    # Then the meter runs at the rate she agreed to
    session = started.metered_session
    assert (session.rate_paise, session.unit) == (1_500, "minute")


def test_a_consultation_whose_meter_stopped_is_paused_not_left_running_free(asha, metered_service):
    # Given a consultation in progress, billed by its metered session
    from marketplace.services.sessions import session_stop

    vendor = metered_service.vendor.user
    consultation, started = in_progress(asha, metered_service)

    # When Asha stops the meter from her sessions page, and the vendor's chat pings
    session_stop(session_id=started.metered_session.pk, user=asha)
    services.consultation_heartbeat(conversation_id=consultation.pk, vendor_user_id=vendor.pk)

    # Then the consultation is paused (accepted), and the chat says why
    consultation.refresh_from_db()
    assert consultation.status == "accepted"
    last = consultation.messages.order_by("-id").first()
    assert (last.kind, "meter stopped" in last.body) == ("system", True)


def test_a_customer_closing_a_consultation_stops_the_meter_as_herself(asha, metered_service):
    consultation, started = in_progress(asha, metered_service)

    set_status(consultation, asha, "closed")

    session = started.metered_session
    session.refresh_from_db()
    assert (session.status, session.stop_reason) == ("stopped", "stopped_by_user")


def test_a_metered_consultation_does_not_start_without_funds(asha, metered_service):
    from wallet.errors import InsufficientFunds

    vendor = metered_service.vendor.user
    consultation = ask(asha, metered_service)
    set_status(consultation, vendor, "accepted")

    with pytest.raises(InsufficientFunds):
        set_status(consultation, vendor, "in_progress")

    consultation.refresh_from_db()
    assert (consultation.status, consultation.metered_session_id) == ("accepted", None)
