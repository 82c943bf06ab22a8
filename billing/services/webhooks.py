"""Gateway webhooks in: verify over the raw body, deduplicate by event id, then act.

Razorpay delivers at least once and in any order, so:

* the signature is checked over the exact bytes received (re-serialised JSON
  never matches), before the body is parsed;
* a refused call is logged, counted and recorded with signature_valid=False,
  and credits nothing;
* the event row is inserted in the same transaction as its effect, and a
  unique constraint on (gateway, event id) makes a redelivery a no-op; if the
  effect fails, the row rolls back with it and the gateway's retry tries again.
"""

import hashlib
import json
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.errors import InvalidWebhookPayload, InvalidWebhookSignature
from billing.gateways import active_gateway
from billing.metrics import SIGNATURE_FAILURES, WEBHOOKS
from billing.models import TopUp, WebhookEvent
from billing.services.topups import _capture, _fail, _mark_pending
from wallet.services import money_transaction

logger = logging.getLogger(__name__)

MAX_STORED_INVALID_BODY = 16_384  # forged calls are kept for forensics, but not all of them


def _event_id(event_id: str, raw_body: bytes) -> str:
    event_id = str(event_id or "").strip()
    if event_id:
        return event_id[:100]
    # Razorpay always sends one; without it, the same body is the same event.
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()


def webhook_receive(
    *, raw_body: bytes, signature: str, event_id: str, remote_addr: str | None = None
) -> str:
    """Handle one webhook call. Returns the outcome ("credited", "duplicate", ...).

    Raises InvalidWebhookSignature (nothing changes but the audit row) or
    InvalidWebhookPayload (signed but not an event we can read).
    """
    gateway = active_gateway()
    event_id = _event_id(event_id, raw_body)
    if not gateway.verify_webhook_signature(raw_body=raw_body, signature=str(signature or "")):
        SIGNATURE_FAILURES.labels(source="webhook").inc()
        logger.warning(
            "refused %s webhook %s from %s: bad signature", gateway.name, event_id, remote_addr
        )
        WebhookEvent.objects.create(
            gateway=gateway.name,
            event_id=event_id,
            # kept for the audit as text: PostgreSQL text cannot hold a NUL byte
            raw_body=raw_body[:MAX_STORED_INVALID_BODY]
            .decode("utf-8", "replace")
            .replace("\x00", "\ufffd"),
            signature_valid=False,
            outcome="bad_signature",
            remote_addr=remote_addr,
        )
        raise InvalidWebhookSignature(
            "The X-Razorpay-Signature header does not match the request body."
        )
    try:
        payload = json.loads(raw_body)
        event_type = str(payload["event"])
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("signed %s webhook %s is not an event", gateway.name, event_id)
        raise InvalidWebhookPayload("The body is not a JSON gateway event.") from exc
    outcome = _webhook_process(
        gateway_name=gateway.name,
        event_id=event_id,
        event_type=event_type,
        payload=payload,
        raw_body=raw_body.decode("utf-8", "replace"),
        remote_addr=remote_addr,
    )
    WEBHOOKS.labels(outcome=outcome).inc()
    return outcome


@money_transaction
def _webhook_process(
    *,
    gateway_name: str,
    event_id: str,
    event_type: str,
    payload: dict,
    raw_body: str,
    remote_addr: str | None,
) -> str:
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                gateway=gateway_name,
                event_id=event_id,
                event_type=event_type[:60],
                raw_body=raw_body,
                signature_valid=True,
                remote_addr=remote_addr,
            )
    except IntegrityError:
        logger.info("webhook %s delivered again: ignored", event_id)
        return "duplicate"
    outcome, topup = _apply(event_type=event_type, payload=payload)
    WebhookEvent.objects.filter(pk=event.pk).update(
        outcome=outcome, topup=topup, processed_at=timezone.now()
    )
    return outcome


def _payment_entity(payload: dict) -> dict:
    """payload.payment.entity, or InvalidWebhookPayload if any level is not an object."""
    entity = payload
    for name in ("payload", "payment", "entity"):
        entity = entity.get(name) if isinstance(entity, dict) else None
    if not isinstance(entity, dict):
        raise InvalidWebhookPayload("The event carries no payment.")
    return entity


CAPTURE_EVENTS = ("payment.captured", "order.paid")


def _apply(*, event_type: str, payload: dict) -> tuple[str, TopUp | None]:
    if event_type not in (*CAPTURE_EVENTS, "payment.failed", "payment.authorized"):
        return "ignored", None
    payment = _payment_entity(payload)
    order_id = str(payment.get("order_id") or "")
    payment_id = str(payment.get("id") or "")[:64]
    topup = (
        TopUp.objects.select_related("user").filter(gateway_order_id=order_id).first()
        if order_id
        else None
    )
    if topup is None:
        # Not ours (another integration on the same account) or not yet stored:
        # acknowledged, so the gateway stops retrying; reconciliation covers ours.
        logger.warning("webhook %s for unknown order %r ignored", event_type, order_id)
        return "unknown_order", None
    if event_type in CAPTURE_EVENTS:
        amount = payment.get("amount")
        if amount != topup.amount_paise or not payment_id:
            logger.error(
                "webhook %s for top-up %s: amount %r does not match %d paise; left for staff",
                event_type,
                topup.pk,
                amount,
                topup.amount_paise,
            )
            return "amount_mismatch", topup
        credited = _capture(topup=topup, payment_id=payment_id, via="webhook")
        return ("credited" if credited else "already_captured"), topup
    if event_type == "payment.failed":
        reason = str(payment.get("error_description") or "Payment failed.")
        return ("failed" if _fail(topup=topup, reason=reason) else "unchanged"), topup
    return ("pending" if _mark_pending(topup=topup) else "unchanged"), topup
