"""Support pages: the bell and widget on every page, chats, console, inbox, notifications."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from support import services
from support.models import AuditLog, Notification, NotificationPreference
from support.tests.factories import agent, person

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def asha():
    return person("Asha")


@pytest.fixture
def operator():
    return agent("Operator", seen=False)


@pytest.fixture
def conversation(asha):
    return services.conversation_start(customer=asha, subject="Top-up", body="Missing ₹500")


# --- the bell and the widget on every page ----------------------------------------------------


def test_anonymous_pages_have_no_bell_and_no_widget(client):
    html = client.get("/").content.decode()
    assert 'data-testid="bell"' not in html
    assert "js/support.js" not in html


def test_a_customer_sees_the_bell_count_and_the_chat_launcher(client, asha):
    # Given two unread notifications
    services.notify(user=asha, kind="topup_captured", title="₹500.00 added")
    services.notify(user=asha, kind="chat_reply", title="Support replied")
    client.force_login(asha)

    # When she opens any page
    html = client.get("/").content.decode()

    # Then
    assert 'data-testid="bell-count" >2</span>' in html
    assert 'data-testid="chat-launcher"' in html
    assert 'data-unread="1"' in html  # the support reply


def test_staff_get_the_bell_but_no_customer_launcher(client, operator):
    client.force_login(operator)
    html = client.get("/").content.decode()
    assert 'data-testid="bell"' in html
    assert 'data-testid="chat-launcher"' not in html


def test_the_bell_costs_no_query_once_cached(client, asha):
    # Given Asha has loaded a page (the count is cached now)
    services.notify(user=asha, kind="topup_captured", title="₹500.00 added")
    client.force_login(asha)
    client.get("/")

    # When she loads another
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")

    # Then the notifications table was not read
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if "support_notification" in q["sql"]]

    # When something new happens, the next page shows it (one query)
    services.notify(user=asha, kind="cashback_released", title="₹5 back")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/").content.decode()
    assert 'data-testid="bell-count" >2</span>' in html
    assert len([q for q in queries.captured_queries if "support_notification" in q["sql"]]) == 1


# --- customers --------------------------------------------------------------------------------


def test_the_widget_offers_to_start_then_shows_the_conversation(client, asha):
    client.force_login(asha)
    empty = client.get(reverse("support:widget"), **HTMX).content.decode()
    assert 'data-testid="widget-start"' in empty

    started = client.post(
        reverse("support:new"), {"from": "widget", "subject": "Help", "body": "My pass"}, **HTMX
    )

    assert started.status_code == 200
    assert "data-chat-root" in started.content.decode()
    again = client.get(reverse("support:widget"), **HTMX).content.decode()
    assert "My pass" in again  # the history is in the panel's data


def test_a_member_sees_the_conversation_and_a_stranger_gets_404(client, asha, conversation):
    client.force_login(asha)
    page = client.get(reverse("support:conversation", args=[conversation.pk]))
    assert page.status_code == 200
    assert "Missing \\u20b9500" in page.content.decode()  # in the chat's JSON data

    client.force_login(person("Ravi"))
    assert client.get(reverse("support:conversation", args=[conversation.pk])).status_code == 404
    assert (
        client.post(
            reverse("support:status", args=[conversation.pk]), {"status": "resolved"}
        ).status_code
        == 404
    )
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_the_customer_ends_the_chat_and_rates_it(client, asha, conversation):
    client.force_login(asha)
    client.post(reverse("support:status", args=[conversation.pk]), {"status": "resolved"})
    rated = client.post(reverse("support:rate", args=[conversation.pk]), {"score": "5"}, **HTMX)
    assert "Thanks for rating" in rated.content.decode()
    conversation.refresh_from_db()
    assert (conversation.status, conversation.rating.score) == ("resolved", 5)


def test_the_support_page_lists_conversations_in_bounded_queries(
    client, asha, django_assert_max_num_queries
):
    for number in range(15):
        services.conversation_start(customer=asha, subject=f"S{number}", body="x")
    client.force_login(asha)
    client.get(reverse("support:home"))
    with django_assert_max_num_queries(6):
        response = client.get(reverse("support:home"))
    assert response.content.decode().count('data-testid="conversation-row"') == 15


# --- agents -----------------------------------------------------------------------------------


def test_the_console_is_for_staff(client, asha):
    client.force_login(asha)
    response = client.get(reverse("support:console"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_console_lists_and_opens_conversations_in_bounded_queries(
    client, operator, django_assert_max_num_queries
):
    conversations = [
        services.conversation_start(customer=person(), subject=f"S{n}", body="x") for n in range(10)
    ]
    client.force_login(operator)
    url = reverse("support:console") + f"?view=unassigned&c={conversations[0].pk}"
    client.get(url)
    with django_assert_max_num_queries(16):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('data-testid="conversation-row"') == 10
    assert 'data-testid="details"' in html


def test_staff_assign_prioritise_and_resolve_from_the_console(client, operator, conversation):
    client.force_login(operator)
    client.post(reverse("support:console_assign", args=[conversation.pk]), {"agent": "me"}, **HTMX)
    client.post(
        reverse("support:console_priority", args=[conversation.pk]), {"priority": "urgent"}, **HTMX
    )
    pane = client.post(
        reverse("support:console_status", args=[conversation.pk]), {"status": "resolved"}, **HTMX
    )
    conversation.refresh_from_db()
    assert (conversation.assignee_id, conversation.priority, conversation.status) == (
        operator.pk,
        "urgent",
        "resolved",
    )
    assert 'data-testid="pane-status">Resolved' in pane.content.decode()
    assert AuditLog.objects.filter(action="conversation_assign", actor=operator).count() == 1


@pytest.mark.parametrize(
    ("view", "fields"),
    [
        ("support:console_status", {"status": "snoozed", "snooze_minutes": "99999999999"}),
        ("support:console_status", {"status": "snoozed", "snoozed_until": "2030-02-30T10:00"}),
        ("support:status", {"status": "snoozed", "snoozed_until": "2030-01-01T10:00"}),
        ("support:console_assign", {"agent": "abc"}),
    ],
    ids=["minutes-overflow", "no-such-day", "naive-time", "agent-not-a-number"],
)
def test_odd_console_input_is_a_toast_or_a_change_never_a_500(
    client, operator, conversation, view, fields
):
    client.force_login(operator)

    response = client.post(reverse(view, args=[conversation.pk]), fields, **HTMX)

    assert response.status_code in (200, 204)
    conversation.refresh_from_db()
    if conversation.status == "snoozed":  # a far or naive time was read sensibly
        assert conversation.snoozed_until > timezone.now()


def test_the_status_form_goes_back_only_to_our_own_pages(client, asha, conversation):
    client.force_login(asha)

    response = client.post(
        reverse("support:status", args=[conversation.pk]),
        {"status": "resolved", "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("support:conversation", args=[conversation.pk])


def test_an_agent_sets_their_presence(client, operator):
    client.force_login(operator)
    response = client.post(reverse("support:console_presence"), {"status": "busy"}, **HTMX)
    assert 'class="presence busy"' in response.content.decode()
    assert operator.support_agent.status == "online"  # the cached instance
    operator.support_agent.refresh_from_db()
    assert operator.support_agent.status == "busy"


# --- consultations ----------------------------------------------------------------------------


def test_the_service_page_offers_ask_the_vendor_to_customers_not_to_its_vendor(client, asha):
    # Given a live service
    from marketplace.tests.factories import PlanFactory, ServiceFactory

    service = ServiceFactory(name="CodePair Live")
    PlanFactory(service=service)
    page = reverse("marketplace:service", args=[service.slug])
    button = f'href="{reverse("support:consult", args=[service.slug])}" data-testid="ask-vendor"'

    # When a signed-in customer opens it, they get the button to the consultation start
    client.force_login(asha)
    assert button in client.get(page).content.decode()
    assert client.get(reverse("support:consult", args=[service.slug])).status_code == 200

    # ... but not the service's own vendor (the page's cached part is shared)
    client.force_login(service.vendor.user)
    assert 'data-testid="ask-vendor"' not in client.get(page).content.decode()

    # ... nor someone signed out
    client.logout()
    assert 'data-testid="ask-vendor"' not in client.get(page).content.decode()


def test_a_customer_asks_a_vendor_and_the_vendor_sees_it_in_the_inbox(client, asha):
    from marketplace.tests.factories import PlanFactory, ServiceFactory

    service = ServiceFactory(name="CodePair Live")
    PlanFactory(service=service)
    client.force_login(asha)
    response = client.post(
        reverse("support:consult", args=[service.slug]), {"subject": "", "body": "Can we pair?"}
    )
    assert response.status_code == 302

    client.force_login(service.vendor.user)
    inbox = client.get(reverse("support:inbox")).content.decode()
    assert "Can we pair?" in inbox
    assert 'data-testid="accept"' in inbox


# --- notifications ----------------------------------------------------------------------------


def test_the_notification_list_reads_marks_and_deletes(client, asha):
    made = [
        services.notify(user=asha, kind="topup_captured", title=f"Top-up {n}") for n in range(3)
    ]
    client.force_login(asha)

    page = client.get(reverse("support:notifications")).content.decode()
    assert page.count('data-testid="notification"') == 3

    client.post(reverse("support:notification_read", args=[made[0].pk]), **HTMX)
    fragment = client.post(reverse("support:notification_delete", args=[made[1].pk]), **HTMX)
    assert fragment.content.decode().count('data-testid="notification"') == 2
    unread = client.get(reverse("support:notifications") + "?show=unread").content.decode()
    assert unread.count('data-testid="notification"') == 1

    client.post(reverse("support:notifications_read_all"), **HTMX)
    assert Notification.objects.filter(user=asha, read_at__isnull=True).count() == 0


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, asha):
    notification = services.notify(user=asha, kind="topup_captured", title="Added", url="/wallet/")
    client.force_login(asha)
    response = client.post(
        reverse("support:notification_read", args=[notification.pk]), {"go": "1"}
    )
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_the_notification_page_is_bounded_in_queries(client, asha, django_assert_max_num_queries):
    for number in range(40):
        services.notify(user=asha, kind="pass_expiring", title=f"N{number}")
    client.force_login(asha)
    client.get(reverse("support:notifications"))
    with django_assert_max_num_queries(6):
        response = client.get(reverse("support:notifications"))
    assert response.content.decode().count('data-testid="notification"') == 20


def test_notification_settings_are_saved_per_kind(client, asha):
    client.force_login(asha)
    form = {"topup_captured-in_app": "on"}  # everything else unticked
    client.post(reverse("support:notification_settings"), form)
    saved = dict(NotificationPreference.objects.filter(user=asha).values_list("kind", "email"))
    assert saved["topup_captured"] is False
    assert NotificationPreference.objects.get(user=asha, kind="topup_captured").in_app is True
    assert NotificationPreference.objects.get(user=asha, kind="chat_reply").in_app is False
