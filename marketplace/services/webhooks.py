"""Webhooks out: endpoints, the outbox, signed delivery with backoff, replay.

`webhook_event_record(vendor=, event_type=, data=)` writes one outbox row
(WebhookDelivery) per subscribed endpoint inside the caller's transaction and
asks Celery to deliver after commit; the beat job `webhooks_deliver_due` picks
up anything a lost task left behind. A delivery POSTs JSON
`{"id", "type", "created", "data"}` with

    FlexPass-Signature: t=<unix seconds>,v1=<hex hmac>[,v1=<hex hmac of previous secret>]

where v1 = HMAC-SHA256(secret, f"{t}.{raw body}"). After a rotation the previous
secret signs too, for SECRET_OVERLAP, so receivers can switch without losing
events. See docs/webhooks.md.
"""

import hashlib
import hmac
import ipaddress
import json
import random
import secrets
import socket
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flexpass.errors import DomainError, NotFound
from marketplace.models import (
    VendorProfile,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)

EVENT_TYPES = (
    "pass.purchased",
    "pass.expired",
    "pass.refunded",
    "usage.recorded",
    "session.stopped",
)
EXCERPT_CHARS = 500


class UnsafeTarget(DomainError):
    code = "webhook_target_refused"
    title = "Webhook target refused"


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"
    title = "Invalid webhook URL"


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidWebhookUrl(f"That is not a valid URL: {exc}.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("Webhook URLs must be http(s) URLs.")


def webhook_endpoint_create(
    *, vendor: VendorProfile, url: str, events: list[str] | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its signing secret (shown once)."""
    _check_url(url)
    events = list(events or [])
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise DomainError(f"Unknown event types: {', '.join(unknown)}.")
    secret = "whsec_" + secrets.token_hex(24)
    endpoint = WebhookEndpoint.objects.create(vendor=vendor, url=url, events=events, secret=secret)
    return endpoint, secret


SECRET_OVERLAP = timedelta(hours=24)


def webhook_endpoint_access(*, vendor: VendorProfile, endpoint_id: int) -> WebhookEndpoint:
    """The vendor's own endpoint, or NotFound (another vendor's id looks like a missing one)."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, vendor=vendor).first()
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


@transaction.atomic
def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, overlap: timedelta = SECRET_OVERLAP, now=None
) -> str:
    """A new secret, returned once. The old one keeps signing (a second v1=) for `overlap`.

    The row is locked, so two rotations at once cannot both keep "the old" secret:
    the second keeps the first one's new secret.
    """
    now = now or timezone.now()
    current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = "whsec_" + secrets.token_hex(24)
    expires_at = now + overlap
    WebhookEndpoint.objects.filter(pk=current.pk).update(
        previous_secret=current.secret, secret=secret, previous_secret_expires_at=expires_at
    )
    endpoint.previous_secret, endpoint.secret = current.secret, secret
    endpoint.previous_secret_expires_at = expires_at
    return secret


def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Pause or resume an endpoint: a paused one gets no new events (pending ones still go)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=active)
    endpoint.is_active = active
    return endpoint


def previous_secret_signs(endpoint: WebhookEndpoint, now=None) -> bool:
    if not endpoint.previous_secret:
        return False
    expires_at = endpoint.previous_secret_expires_at
    return expires_at is None or expires_at > (now or timezone.now())


def webhook_event_record(*, vendor_id: int, event_type: str, data: dict) -> int:
    """Write the event to the outbox of every subscribed endpoint (caller's transaction)."""
    return webhook_events_record([(vendor_id, event_type, data)])


def webhook_events_record(events: list[tuple[int, str, dict]]) -> int:
    """Many (vendor_id, event_type, data) events at once: one endpoint query, one INSERT.

    Inside the caller's transaction, like webhook_event_record; delivery is asked for
    once, after commit. Returns the number of outbox rows written.
    """
    if not events:
        return 0
    for _, event_type, _ in events:
        assert event_type in EVENT_TYPES, event_type
    by_vendor: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        vendor_id__in={vendor_id for vendor_id, _, _ in events}, is_active=True
    ):
        by_vendor.setdefault(endpoint.vendor_id, []).append(endpoint)
    if not by_vendor:
        return 0
    now = timezone.now()
    rows = []
    for vendor_id, event_type, data in events:
        subscribed = [
            e for e in by_vendor.get(vendor_id, ()) if not e.events or event_type in e.events
        ]
        if not subscribed:
            continue
        payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
        rows += [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=f"evt_{uuid.uuid4().hex}",
                event_type=event_type,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint in subscribed
        ]
    if not rows:
        return 0
    rows = WebhookDelivery.objects.bulk_create(rows)
    ids = [row.pk for row in rows]
    transaction.on_commit(lambda: _deliver_later(ids), robust=True)
    return len(rows)


def _deliver_later(ids: list[int]) -> None:
    from marketplace.vendor_api.tasks import webhook_deliver

    for delivery_id in ids:
        webhook_deliver.delay(delivery_id)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(endpoint: WebhookEndpoint, timestamp: int, body: bytes) -> str:
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if previous_secret_signs(endpoint):
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


def _guard_target(url: str) -> None:
    """SSRF guard: refuse hosts that resolve to loopback, link-local or private addresses."""
    _check_url(url)
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {parts.hostname}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_loopback
            or address.is_link_local
            or address.is_private
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise UnsafeTarget(f"{parts.hostname} resolves to a non-public address")


def backoff_seconds(attempt: int) -> float:
    """Delay after failed attempt number `attempt` (1-based): exponential, capped, jittered."""
    base = min(
        settings.WEBHOOK_BACKOFF_CAP_SECONDS,
        settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1),
    )
    return base * random.uniform(0.75, 1.25)


def body_for(delivery: WebhookDelivery) -> bytes:
    return json.dumps(
        {
            "id": delivery.event_id,
            "type": delivery.event_type,
            "created": int(delivery.created_at.timestamp()),
            "data": delivery.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def webhook_deliver(*, delivery_id: int) -> str:
    """One attempt at one pending delivery (no-op if it is not due or not pending)."""
    now = timezone.now()
    # Claim: push next_attempt_at forward so a concurrent worker skips it.
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3))
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    body = body_for(delivery)
    timestamp = int(time.time())
    status_code, excerpt, error = None, "", ""
    started = time.monotonic()
    try:
        _guard_target(delivery.endpoint.url)
        response = requests.post(
            delivery.endpoint.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "FlexPass-Webhooks/1",
                "FlexPass-Signature": signature_header(delivery.endpoint, timestamp, body),
                "FlexPass-Event-Id": delivery.event_id,
            },
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status_code, excerpt = response.status_code, response.text[:EXCERPT_CHARS]
    except UnsafeTarget as exc:
        error = str(exc)[:200]
    except requests.RequestException as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:200]
    latency_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    attempt_no = delivery.attempts + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            status_code=status_code,
            latency_ms=latency_ms,
            response_excerpt=excerpt,
            error=error,
        )
        if ok:
            status = WebhookDeliveryStatus.DELIVERED
            fields = {"delivered_at": timezone.now()}
        elif attempt_no >= settings.WEBHOOK_MAX_ATTEMPTS:
            status, fields = WebhookDeliveryStatus.FAILED, {}
        else:
            status = WebhookDeliveryStatus.PENDING
            fields = {
                "next_attempt_at": timezone.now() + timedelta(seconds=backoff_seconds(attempt_no))
            }
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=status, attempts=F("attempts") + 1, **fields
        )
    return status


def webhooks_due(*, now=None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_replay(*, vendor: VendorProfile | None, delivery_id: int | None = None) -> int:
    """Send failed deliveries again: one (by id) or all of the vendor's (None = staff, any)."""
    qs = WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.FAILED)
    if vendor is not None:
        qs = qs.filter(endpoint__vendor=vendor)
    if delivery_id is not None:
        if not qs.filter(pk=delivery_id).exists():
            raise NotFound("No such failed delivery.")
        qs = qs.filter(pk=delivery_id)
    ids = list(qs.values_list("pk", flat=True))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=timezone.now()
        )
        transaction.on_commit(lambda: _deliver_later(ids), robust=True)
    return len(ids)
