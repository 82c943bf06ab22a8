"""What FlexPass needs from a payment gateway (Razorpay's order -> payment model).

1. `create_order` before checkout; the order id is stored on our TopUp.
2. Checkout hands the browser back `payment_id` + `signature`, where
   signature = HMAC-SHA256(key_secret, f"{order_id}|{payment_id}"); we verify
   it against the order id WE stored, never one echoed by the client.
3. The gateway also calls our webhook: HMAC-SHA256(webhook_secret, raw_body)
   in X-Razorpay-Signature, deduplicated by X-Razorpay-Event-Id.
4. Reconciliation asks `fetch_order` for orders we never heard back about.

Signature checks return a bool and never raise (razorpay-python #162/#178).
"""

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class GatewayPayment:
    payment_id: str
    status: str  # created | authorized | captured | refunded | failed
    amount_paise: int
    error_description: str = ""


@dataclass(frozen=True)
class GatewayOrder:
    order_id: str
    status: str  # created | attempted | paid
    amount_paise: int
    payments: tuple[GatewayPayment, ...] = field(default_factory=tuple)

    @property
    def captured_payment(self) -> GatewayPayment | None:
        return next((p for p in self.payments if p.status == "captured"), None)

    @property
    def payment_in_flight(self) -> bool:
        return any(p.status in ("created", "authorized") for p in self.payments)


class PaymentGateway(Protocol):
    name: str  # stored on TopUp.gateway
    key_id: str  # public; mobile checkout SDKs need it

    def create_order(self, *, amount_paise: int, receipt: str) -> str:
        """Create an order for `amount_paise` (INR); return its order id. Raises GatewayUnavailable."""

    def fetch_order(self, order_id: str) -> GatewayOrder:
        """The order's status and its payments. Raises GatewayUnavailable."""

    def verify_payment_signature(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        """Whether checkout's signature is valid for (order_id, payment_id)."""

    def verify_webhook_signature(self, *, raw_body: bytes, signature: str) -> bool:
        """Whether `signature` is the webhook secret's HMAC of exactly these bytes."""

    def checkout_url(self, order_id: str) -> str:
        """Where to send the payer's browser for this order."""


def hmac_sha256_hex(secret: str, message: bytes | str) -> str:
    if isinstance(message, str):
        message = message.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def payment_signature(*, key_secret: str, order_id: str, payment_id: str) -> str:
    """Razorpay checkout's signature: HMAC-SHA256(key_secret, "order_id|payment_id")."""
    return hmac_sha256_hex(key_secret, f"{order_id}|{payment_id}")


def webhook_signature(*, webhook_secret: str, raw_body: bytes) -> str:
    """Razorpay's X-Razorpay-Signature: HMAC-SHA256(webhook_secret, raw body)."""
    return hmac_sha256_hex(webhook_secret, raw_body)
