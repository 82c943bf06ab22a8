"""The real Razorpay, through the official `razorpay` package.

Used when RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET are set. Only create_order and
fetch_order go over the network; the signature checks are local HMACs done by
the package's `client.utility`, wrapped so they return a bool instead of raising.
"""

import logging

import razorpay
import requests
from django.urls import reverse
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from billing.errors import GatewayUnavailable
from billing.gateways.base import GatewayOrder, GatewayPayment

logger = logging.getLogger(__name__)

NETWORK_ERRORS = (BadRequestError, GatewayError, ServerError, requests.RequestException, ValueError)


class _TimeoutSession(requests.Session):
    """The razorpay client passes no timeout; a hung gateway must not hang a request."""

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class RazorpayGateway:
    name = "razorpay"

    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ):
        self.key_id = key_id
        self._webhook_secret = webhook_secret
        self.client = razorpay.Client(
            auth=(key_id, key_secret), session=session or _TimeoutSession(timeout)
        )

    def create_order(self, *, amount_paise: int, receipt: str) -> str:
        try:
            # payment_capture: a payment the payer authorises is captured at once. We credit
            # the wallet on the signed return; on an account set to manual capture, an
            # authorised payment nobody captures is refunded to the payer days later.
            order = self.client.order.create(
                {
                    "amount": amount_paise,
                    "currency": "INR",
                    "receipt": receipt,
                    "payment_capture": 1,
                }
            )
            return str(order["id"])
        except (*NETWORK_ERRORS, KeyError) as exc:
            logger.warning("razorpay order create failed for %s: %s", receipt, exc)
            raise GatewayUnavailable("Could not reach Razorpay. Nothing was charged.") from exc

    def fetch_order(self, order_id: str) -> GatewayOrder:
        try:
            order = self.client.order.fetch(order_id)
            payments = self.client.order.payments(order_id).get("items", [])
        except NETWORK_ERRORS as exc:
            logger.warning("razorpay order fetch failed for %s: %s", order_id, exc)
            raise GatewayUnavailable("Could not reach Razorpay.") from exc
        return GatewayOrder(
            order_id=str(order["id"]),
            status=str(order.get("status", "")),
            amount_paise=int(order.get("amount", 0)),
            payments=tuple(
                GatewayPayment(
                    payment_id=str(p["id"]),
                    status=str(p.get("status", "")),
                    amount_paise=int(p.get("amount", 0)),
                    error_description=str(p.get("error_description") or ""),
                )
                for p in payments
            ),
        )

    def verify_payment_signature(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        try:
            return bool(
                self.client.utility.verify_payment_signature(
                    {
                        "razorpay_order_id": order_id,
                        "razorpay_payment_id": payment_id,
                        "razorpay_signature": signature,
                    }
                )
            )
        except (SignatureVerificationError, TypeError, ValueError):
            return False

    def verify_webhook_signature(self, *, raw_body: bytes, signature: str) -> bool:
        if not self._webhook_secret or not signature:
            return False
        try:
            # The package HMACs a str it encodes as UTF-8: decoding first gives the same bytes.
            body = raw_body.decode("utf-8")
            return bool(
                self.client.utility.verify_webhook_signature(body, signature, self._webhook_secret)
            )
        except (SignatureVerificationError, UnicodeDecodeError, TypeError, ValueError):
            return False

    def checkout_url(self, order_id: str) -> str:
        # Razorpay's checkout runs in the browser (checkout.js with key_id and
        # order_id); our checkout page shows the order and loads it.
        return reverse("billing:checkout", args=[order_id])
