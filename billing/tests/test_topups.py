"""Top-ups through the simulated Razorpay: limits, and a payment credited exactly once."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services
from billing.errors import InvalidPaymentSignature, TopUpNotFound, TopUpRefused
from billing.models import SimulatedOrder, TopUp, TopUpStatus, WebhookEvent
from billing.tests.factories import (
    UserFactory,
    account_balance,
    available,
    forged_captured_event,
    new_key,
    pay,
    signed_event,
)
from wallet.errors import IdempotencyConflict, InvalidAmount
from wallet.models import AccountKind, JournalEntry

pytestmark = pytest.mark.django_db


def start(user, amount_paise=50_000, key=None) -> TopUp:
    return services.topup_create(
        user=user, amount_paise=amount_paise, idempotency_key=key or new_key("topup")
    )


def credits_for(topup) -> int:
    return JournalEntry.objects.filter(idempotency_key=f"topup:{topup.pk}:capture").count()


# --- creating ----------------------------------------------------------------------------


def test_create_opens_a_simulated_order_for_the_amount(user):
    topup = start(user, 50_000)

    assert topup.status == TopUpStatus.CREATED
    assert topup.gateway == "simulated"
    assert topup.gateway_order_id.startswith("order_SIM")
    order = SimulatedOrder.objects.get(order_id=topup.gateway_order_id)
    assert (order.amount_paise, order.receipt, order.status) == (
        50_000,
        f"topup_{topup.pk}",
        "created",
    )
    assert available(user) == 0


def test_same_key_returns_the_same_topup_and_order(user):
    first = start(user, 50_000, key="k1")
    again = start(user, 50_000, key="k1")

    assert again.pk == first.pk
    assert again.gateway_order_id == first.gateway_order_id
    assert TopUp.objects.count() == 1 and SimulatedOrder.objects.count() == 1


def test_same_key_with_another_amount_is_refused(user):
    start(user, 50_000, key="k1")

    with pytest.raises(IdempotencyConflict):
        start(user, 60_000, key="k1")
    assert TopUp.objects.count() == 1


@pytest.mark.parametrize(
    "amount, message",
    [
        (999, "The smallest top-up is ₹10.00."),
        (10_000_001, "The largest single top-up is ₹1,00,000.00."),
    ],
)
def test_per_topup_limits(user, amount, message):
    with pytest.raises(TopUpRefused) as refused:
        start(user, amount)

    assert str(refused.value) == message
    assert TopUp.objects.count() == 0 and SimulatedOrder.objects.count() == 0


def test_limits_at_the_edges_are_allowed(user):
    assert start(user, 1_000).amount_paise == 1_000
    assert start(user, 10_000_000).amount_paise == 10_000_000


@pytest.mark.parametrize("amount", [0, -100, 12.5, "500", True, 10**13])
def test_amounts_that_are_not_positive_whole_paise_are_refused(user, amount):
    with pytest.raises(InvalidAmount):
        start(user, amount)
    assert TopUp.objects.count() == 0


def test_daily_limit_counts_captured_and_in_progress_topups(user):
    paid = start(user, 10_000_000)
    services.topup_confirm_return(user=user, topup_id=paid.pk, **return_args(pay(paid)))
    start(user, 9_000_000)  # still in progress: counts

    with pytest.raises(TopUpRefused) as refused:
        start(user, 1_000_001)

    assert "You can add up to ₹2,00,000.00 a day" in str(refused.value)
    assert "₹10,000.00 is left for today" in str(refused.value)
    assert start(user, 1_000_000).amount_paise == 1_000_000  # exactly up to the limit is fine
    assert TopUp.objects.filter(user=user).count() == 3


def test_daily_limit_ignores_other_days_and_users(user):
    yesterday = start(user, 10_000_000)
    TopUp.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=1))
    start(UserFactory(), 10_000_000)

    start(user, 10_000_000)
    start(user, 10_000_000)  # ₹2,00,000 today: exactly the limit


@pytest.mark.parametrize("status", [TopUpStatus.FAILED, TopUpStatus.EXPIRED])
def test_daily_limit_counts_failed_and_expired_topups_they_can_still_be_paid(user, status):
    earlier = start(user, 10_000_000)
    TopUp.objects.filter(pk=earlier.pk).update(status=status)
    start(user, 10_000_000)  # ₹2,00,000 asked today: the limit

    with pytest.raises(TopUpRefused, match="a day"):
        start(user, 1_000)


def test_gateway_failure_leaves_a_resumable_topup(user, monkeypatch):
    from billing.errors import GatewayUnavailable
    from billing.gateways.simulated import SimulatedRazorpay

    def down(self, **kwargs):
        raise GatewayUnavailable("down")

    with monkeypatch.context() as patch:
        patch.setattr(SimulatedRazorpay, "create_order", down)
        with pytest.raises(GatewayUnavailable):
            start(user, 50_000, key="k1")
    assert TopUp.objects.get().gateway_order_id is None

    resumed = start(user, 50_000, key="k1")

    assert resumed.gateway_order_id.startswith("order_SIM")
    assert TopUp.objects.count() == 1


# --- browser return ----------------------------------------------------------------------


def return_args(fields: dict) -> dict:
    return {"payment_id": fields["razorpay_payment_id"], "signature": fields["razorpay_signature"]}


def test_return_with_a_valid_signature_credits_the_wallet(user):
    topup = start(user, 50_000)
    clearing_before = account_balance(AccountKind.GATEWAY_CLEARING)

    result = services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(pay(topup)))

    assert result.status == TopUpStatus.CAPTURED
    assert result.captured_via == "return"
    assert result.gateway_payment_id.startswith("pay_SIM")
    assert available(user) == 50_000
    assert account_balance(AccountKind.GATEWAY_CLEARING) == clearing_before - 50_000
    entry = JournalEntry.objects.get(idempotency_key=f"topup:{topup.pk}:capture")
    assert result.entry_id == entry.pk
    assert (entry.kind, entry.category) == ("topup", "topup")
    assert sorted(p.amount_paise for p in entry.postings.all()) == [-50_000, 50_000]


def test_return_twice_credits_once(user):
    topup = start(user, 50_000)
    fields = pay(topup)

    services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(fields))
    services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(fields))

    assert available(user) == 50_000
    assert credits_for(topup) == 1


def test_return_with_a_tampered_signature_credits_nothing(user, caplog):
    topup = start(user, 50_000)
    fields = pay(topup)
    bad = fields["razorpay_signature"][:-1] + (
        "0" if fields["razorpay_signature"][-1] != "0" else "1"
    )

    with pytest.raises(InvalidPaymentSignature):
        services.topup_confirm_return(
            user=user, topup_id=topup.pk, payment_id=fields["razorpay_payment_id"], signature=bad
        )

    topup.refresh_from_db()
    assert topup.status == TopUpStatus.CREATED
    assert available(user) == 0
    assert credits_for(topup) == 0
    assert "payment signature mismatch" in caplog.text


def test_a_signature_made_for_another_order_is_refused(user):
    mine = start(user, 50_000)
    other = start(user, 10_000)
    other_fields = pay(other)  # a real, valid signature - for the other order

    with pytest.raises(InvalidPaymentSignature):
        services.topup_confirm_return(user=user, topup_id=mine.pk, **return_args(other_fields))

    assert available(user) == 0
    mine.refresh_from_db()
    assert mine.status == TopUpStatus.CREATED


def test_someone_elses_topup_is_not_found(user):
    topup = start(user, 50_000)
    fields = pay(topup)

    with pytest.raises(TopUpNotFound):
        services.topup_confirm_return(user=UserFactory(), topup_id=topup.pk, **return_args(fields))
    with pytest.raises(TopUpNotFound):
        services.topup_confirm_return(user=user, topup_id=999_999, **return_args(fields))
    assert available(user) == 0


# --- webhooks (through the HTTP endpoint) ------------------------------------------------


def test_return_then_webhook_credits_once(user, post_webhook):
    topup = start(user, 50_000)
    services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(pay(topup)))
    body, signature = signed_event(topup)

    response = post_webhook(body, signature, "evt_1")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "outcome": "already_captured"}
    assert available(user) == 50_000
    assert credits_for(topup) == 1


def test_webhook_then_return_credits_once(user, post_webhook):
    topup = start(user, 50_000)
    fields = pay(topup)
    body, signature = signed_event(topup)

    response = post_webhook(body, signature, "evt_1")
    after_webhook = available(user)
    result = services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(fields))

    assert response.json()["outcome"] == "credited"
    assert after_webhook == 50_000
    assert result.status == TopUpStatus.CAPTURED and result.captured_via == "webhook"
    assert available(user) == 50_000
    assert credits_for(topup) == 1


def test_the_same_webhook_twice_is_acknowledged_and_ignored(user, post_webhook):
    topup = start(user, 50_000)
    pay(topup)
    body, signature = signed_event(topup)

    first = post_webhook(body, signature, "evt_1")
    second = post_webhook(body, signature, "evt_1")

    assert (first.status_code, first.json()["outcome"]) == (200, "credited")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    assert available(user) == 50_000
    event = WebhookEvent.objects.get(signature_valid=True)
    assert (event.event_id, event.event_type, event.outcome) == (
        "evt_1",
        "payment.captured",
        "credited",
    )
    assert event.processed_at is not None and event.topup_id == topup.pk
    assert event.raw_body == body.decode()


def test_a_redelivery_under_a_new_event_id_still_credits_once(user, post_webhook):
    topup = start(user, 50_000)
    pay(topup)
    body, signature = signed_event(topup)

    post_webhook(body, signature, "evt_1")
    again = post_webhook(body, signature, "evt_2")

    assert again.json()["outcome"] == "already_captured"
    assert available(user) == 50_000
    assert credits_for(topup) == 1


def test_failed_payment_marks_the_topup_failed_and_credits_nothing(user, post_webhook):
    topup = start(user, 50_000)
    fields = pay(topup, "fail")
    body, signature = signed_event(topup, status="failed")

    response = post_webhook(body, signature, "evt_f")

    assert "razorpay_signature" not in fields
    assert response.json()["outcome"] == "failed"
    topup.refresh_from_db()
    assert topup.status == TopUpStatus.FAILED
    assert topup.failure_reason == "Payment declined by the (simulated) bank."
    assert available(user) == 0


def test_a_retry_that_succeeds_after_a_failed_attempt_is_credited(user, post_webhook):
    topup = start(user, 50_000)
    pay(topup, "fail")
    post_webhook(*signed_event(topup, status="failed"), "evt_f")
    fields = pay(topup, "succeed")

    result = services.topup_confirm_return(user=user, topup_id=topup.pk, **return_args(fields))

    assert result.status == TopUpStatus.CAPTURED
    assert available(user) == 50_000


def test_bad_webhook_signature_is_refused_logged_and_changes_nothing(user, post_webhook, caplog):
    topup = start(user, 50_000)
    pay(topup)
    body, signature = signed_event(topup)
    clearing_before = account_balance(AccountKind.GATEWAY_CLEARING)

    response = post_webhook(body, "0" * 64, "evt_1")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_webhook_signature"
    assert available(user) == 0
    assert account_balance(AccountKind.GATEWAY_CLEARING) == clearing_before
    topup.refresh_from_db()
    assert topup.status == TopUpStatus.CREATED
    refused = WebhookEvent.objects.get()
    assert (refused.signature_valid, refused.outcome, refused.event_id) == (
        False,
        "bad_signature",
        "evt_1",
    )
    assert "bad signature" in caplog.text
    # The forged call did not use up the event id: the real delivery still counts.
    assert post_webhook(body, signature, "evt_1").json()["outcome"] == "credited"
    assert available(user) == 50_000


def test_a_signed_body_with_one_byte_changed_is_refused(user, post_webhook):
    topup = start(user, 50_000)
    pay(topup)
    body, signature = signed_event(topup)

    response = post_webhook(body.replace(b'"amount":50000', b'"amount":50001'), signature)

    assert response.status_code == 400
    assert available(user) == 0


def test_a_forged_capture_signed_with_the_wrong_secret_is_refused(user, post_webhook):
    from billing.gateways.base import webhook_signature

    topup = start(user, 50_000)
    body = forged_captured_event(topup)

    response = post_webhook(body, webhook_signature(webhook_secret="guess", raw_body=body))

    assert response.status_code == 400
    assert available(user) == 0


def test_webhook_for_an_unknown_order_is_acknowledged_but_changes_nothing(user, post_webhook, sim):
    topup = start(user, 50_000)
    pay(topup)
    body, _ = signed_event(topup)
    body = body.replace(topup.gateway_order_id.encode(), b"order_SIMnotours000000")

    response = post_webhook(body, sim.sign_webhook(body))

    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_order"
    assert available(user) == 0


def test_capture_webhook_with_a_different_amount_is_not_credited(user, post_webhook, sim, caplog):
    topup = start(user, 50_000)
    pay(topup)
    body, _ = signed_event(topup)
    body = body.replace(b'"amount":50000', b'"amount":5000000')

    response = post_webhook(body, sim.sign_webhook(body))

    assert response.json()["outcome"] == "amount_mismatch"
    assert available(user) == 0
    assert "does not match" in caplog.text


def test_signed_body_that_is_not_json_is_a_400(post_webhook, sim):
    response = post_webhook(b"not json", sim.sign_webhook(b"not json"))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_webhook_payload"
    assert WebhookEvent.objects.count() == 0


def test_other_event_types_are_acknowledged_and_recorded(post_webhook, sim):
    body = b'{"event":"refund.processed","payload":{}}'

    response = post_webhook(body, sim.sign_webhook(body), "evt_r")

    assert response.json()["outcome"] == "ignored"
    assert WebhookEvent.objects.get().outcome == "ignored"


def test_webhook_endpoint_needs_no_login_or_csrf_token(user):
    from django.test import Client

    from billing.gateways import simulator

    body = b'{"event":"refund.processed","payload":{}}'
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/billing/webhooks/razorpay",
        data=body,
        content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=simulator().sign_webhook(body),
        HTTP_X_RAZORPAY_EVENT_ID="evt_x",
    )

    assert response.status_code == 200


def test_webhook_endpoint_is_throttled_per_ip(settings, post_webhook):
    settings.BILLING_WEBHOOK_RATE = "3/min"

    codes = [post_webhook(b"{}", "bad").status_code for _ in range(4)]

    assert codes == [400, 400, 400, 429]


def test_a_forged_body_with_a_nul_byte_is_refused_and_kept_for_the_audit(user, post_webhook):
    response = post_webhook(b'{"event": "payment.captured", "x": "\x00"}', "0" * 64, "evt_nul")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_webhook_signature")
    refused = WebhookEvent.objects.get()
    assert (refused.outcome, "\ufffd" in refused.raw_body) == ("bad_signature", True)


@pytest.mark.parametrize("payload", [[1], {"payment": [1]}, {"payment": {"entity": "x"}}])
def test_a_signed_event_without_a_payment_object_is_a_400(post_webhook, payload):
    from billing.gateways import simulator

    body = json.dumps({"event": "payment.captured", "payload": payload}).encode()

    response = post_webhook(body, simulator().sign_webhook(body), "evt_shape")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_webhook_payload")
