"""The simulator's webhook sender (HTTP mode) and the admin actions on withdrawals."""

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from billing.models import TopUp, TopUpStatus, Withdrawal, WithdrawalStatus
from billing.tests.factories import available, fund, new_key, reserved
from wallet.models import JournalEntry

pytestmark = pytest.mark.django_db


class FakeResponse:
    def __init__(self, status_code):
        self.status_code = status_code


def test_http_mode_posts_signed_webhooks_to_our_endpoint(
    settings, user, monkeypatch, django_capture_on_commit_callbacks
):
    """With a Celery worker the simulator POSTs to SITE_URL + the webhook path (faked here)."""
    from billing import services
    from billing.gateways import simulator

    settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = "http"
    settings.SITE_URL = "http://flexpass.test"
    sent = []
    our_server = Client()

    def fake_post(url, data, headers, timeout):
        sent.append((url, headers["X-Razorpay-Event-Id"]))
        response = our_server.post(
            urlsplit(url).path,
            data=data,
            content_type=headers["Content-Type"],
            HTTP_X_RAZORPAY_SIGNATURE=headers["X-Razorpay-Signature"],
            HTTP_X_RAZORPAY_EVENT_ID=headers["X-Razorpay-Event-Id"],
        )
        return FakeResponse(response.status_code)

    monkeypatch.setattr("billing.tasks.requests.post", fake_post)
    topup = services.topup_create(user=user, amount_paise=50_000, idempotency_key=new_key())

    with django_capture_on_commit_callbacks(execute=True):
        simulator().complete_checkout(order_id=topup.gateway_order_id, outcome="succeed")

    assert len(sent) == 2  # SIMULATED_RAZORPAY_WEBHOOK_COPIES
    assert sent[0] == sent[1]
    assert sent[0][0] == "http://flexpass.test/api/v1/billing/webhooks/razorpay"
    topup.refresh_from_db()
    assert (topup.status, topup.captured_via) == (TopUpStatus.CAPTURED, "webhook")
    assert available(user) == 50_000


@pytest.mark.parametrize("failure", [requests.ConnectionError("refused"), FakeResponse(503)])
def test_webhook_sender_retries_with_backoff_when_our_endpoint_fails(monkeypatch, failure):
    from billing import tasks

    class RetryCalled(Exception):
        pass

    retries = []

    def post(url, data, headers, timeout):
        if isinstance(failure, Exception):
            raise failure
        return failure

    def retry(countdown):
        retries.append(countdown)
        return RetryCalled()

    monkeypatch.setattr("billing.tasks.requests.post", post)
    monkeypatch.setattr(tasks.simulated_webhook_send, "retry", retry)

    with pytest.raises(RetryCalled):
        tasks.simulated_webhook_send.run(raw_body="{}", signature="x", event_id="e")
    assert retries == [5]


# --- admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def make_withdrawal(user, amount=30_000) -> Withdrawal:
    from billing import services

    return services.withdrawal_request(
        user=user,
        amount_paise=amount,
        account_holder="Asha Rao",
        account_number="123456789012",
        ifsc="HDFC0001234",
        idempotency_key=new_key("wd"),
    )


CHANGELIST = "/admin/billing/withdrawal/"


def test_admin_approve_action_pays_out_once(admin_client, user, staff):
    fund(user, 100_000)
    withdrawal = make_withdrawal(user)
    action = {"action": "approve", "_selected_action": [withdrawal.pk]}

    first = admin_client.post(CHANGELIST, action, follow=True)
    second = admin_client.post(CHANGELIST, action, follow=True)

    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reviewed_by) == (WithdrawalStatus.APPROVED, staff)
    assert "Approved 1 withdrawal(s)." in first.content.decode()
    assert "already reviewed" in second.content.decode()
    assert (available(user), reserved(user)) == (70_000, 0)
    entry = JournalEntry.objects.filter(kind="withdrawal").get()
    assert entry.acting_user == staff


def test_admin_reject_action_asks_for_a_reason_then_releases(admin_client, user, staff):
    fund(user, 100_000)
    withdrawal = make_withdrawal(user)
    action = {"action": "reject", "_selected_action": [withdrawal.pk]}

    form = admin_client.post(CHANGELIST, action)
    done = admin_client.post(
        CHANGELIST, {**action, "apply": "1", "reason": "IFSC belongs to another bank"}, follow=True
    )

    assert form.status_code == 200 and "Reject with this reason" in form.content.decode()
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (
        WithdrawalStatus.REJECTED,
        "IFSC belongs to another bank",
    )
    assert "Rejected 1 withdrawal(s)." in done.content.decode()
    assert (available(user), reserved(user)) == (100_000, 0)


def test_admin_records_a_payout_the_bank_returned_and_the_money_goes_back(
    admin_client, user, staff
):
    from billing import services

    fund(user, 100_000)
    withdrawal = services.withdrawal_approve(withdrawal=make_withdrawal(user), acting_user=staff)
    action = {"action": "mark_returned", "_selected_action": [withdrawal.pk]}

    form = admin_client.post(CHANGELIST, action)
    done = admin_client.post(
        CHANGELIST, {**action, "apply": "1", "reason": "Account closed"}, follow=True
    )
    again = admin_client.post(
        CHANGELIST, {**action, "apply": "1", "reason": "Account closed"}, follow=True
    )

    assert "sent back 1 paid-out withdrawal(s)" in form.content.decode()
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reason) == (WithdrawalStatus.RETURNED, "Account closed")
    assert "Returned 1 withdrawal(s)." in done.content.decode()
    assert "only a paid-out withdrawal can come back" in again.content.decode()
    assert (available(user), reserved(user)) == (100_000, 0)


def test_admin_pages_render_read_only(admin_client, user):
    from billing import services

    services.topup_create(user=user, amount_paise=50_000, idempotency_key="a")
    topup = TopUp.objects.get()

    for url in (
        "/admin/billing/topup/",
        f"/admin/billing/topup/{topup.pk}/change/",
        "/admin/billing/webhookevent/",
        CHANGELIST,
        "/admin/billing/simulatedorder/",
    ):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get("/admin/billing/topup/add/").status_code == 403
    assert reverse("admin:billing_withdrawal_changelist") == CHANGELIST
