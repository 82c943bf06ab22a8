"""Gateway signatures with known HMAC vectors, the real adapter with a faked network, selection."""

import json

import pytest
import requests

from billing.errors import GatewayUnavailable
from billing.gateways import active_gateway, gateway_named
from billing.gateways.base import payment_signature, webhook_signature
from billing.gateways.razorpay_live import RazorpayGateway
from billing.gateways.simulated import SimulatedRazorpay

# Vectors computed independently: `printf '%s' MSG | openssl dgst -sha256 -hmac SECRET`.
ORDER_ID = "order_IluGWxBm9U8zJ8"
PAYMENT_ID = "pay_IluGXXeyBq6Z2p"
KEY_SECRET = "rzp_secret_TEST"
PAYMENT_SIGNATURE = "bf64a29379d33d3e2f4983f570be586471d1613e5f8bf2cb8e4d5ca5cf63ab77"
WEBHOOK_SECRET = "whsec_TEST"
WEBHOOK_BODY = (
    '{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_IluGXXeyBq6Z2p",'
    '"amount":50000,"notes":{"memo":"₹500 top-up"}}}}}'
).encode()
WEBHOOK_SIGNATURE = "24b03b08af331762a8c7e98e8d57b37a672ccafc7bad0bfe7cb1fb6b1615b438"


def tamper(text: str, index: int = 10) -> str:
    swapped = "0" if text[index] != "0" else "1"
    return text[:index] + swapped + text[index + 1 :]


@pytest.fixture
def live():
    return RazorpayGateway(
        key_id="rzp_test_KEY", key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET
    )


def test_our_signing_helpers_match_the_known_vectors():
    assert (
        payment_signature(key_secret=KEY_SECRET, order_id=ORDER_ID, payment_id=PAYMENT_ID)
        == PAYMENT_SIGNATURE
    )
    assert webhook_signature(webhook_secret=WEBHOOK_SECRET, raw_body=WEBHOOK_BODY) == (
        WEBHOOK_SIGNATURE
    )


def test_razorpay_package_accepts_the_known_payment_signature(live):
    assert (
        live.verify_payment_signature(
            order_id=ORDER_ID, payment_id=PAYMENT_ID, signature=PAYMENT_SIGNATURE
        )
        is True
    )


@pytest.mark.parametrize(
    "order_id, payment_id, signature",
    [
        (ORDER_ID, PAYMENT_ID, tamper(PAYMENT_SIGNATURE)),
        (ORDER_ID, PAYMENT_ID, tamper(PAYMENT_SIGNATURE, index=-1)),
        (tamper(ORDER_ID), PAYMENT_ID, PAYMENT_SIGNATURE),
        (ORDER_ID, tamper(PAYMENT_ID), PAYMENT_SIGNATURE),
        (ORDER_ID, PAYMENT_ID, PAYMENT_SIGNATURE.upper()),
        (ORDER_ID, PAYMENT_ID, ""),
    ],
)
def test_razorpay_package_refuses_a_tampered_payment_signature(
    live, order_id, payment_id, signature
):
    assert (
        live.verify_payment_signature(order_id=order_id, payment_id=payment_id, signature=signature)
        is False
    )


def test_razorpay_package_accepts_the_known_webhook_signature_over_raw_utf8_bytes(live):
    assert live.verify_webhook_signature(raw_body=WEBHOOK_BODY, signature=WEBHOOK_SIGNATURE)


def test_razorpay_webhook_signature_refuses_tampering_and_reserialised_json(live):
    reserialised = json.dumps(json.loads(WEBHOOK_BODY)).encode()  # spaces, \u20b9: other bytes
    tampered_body = WEBHOOK_BODY.replace(b"50000", b"50001")

    assert not live.verify_webhook_signature(
        raw_body=WEBHOOK_BODY, signature=tamper(WEBHOOK_SIGNATURE)
    )
    assert not live.verify_webhook_signature(raw_body=tampered_body, signature=WEBHOOK_SIGNATURE)
    assert not live.verify_webhook_signature(raw_body=reserialised, signature=WEBHOOK_SIGNATURE)
    assert not live.verify_webhook_signature(raw_body=b"\xff\xfe", signature=WEBHOOK_SIGNATURE)
    assert not live.verify_webhook_signature(raw_body=WEBHOOK_BODY, signature="")


def test_razorpay_webhook_without_a_secret_accepts_nothing():
    gateway = RazorpayGateway(key_id="rzp_test_KEY", key_secret=KEY_SECRET, webhook_secret="")
    unkeyed = webhook_signature(webhook_secret="", raw_body=WEBHOOK_BODY)

    assert not gateway.verify_webhook_signature(raw_body=WEBHOOK_BODY, signature=unkeyed)


def test_simulated_gateway_signs_and_verifies_like_razorpay():
    gateway = SimulatedRazorpay(key_id="k", key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)

    assert gateway.verify_payment_signature(
        order_id=ORDER_ID, payment_id=PAYMENT_ID, signature=PAYMENT_SIGNATURE
    )
    assert not gateway.verify_payment_signature(
        order_id=ORDER_ID, payment_id=PAYMENT_ID, signature=tamper(PAYMENT_SIGNATURE)
    )
    assert gateway.verify_webhook_signature(raw_body=WEBHOOK_BODY, signature=WEBHOOK_SIGNATURE)
    assert not gateway.verify_webhook_signature(
        raw_body=WEBHOOK_BODY, signature=tamper(WEBHOOK_SIGNATURE)
    )


# --- the real adapter's network calls, faked at the HTTP session -------------------------


class FakeResponse:
    def __init__(self, status_code: int, body: dict):
        self.status_code = status_code
        self._body = body

    def json(self):
        return self._body


class FakeRazorpaySession:
    """Stands in for requests.Session inside razorpay.Client: records calls, returns canned JSON."""

    def __init__(self, responses: dict[tuple[str, str], FakeResponse] | Exception):
        self.responses = responses
        self.calls: list[tuple[str, str, dict]] = []

    def _answer(self, method: str, url: str, **kwargs):
        self.calls.append((method, url, kwargs))
        if isinstance(self.responses, Exception):
            raise self.responses
        path = url.split("/v1", 1)[1]
        return self.responses[(method, path)]

    def post(self, url, **kwargs):
        return self._answer("post", url, **kwargs)

    def get(self, url, **kwargs):
        return self._answer("get", url, **kwargs)


def live_with(session) -> RazorpayGateway:
    return RazorpayGateway(
        key_id="rzp_test_KEY", key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET, session=session
    )


def test_create_order_posts_amount_currency_and_receipt():
    session = FakeRazorpaySession(
        {("post", "/orders"): FakeResponse(200, {"id": "order_REAL123", "status": "created"})}
    )

    order_id = live_with(session).create_order(amount_paise=50_000, receipt="topup_7")

    assert order_id == "order_REAL123"
    method, url, kwargs = session.calls[0]
    assert url == "https://api.razorpay.com/v1/orders"
    assert json.loads(kwargs["data"]) == {
        "amount": 50_000,
        "currency": "INR",
        "receipt": "topup_7",
        "payment_capture": 1,  # what we credit on return must be captured, not just authorised
    }
    assert kwargs["auth"] == ("rzp_test_KEY", KEY_SECRET)


@pytest.mark.parametrize(
    "responses",
    [
        {
            ("post", "/orders"): FakeResponse(
                400, {"error": {"code": "BAD_REQUEST_ERROR", "description": "bad amount"}}
            )
        },
        {("post", "/orders"): FakeResponse(500, {"error": {"code": "SERVER_ERROR"}})},
        requests.ConnectionError("no route to host"),
    ],
)
def test_create_order_failures_become_gateway_unavailable(responses):
    with pytest.raises(GatewayUnavailable):
        live_with(FakeRazorpaySession(responses)).create_order(amount_paise=50_000, receipt="r")


def test_fetch_order_reads_the_order_and_its_payments():
    session = FakeRazorpaySession(
        {
            ("get", "/orders/order_R1"): FakeResponse(
                200, {"id": "order_R1", "status": "paid", "amount": 50_000}
            ),
            ("get", "/orders/order_R1/payments"): FakeResponse(
                200,
                {
                    "items": [
                        {
                            "id": "pay_A",
                            "status": "failed",
                            "amount": 50_000,
                            "error_description": "x",
                        },
                        {"id": "pay_B", "status": "captured", "amount": 50_000},
                    ]
                },
            ),
        }
    )

    order = live_with(session).fetch_order("order_R1")

    assert order.status == "paid"
    assert order.captured_payment.payment_id == "pay_B"
    assert [p.status for p in order.payments] == ["failed", "captured"]


def test_keys_in_settings_switch_to_the_real_gateway(settings):
    settings.RAZORPAY_KEY_ID = "rzp_test_KEY"
    settings.RAZORPAY_KEY_SECRET = KEY_SECRET

    assert isinstance(active_gateway(), RazorpayGateway)
    assert active_gateway().key_id == "rzp_test_KEY"


def test_without_keys_the_simulator_is_used_unless_disabled(settings):
    assert isinstance(active_gateway(), SimulatedRazorpay)

    settings.SIMULATED_RAZORPAY_ENABLED = False
    with pytest.raises(GatewayUnavailable):
        active_gateway()
    with pytest.raises(GatewayUnavailable):
        gateway_named("razorpay")


# --- the real gateway wired into the app (its network call faked) ------------------------


@pytest.fixture
def razorpay_keys(settings, monkeypatch):
    settings.RAZORPAY_KEY_ID = "rzp_test_KEY"
    settings.RAZORPAY_KEY_SECRET = KEY_SECRET
    settings.RAZORPAY_WEBHOOK_SECRET = WEBHOOK_SECRET
    monkeypatch.setattr(
        RazorpayGateway, "create_order", lambda self, amount_paise, receipt: "order_REAL0001"
    )


@pytest.mark.django_db
def test_with_keys_the_api_returns_the_real_order_and_key_id(razorpay_keys, api):
    response = api.post(
        "/api/v1/wallet/topups", {"amount_paise": 50_000}, format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )

    body = response.json()
    assert (body["gateway"], body["order_id"], body["key_id"]) == (
        "razorpay",
        "order_REAL0001",
        "rzp_test_KEY",
    )
    assert body["checkout_url"].endswith("/billing/checkout/order_REAL0001/")


@pytest.mark.django_db
def test_with_keys_the_checkout_page_shows_the_order_for_checkout_js(razorpay_keys, user_client):
    location = user_client.post("/billing/topup/", {"amount_rupees": "500"})["Location"]

    page = user_client.get(location).content.decode()

    assert "Pay with Razorpay" in page
    assert "order_REAL0001" in page and "rzp_test_KEY" in page
    assert "needs internet access" in page


@pytest.mark.django_db
def test_with_keys_the_webhook_endpoint_checks_the_real_webhook_secret(razorpay_keys, post_webhook):
    accepted = post_webhook(WEBHOOK_BODY, WEBHOOK_SIGNATURE, "evt_real")
    refused = post_webhook(WEBHOOK_BODY, tamper(WEBHOOK_SIGNATURE), "evt_real_2")

    assert (accepted.status_code, accepted.json()["outcome"]) == (200, "unknown_order")
    assert refused.status_code == 400
