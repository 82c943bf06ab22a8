"""The pages: add money -> simulated checkout -> return, and withdrawals, via the test client."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from billing.models import SimulatedOrder, TopUp, TopUpStatus, WebhookEvent, Withdrawal
from billing.tests.factories import UserFactory, available, fund, pay, reserved

pytestmark = pytest.mark.django_db


def start_topup(client, amount="500", headers=None, **fields):
    return client.post(
        reverse("billing:topup_start"), {"amount_rupees": amount, **fields}, headers=headers
    )


def test_topup_page_shows_the_form_quick_picks_and_limits(user_client):
    response = user_client.get(reverse("billing:topup_start"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Add money" in html
    for pick in ("₹100", "₹500", "₹1000"):
        assert f">{pick}</button>" in html
    assert "From ₹10.00 to ₹1,00,000.00 per top-up." in html
    assert 'data-testid="left-today">₹2,00,000.00<' in html
    assert "Test mode" in html
    assert 'name="idempotency_key"' in html


def test_topup_page_needs_login(client):
    response = client.get(reverse("billing:topup_start"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_posting_an_amount_redirects_to_checkout(user_client, user):
    response = start_topup(user_client, "1,000.50", idempotency_key="page-1")

    topup = TopUp.objects.get(user=user)
    assert topup.amount_paise == 100_050
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:checkout", args=[topup.gateway_order_id])


def test_a_double_submitted_form_opens_one_topup(user_client, user):
    first = start_topup(user_client, "500", idempotency_key="page-1")
    second = start_topup(user_client, "500", idempotency_key="page-1")

    assert first["Location"] == second["Location"]
    assert TopUp.objects.filter(user=user).count() == 1


def test_the_wallet_pages_quick_form_without_a_key_works(user_client, user):
    response = start_topup(user_client, "100")

    assert response.status_code == 302
    assert TopUp.objects.get(user=user).amount_paise == 10_000


def test_htmx_post_gets_a_client_redirect(user_client):
    response = start_topup(user_client, "100", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/billing/checkout/order_SIM")


@pytest.mark.parametrize(
    "amount, message",
    [
        ("5", "The smallest top-up is ₹10.00."),
        ("100001", "The largest single top-up is ₹1,00,000.00."),
        ("10.555", "Amounts have at most two decimal places (whole paise)."),
        ("ten", "Enter an amount in rupees, like 250 or 99.50."),
    ],
)
def test_bad_amounts_show_a_form_error(user_client, amount, message):
    response = start_topup(user_client, amount)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert TopUp.objects.count() == 0


def test_checkout_page_looks_like_a_payment_sheet(user_client):
    checkout_url = start_topup(user_client, "500")["Location"]

    response = user_client.get(checkout_url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "FlexPass" in html and "Wallet top-up" in html
    assert 'data-testid="checkout-amount">₹500.00<' in html
    assert "Test mode · simulated Razorpay" in html
    for outcome in ("succeed", "fail", "abandon"):
        assert f'value="{outcome}"' in html


def test_checkout_for_an_unknown_order_is_404(user_client):
    assert user_client.get(reverse("billing:checkout", args=["order_SIMnope"])).status_code == 404


def test_full_flow_succeed_credits_once_even_with_the_webhook_sent_twice(
    user_client, user, settings, django_capture_on_commit_callbacks
):
    settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = "inprocess"  # embedded mode's delivery
    checkout_url = start_topup(user_client, "500")["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        paid = user_client.post(checkout_url, {"outcome": "succeed"})
    returned = user_client.get(paid["Location"])

    query = parse_qs(urlsplit(paid["Location"]).query)
    assert paid["Location"].startswith(reverse("billing:topup_return"))
    assert set(query) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    assert returned.status_code == 200
    html = returned.content.decode()
    assert "Money added" in html
    assert 'data-testid="new-balance">₹500.00<' in html
    assert available(user) == 50_000
    topup = TopUp.objects.get()
    assert (topup.status, topup.captured_via) == (TopUpStatus.CAPTURED, "webhook")
    outcomes = sorted(WebhookEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["credited"]  # the second copy was a duplicate: no second row

    assert user_client.get(paid["Location"]).status_code == 200  # reload: still once
    assert available(user) == 50_000


def test_flow_return_before_webhook(user_client, user):
    checkout_url = start_topup(user_client, "250")["Location"]
    paid = user_client.post(checkout_url, {"outcome": "succeed"})  # webhooks off in this test

    returned = user_client.get(paid["Location"])

    assert "Money added" in returned.content.decode()
    assert available(user) == 25_000
    assert TopUp.objects.get().captured_via == "return"


def test_flow_fail(user_client, user, settings, django_capture_on_commit_callbacks):
    settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY = "inprocess"
    checkout_url = start_topup(user_client, "500")["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        failed = user_client.post(checkout_url, {"outcome": "fail"})
    returned = user_client.get(failed["Location"])

    html = returned.content.decode()
    assert "Payment failed" in html
    assert "Payment declined by the (simulated) bank." in html
    assert TopUp.objects.get().status == TopUpStatus.FAILED
    assert available(user) == 0


def test_flow_abandon_leaves_the_topup_pending_for_reconciliation(user_client, user):
    checkout_url = start_topup(user_client, "500")["Location"]

    abandoned = user_client.post(checkout_url, {"outcome": "abandon"})
    returned = user_client.get(abandoned["Location"])

    html = returned.content.decode()
    assert "Payment not completed" in html
    assert "You cancelled the payment. Nothing was charged." in html
    assert TopUp.objects.get().status == TopUpStatus.PENDING
    assert available(user) == 0


def test_return_with_a_tampered_signature_says_so_and_credits_nothing(user_client, user):
    checkout_url = start_topup(user_client, "500")["Location"]
    location = user_client.post(checkout_url, {"outcome": "succeed"})["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    query["razorpay_signature"] = "0" * 64

    returned = user_client.get(reverse("billing:topup_return"), query)

    assert returned.status_code == 400
    assert "We could not verify this payment" in returned.content.decode()
    assert available(user) == 0


def test_return_for_someone_elses_order_is_404(client, user):
    client.force_login(user)
    location = client.post(start_topup(client, "500")["Location"], {"outcome": "succeed"})[
        "Location"
    ]
    client.force_login(UserFactory())

    assert client.get(location).status_code == 404
    assert available(user) == 0


def test_return_without_a_session_still_credits_the_orders_owner(client, user):
    client.force_login(user)
    topup_location = start_topup(client, "500")["Location"]
    order_id = topup_location.rstrip("/").rsplit("/", 1)[1]
    client.logout()
    fields = pay(TopUp.objects.get(gateway_order_id=order_id))

    # Razorpay's callback_url is a cross-site POST: no session cookie, no CSRF token.
    returned = client.post(reverse("billing:topup_return"), fields)

    assert returned.status_code == 200
    assert "Money added" in returned.content.decode()
    assert "Log in to see your wallet" in returned.content.decode()
    assert available(user) == 50_000


def test_status_partial_for_htmx_polling(user_client, user):
    checkout_url = start_topup(user_client, "500")["Location"]
    topup = TopUp.objects.get()

    waiting = user_client.get(
        reverse("billing:topup_status", args=[topup.pk]), HTTP_HX_REQUEST="true"
    )
    pay(topup)
    from billing import services

    fields = pay(topup)
    services.topup_confirm_return(
        user=user,
        topup_id=topup.pk,
        payment_id=fields["razorpay_payment_id"],
        signature=fields["razorpay_signature"],
    )
    done = user_client.get(reverse("billing:topup_status", args=[topup.pk]), HTTP_HX_REQUEST="true")

    assert checkout_url
    assert "<html" not in waiting.content.decode()
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    assert "Confirming your payment" in waiting.content.decode()
    assert "Money added" in done.content.decode()
    assert "hx-trigger" not in done.content.decode()


def test_a_paid_order_cannot_be_paid_twice_at_checkout(user_client, user):
    checkout_url = start_topup(user_client, "500")["Location"]

    first = user_client.post(checkout_url, {"outcome": "succeed"})
    second = user_client.post(checkout_url, {"outcome": "succeed"})
    page = user_client.get(checkout_url)

    assert first["Location"] == second["Location"]
    assert SimulatedOrder.objects.get().payments.count() == 1
    assert "This order is already paid." in page.content.decode()


# --- withdrawals --------------------------------------------------------------------------


def test_withdraw_page_shows_balance_form_and_empty_list(user_client, user):
    fund(user, 100_000)

    response = user_client.get(reverse("billing:withdraw"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Withdraw to your bank" in html
    assert 'data-testid="available">₹1,000.00<' in html
    assert "No withdrawals yet." in html


def test_withdraw_form_reserves_and_lists_with_a_status_badge(user_client, user, staff):
    fund(user, 100_000)
    form = {
        "amount_rupees": "300",
        "account_holder": "Asha Rao",
        "account_number": "123456789012",
        "ifsc": "hdfc0001234",
        "idempotency_key": "page-w1",
    }

    posted = user_client.post(reverse("billing:withdraw"), form)
    listed = user_client.get(reverse("billing:withdraw"))

    assert posted.status_code == 302
    assert reserved(user) == 30_000
    html = listed.content.decode()
    assert "Under review" in html and "•••• 9012" in html and "HDFC0001234" in html
    assert "Withdrawal of ₹300.00 requested." in html

    from billing import services

    services.withdrawal_reject(
        withdrawal=Withdrawal.objects.get(), acting_user=staff, reason="Account closed"
    )
    partial = user_client.get(reverse("billing:withdraw"), HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "Rejected" in partial.content.decode() and "Account closed" in partial.content.decode()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"ifsc": "HDFC1001234"}, "Enter a valid IFSC"),
        (
            {"amount_rupees": "5000"},
            "You have ₹1,000.00 available; you asked to withdraw ₹5,000.00.",
        ),
        ({"amount_rupees": "50"}, "The smallest withdrawal is ₹100.00."),
    ],
)
def test_withdraw_form_errors(user_client, user, change, message):
    fund(user, 100_000)
    form = {
        "amount_rupees": "300",
        "account_holder": "Asha Rao",
        "account_number": "123456789012",
        "ifsc": "HDFC0001234",
        **change,
    }

    response = user_client.post(reverse("billing:withdraw"), form)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert reserved(user) == 0 and Withdrawal.objects.count() == 0
