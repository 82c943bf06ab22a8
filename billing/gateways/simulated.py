"""An offline Razorpay: orders, a checkout page, signed returns and signed webhooks.

It keeps its own state (SimulatedOrder / SimulatedPayment) the way Razorpay's
servers do, so reconciliation can ask it what happened, and it behaves like the
real one where it matters for correctness:

* the checkout return carries razorpay_payment_id, razorpay_order_id and
  razorpay_signature = HMAC-SHA256(key_secret, f"{order_id}|{payment_id}");
* each outcome is also announced by a webhook (payment.captured /
  payment.failed) whose raw body is signed with the webhook secret in
  X-Razorpay-Signature, with an X-Razorpay-Event-Id; it is sent
  SIMULATED_RAZORPAY_WEBHOOK_COPIES times with the same event id (at-least-once
  delivery) and may arrive before or after the browser comes back.
"""

import hmac
import json
import logging
import secrets
import string
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from billing.errors import GatewayUnavailable
from billing.gateways.base import (
    GatewayOrder,
    GatewayPayment,
    payment_signature,
    webhook_signature,
)
from billing.models import SimulatedOrder, SimulatedPayment

logger = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
WEBHOOK_URL_NAME = "billing_webhooks:razorpay"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(14))


class Outcome:
    SUCCEED = "succeed"
    FAIL = "fail"
    ABANDON = "abandon"
    ALL = (SUCCEED, FAIL, ABANDON)


class SimulatedRazorpay:
    name = "simulated"

    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str):
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret

    # --- the gateway interface ----------------------------------------------------------

    def create_order(self, *, amount_paise: int, receipt: str) -> str:
        order = SimulatedOrder.objects.create(
            order_id=_new_id("order_SIM"), amount_paise=amount_paise, receipt=receipt[:40]
        )
        return order.order_id

    def fetch_order(self, order_id: str) -> GatewayOrder:
        order = SimulatedOrder.objects.filter(order_id=order_id).first()
        if order is None:
            raise GatewayUnavailable(f"The gateway knows no order {order_id}.")
        return GatewayOrder(
            order_id=order.order_id,
            status=order.status,
            amount_paise=order.amount_paise,
            payments=tuple(
                GatewayPayment(
                    payment_id=p.payment_id,
                    status=p.status,
                    amount_paise=p.amount_paise,
                    error_description=p.error_description,
                )
                for p in order.payments.all()
            ),
        )

    def verify_payment_signature(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        if not (order_id and payment_id and isinstance(signature, str)):
            return False
        expected = payment_signature(
            key_secret=self._key_secret, order_id=order_id, payment_id=payment_id
        )
        return hmac.compare_digest(expected.encode(), signature.encode())

    def verify_webhook_signature(self, *, raw_body: bytes, signature: str) -> bool:
        if not isinstance(signature, str) or not signature:
            return False
        expected = webhook_signature(webhook_secret=self._webhook_secret, raw_body=raw_body)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def checkout_url(self, order_id: str) -> str:
        return reverse("billing:checkout", args=[order_id])

    # --- the simulated checkout -------------------------------------------------------

    def order(self, order_id: str) -> SimulatedOrder | None:
        return SimulatedOrder.objects.filter(order_id=order_id).first()

    def complete_checkout(self, *, order_id: str, outcome: str) -> dict[str, str]:
        """The payer pressed Succeed, Fail or Abandon. Returns the fields for the return URL.

        Paying an already paid order changes nothing and returns the first
        payment's fields again (a double click must not capture twice).
        """
        if outcome not in Outcome.ALL:
            raise ValueError(f"unknown outcome {outcome!r}")
        with transaction.atomic():
            order = SimulatedOrder.objects.select_for_update().get(order_id=order_id)
            captured = order.payments.filter(status=SimulatedPayment.Status.CAPTURED).first()
            if captured is not None:
                return self._success_fields(order, captured)
            if outcome == Outcome.ABANDON:
                return {
                    "error[code]": "BAD_REQUEST_ERROR",
                    "error[description]": "Payment cancelled by the customer.",
                    "error[reason]": "payment_cancelled",
                    "error[metadata]": json.dumps({"order_id": order.order_id}),
                }
            succeeded = outcome == Outcome.SUCCEED
            payment = SimulatedPayment.objects.create(
                payment_id=_new_id("pay_SIM"),
                order=order,
                amount_paise=order.amount_paise,
                status=SimulatedPayment.Status.CAPTURED
                if succeeded
                else SimulatedPayment.Status.FAILED,
                error_description="" if succeeded else "Payment declined by the (simulated) bank.",
            )
            order.status = (
                SimulatedOrder.Status.PAID if succeeded else SimulatedOrder.Status.ATTEMPTED
            )
            order.save(update_fields=["status"])
            self._announce(order, payment)
        if succeeded:
            return self._success_fields(order, payment)
        return {
            "error[code]": "BAD_REQUEST_ERROR",
            "error[description]": payment.error_description,
            "error[reason]": "payment_failed",
            "error[metadata]": json.dumps(
                {"order_id": order.order_id, "payment_id": payment.payment_id}
            ),
        }

    def _success_fields(self, order: SimulatedOrder, payment: SimulatedPayment) -> dict[str, str]:
        return {
            "razorpay_payment_id": payment.payment_id,
            "razorpay_order_id": order.order_id,
            "razorpay_signature": payment_signature(
                key_secret=self._key_secret, order_id=order.order_id, payment_id=payment.payment_id
            ),
        }

    # --- webhooks ---------------------------------------------------------------------

    def event_body(self, order: SimulatedOrder, payment: SimulatedPayment) -> bytes:
        """A webhook body shaped like Razorpay's payment.captured / payment.failed events."""
        captured = payment.status == SimulatedPayment.Status.CAPTURED
        now = int(time.time())
        event = {
            "entity": "event",
            "account_id": "acc_SIMULATED",
            "event": "payment.captured" if captured else "payment.failed",
            "contains": ["payment"],
            "payload": {
                "payment": {
                    "entity": {
                        "id": payment.payment_id,
                        "entity": "payment",
                        "amount": payment.amount_paise,
                        "currency": order.currency,
                        "status": payment.status,
                        "order_id": order.order_id,
                        "method": "upi",
                        "captured": captured,
                        "error_code": None if captured else "BAD_REQUEST_ERROR",
                        "error_description": payment.error_description or None,
                        "created_at": now,
                    }
                }
            },
            "created_at": now,
        }
        return json.dumps(event, separators=(",", ":")).encode()

    def sign_webhook(self, raw_body: bytes) -> str:
        return webhook_signature(webhook_secret=self._webhook_secret, raw_body=raw_body)

    def _announce(self, order: SimulatedOrder, payment: SimulatedPayment) -> None:
        """Send the payment's webhook after commit, COPIES times with one event id."""
        mode = delivery_mode()
        if mode == "off":
            return
        raw_body = self.event_body(order, payment)
        signature = self.sign_webhook(raw_body)
        event_id = _new_id("evt_SIM")
        for _ in range(max(1, settings.SIMULATED_RAZORPAY_WEBHOOK_COPIES)):
            if mode == "inprocess":
                transaction.on_commit(
                    partial(
                        deliver_in_process,
                        raw_body=raw_body,
                        signature=signature,
                        event_id=event_id,
                    )
                )
            else:
                from billing.tasks import simulated_webhook_send

                simulated_webhook_send.delay_on_commit(
                    raw_body=raw_body.decode(), signature=signature, event_id=event_id
                )


def delivery_mode() -> str:
    mode = settings.SIMULATED_RAZORPAY_WEBHOOK_DELIVERY
    if mode == "auto":
        return "inprocess" if settings.CELERY_TASK_ALWAYS_EAGER else "http"
    return mode


def deliver_in_process(*, raw_body: bytes, signature: str, event_id: str) -> None:
    """Embedded mode's webhook delivery: call the webhook service with the signed raw body.

    With Celery eager, a task POSTing to our own single-process server from inside
    the checkout request would wait on itself (deadlock or a slow timeout), so
    the same bytes and headers go straight to `webhook_receive`, which verifies
    the signature exactly as the HTTP endpoint does.
    """
    from billing.services import webhook_receive

    try:
        webhook_receive(raw_body=raw_body, signature=signature, event_id=event_id)
    except Exception:  # a webhook receiver's failure is the receiver's, not the payer's
        logger.exception("in-process simulated webhook %s failed", event_id)
