"""/api/v1/support/ and /api/v1/notifications/: membership, shapes, catch-up, read marks."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from support import services
from support.models import AuditLog, Conversation, Message, Notification, NotificationPreference
from support.tests.factories import agent, person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/support/conversations/"


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def asha():
    return person("Asha")


@pytest.fixture
def operator():
    return agent("Operator", seen=False)


@pytest.fixture
def conversation(asha):
    return services.conversation_start(customer=asha, subject="Top-up", body="Missing ₹500")


# --- membership -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"status": "resolved"}),
        ("get", "messages/", None),
        ("post", "messages/", {"body": "hi", "client_id": "x"}),
        ("post", "read/", {"message_id": 1}),
        ("post", "rating/", {"score": 5}),
    ],
)
def test_a_guessed_conversation_id_is_a_404_like_a_missing_one(conversation, method, suffix, body):
    # Given Ravi, who is not in Asha's conversation
    ravi = api_for(person("Ravi"))

    # When he tries it and an id that does not exist
    mine = getattr(ravi, method)(f"{BASE}{conversation.pk}/{suffix}", body, format="json")
    missing = getattr(ravi, method)(f"{BASE}{conversation.pk + 999}/{suffix}", body, format="json")

    # Then both answers are the same problem, and nothing changed
    assert mine.status_code == missing.status_code == 404
    assert mine.json()["code"] == missing.json()["code"] == "conversation_not_found"
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_anonymous_callers_get_401():
    assert APIClient().get(BASE).status_code == 401
    assert APIClient().get("/api/v1/notifications/").status_code == 401


# --- conversations ----------------------------------------------------------------------------


def test_a_customer_starts_and_lists_conversations(asha):
    client = api_for(asha)

    # When
    created = client.post(
        BASE, {"subject": "Refund", "body": "Please refund FP-000012"}, format="json"
    )
    listed = client.get(BASE)

    # Then
    assert created.status_code == 201
    body = created.json()
    assert (body["kind"], body["status"], body["subject"], body["customer"]["id"]) == (
        "support",
        "open",
        "Refund",
        asha.pk,
    )
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]
    assert listed.json()["results"][0]["last_message_preview"] == "Please refund FP-000012"


def test_messages_after_an_id_for_catch_up(asha, operator, conversation):
    # Given three agent replies
    ids = [
        services.message_send(conversation_id=conversation.pk, sender=operator, body=f"r{n}")[0].pk
        for n in range(3)
    ]

    # When Asha's app asks for what came after the first reply, two at a time
    page = api_for(asha).get(f"{BASE}{conversation.pk}/messages/", {"after": ids[0], "limit": 1})

    # Then
    assert page.status_code == 200
    assert [m["id"] for m in page.json()["results"]] == [ids[1]]
    assert page.json()["more"] is True
    assert page.json()["results"][0]["sender"]["role"] == "agent"


def test_messages_before_an_id_page_back_through_history(asha, operator, conversation):
    # Given the opening message and five agent replies
    for n in range(5):
        services.message_send(conversation_id=conversation.pk, sender=operator, body=f"r{n}")
    ids = list(conversation.messages.order_by("id").values_list("id", flat=True))
    url = f"{BASE}{conversation.pk}/messages/"

    # When Asha's app, holding the newest two, scrolls back two at a time
    newer = api_for(asha).get(url, {"before": ids[-2], "limit": 2}).json()
    oldest = api_for(asha).get(url, {"before": newer["results"][0]["id"], "limit": 2}).json()

    # Then each page is the next older one, oldest first, until none are left
    assert ([m["id"] for m in newer["results"]], newer["more"]) == (ids[-4:-2], True)
    assert ([m["id"] for m in oldest["results"]], oldest["more"]) == (ids[:2], False)


@pytest.mark.parametrize(
    "query", [{"before": "0"}, {"before": "soon"}, {"after": "latest"}, {"limit": "ten"}]
)
def test_a_bad_history_query_is_a_clear_400(asha, conversation, query):
    response = api_for(asha).get(f"{BASE}{conversation.pk}/messages/", query)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == list(query)


def test_starting_twice_with_one_client_id_opens_one_conversation(asha):
    client = api_for(asha)
    ask = {"subject": "Refund", "body": "Please refund FP-000012", "client_id": "m-123"}

    first = client.post(BASE, ask, format="json")
    again = client.post(BASE, ask, format="json")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Conversation.objects.filter(customer=asha).count() == 1


def test_posting_twice_with_one_client_id_stores_once(asha, conversation):
    client = api_for(asha)
    first = client.post(
        f"{BASE}{conversation.pk}/messages/", {"body": "hi", "client_id": "k1"}, format="json"
    )
    again = client.post(
        f"{BASE}{conversation.pk}/messages/", {"body": "hi", "client_id": "k1"}, format="json"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(client_id="k1").count() == 1


def test_an_attachment_goes_up_as_multipart_and_comes_back_to_members_only(
    asha, operator, conversation, client
):
    # Given a PNG
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), "white").save(buffer, format="PNG")
    upload = SimpleUploadedFile("receipt.png", buffer.getvalue(), content_type="image/png")

    # When Asha uploads it
    response = api_for(asha).post(
        f"{BASE}{conversation.pk}/messages/",
        {"attachment": upload, "body": "see"},
        format="multipart",
    )

    # Then members can download it, strangers get a 404
    assert response.status_code == 201
    url = response.json()["attachment"]["url"]
    client.force_login(operator)
    download = client.get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == buffer.getvalue()
    client.force_login(person("Ravi"))
    assert client.get(url).status_code == 404


def test_a_non_image_is_refused_with_a_problem(asha, conversation):
    upload = SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image", content_type="image/png")
    response = api_for(asha).post(
        f"{BASE}{conversation.pk}/messages/", {"attachment": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_refused"
    assert conversation.messages.count() == 1


def test_read_marks_and_unread_counts(asha, operator, conversation):
    reply, _ = services.message_send(conversation_id=conversation.pk, sender=operator, body="Hi")
    client = api_for(asha)
    assert client.get(BASE).json()["results"][0]["unread"] == 1

    response = client.post(
        f"{BASE}{conversation.pk}/read/", {"message_id": reply.pk}, format="json"
    )

    assert response.json() == {"last_read_id": reply.pk}
    assert client.get(BASE).json()["results"][0]["unread"] == 0


def test_staff_assign_by_round_robin_to_themselves_or_nobody(operator, conversation):
    client = api_for(operator)
    mine = client.post(f"{BASE}{conversation.pk}/assign/", {"agent": "me"}, format="json")
    nobody = client.post(f"{BASE}{conversation.pk}/assign/", {"agent": None}, format="json")
    assert mine.json()["assignee"]["id"] == operator.pk
    assert nobody.json()["assignee"] is None
    assert AuditLog.objects.filter(action="conversation_assign").count() == 2


def test_customers_cannot_assign(asha, conversation):
    response = api_for(asha).post(
        f"{BASE}{conversation.pk}/assign/", {"agent": "me"}, format="json"
    )
    assert response.status_code == 403
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_the_customer_rates_through_the_api(asha, operator, conversation):
    services.conversation_set_status(
        conversation_id=conversation.pk, acting_user=operator, status="resolved"
    )
    response = api_for(asha).post(f"{BASE}{conversation.pk}/rating/", {"score": 5}, format="json")
    assert response.status_code == 201
    assert response.json()["score"] == 5


def test_the_agent_queue_is_bounded_in_queries(operator, django_assert_max_num_queries):
    # Given many conversations with messages
    for number in range(12):
        conversation = services.conversation_start(
            customer=person(), subject=f"S{number}", body="x"
        )
        services.conversation_assign(
            conversation_id=conversation.pk, agent=operator, acting_user=operator
        )
    client = api_for(operator)
    client.get(BASE)

    # When the console's list is fetched
    with django_assert_max_num_queries(4):
        response = client.get(BASE, {"view": "mine"})

    # Then every row came in those queries
    assert len(response.json()["results"]) == 12


def test_presence_and_canned_replies_for_staff(operator):
    client = api_for(operator)
    assert (
        client.put("/api/v1/support/agent/", {"status": "busy"}, format="json").json()["status"]
        == "busy"
    )
    assert client.get("/api/v1/support/canned-replies/").status_code == 200
    assert api_for(person()).get("/api/v1/support/canned-replies/").status_code == 403


# --- notifications ----------------------------------------------------------------------------


@pytest.fixture
def notified(asha):
    return [
        services.notify(user=asha, kind="topup_captured", title=f"N{number}") for number in range(3)
    ]


def test_list_read_read_all_and_delete(asha, notified):
    client = api_for(asha)

    listed = client.get("/api/v1/notifications/")
    assert [row["title"] for row in listed.json()["results"]] == ["N2", "N1", "N0"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 3}

    read = client.post(f"/api/v1/notifications/{notified[0].pk}/read/")
    assert read.json()["read"] is True
    assert [
        r["title"]
        for r in client.get("/api/v1/notifications/", {"unread": "true"}).json()["results"]
    ] == ["N2", "N1"]

    assert client.delete(f"/api/v1/notifications/{notified[1].pk}/").status_code == 204
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 1}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert Notification.objects.filter(user=asha).count() == 2


def test_someone_elses_notification_is_a_404_and_stays(notified):
    ravi = api_for(person("Ravi"))
    assert ravi.post(f"/api/v1/notifications/{notified[0].pk}/read/").status_code == 404
    assert ravi.delete(f"/api/v1/notifications/{notified[0].pk}/").status_code == 404
    notified[0].refresh_from_db()
    assert notified[0].read_at is None


def test_preferences_read_and_change(asha):
    client = api_for(asha)
    before = {
        row["kind"]: row
        for row in client.get("/api/v1/notifications/preferences/").json()["results"]
    }
    assert (before["purchase_receipt"]["in_app"], before["purchase_receipt"]["email"]) == (
        True,
        False,
    )

    response = client.put(
        "/api/v1/notifications/preferences/",
        {"preferences": [{"kind": "purchase_receipt", "in_app": False, "email": True}]},
        format="json",
    )

    after = {row["kind"]: row for row in response.json()["results"]}
    assert (after["purchase_receipt"]["in_app"], after["purchase_receipt"]["email"]) == (
        False,
        True,
    )
    assert NotificationPreference.objects.filter(user=asha).count() == 1


def test_the_notification_list_is_bounded_in_queries(asha, django_assert_max_num_queries):
    for number in range(30):
        services.notify(user=asha, kind="pass_expiring", title=f"N{number}")
    client = api_for(asha)
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/notifications/", {"limit": 25})
    assert len(response.json()["results"]) == 25


def test_a_negative_page_size_gives_the_smallest_page(asha, operator, conversation):
    for n in range(2):
        services.message_send(conversation_id=conversation.pk, sender=operator, body=f"r{n}")

    page = api_for(asha).get(f"{BASE}{conversation.pk}/messages/", {"limit": -5})

    assert page.status_code == 200
    assert (len(page.json()["results"]), page.json()["more"]) == (1, True)
