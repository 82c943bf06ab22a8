"""HTTP idempotency for POSTs that move money (IETF draft + Stripe semantics).

* `Idempotency-Key` is required (400 without it), at most 255 characters.
* Keys are scoped to the caller and the endpoint and kept >= 24 h.
* A replay returns the first response with `Idempotent-Replayed: true`.
* The same key with a different payload -> 422; while the first request still
  runs -> 409. Only a successful (2xx) response is stored: a request that
  failed validation or was refused moved no money and stores nothing, so the
  client can fix it and retry with the same key.
* A request that died without an answer (worker killed, connection lost)
  leaves its key "in flight"; after IDEMPOTENCY_IN_FLIGHT_SECONDS one retry
  claims it and runs again instead of getting 409 until the key expires.

The service underneath is idempotent on its own (unique keys in the ledger);
this layer adds response replay and the status codes.
"""

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.response import Response

from flexpass.api.problems import CONTENT_TYPE, problem
from flexpass.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def storable_key(key: str, max_length: int) -> str:
    """`key` fitted to a column of `max_length`: itself when it fits, else its digest.

    Services prefix the client's key (`api:`, `user:<id>:transfer:`), so a key
    at the 255-character limit no longer fits its column. The digest is the same
    for the same key, so a retry still finds the first request's row.
    """
    if len(key) <= max_length:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _problem(status_code: int, title: str, detail: str, code: str) -> Response:
    body = problem(status_code=status_code, title=title, detail=detail, code=code)
    return Response(body, status=status_code, content_type=CONTENT_TYPE)


def _fingerprint(request) -> str:
    try:
        payload = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except TypeError:
        payload = request.body.decode(errors="replace")
    return hashlib.sha256(f"{request.method}:{request.path}:{payload}".encode()).hexdigest()


def idempotent(view_method):
    """Decorate an APIView `post` method: `@idempotent def post(self, request): ...`."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return _problem(
                400,
                "Idempotency-Key required",
                "Send an Idempotency-Key header (a UUID) with every payment request.",
                "idempotency_key_missing",
            )
        if len(key) > MAX_KEY_LENGTH:
            return _problem(
                400,
                "Idempotency-Key too long",
                f"Keys are at most {MAX_KEY_LENGTH} characters.",
                "idempotency_key_invalid",
            )
        endpoint = request.resolver_match.view_name if request.resolver_match else request.path
        fingerprint = _fingerprint(request)
        record_id = _record_open(
            user=request.user, key=key, endpoint=endpoint, fingerprint=fingerprint
        )
        if record_id is None:
            first = IdempotencyRecord.objects.filter(
                user=request.user, key=key, endpoint=endpoint
            ).first()
            if first is None:
                # The first request was refused and let go of the key just now: claim it.
                record_id = _record_open(
                    user=request.user, key=key, endpoint=endpoint, fingerprint=fingerprint
                )
            elif first.request_hash != fingerprint:
                return _problem(
                    422,
                    "Idempotency key reused",
                    "This Idempotency-Key was used with a different request body.",
                    "idempotency_key_reused",
                )
            elif first.status == IdempotencyRecord.Status.DONE:
                replay = Response(first.response_body, status=first.response_status)
                replay["Idempotent-Replayed"] = "true"
                return replay
            else:
                record_id = _record_take_over(first)
            if record_id is None:
                return _problem(
                    409,
                    "Request in progress",
                    "A request with this Idempotency-Key is still being processed.",
                    "idempotency_request_in_flight",
                )

        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record_id).delete()
            raise
        if 200 <= response.status_code < 300:
            _record_close(record_id, response)
        else:
            IdempotencyRecord.objects.filter(pk=record_id).delete()
        return response

    return wrapper


def _record_open(*, user, key: str, endpoint: str, fingerprint: str) -> int | None:
    """Claim the key: the new record's id, or None when a live record for it exists.

    One INSERT ... ON CONFLICT DO NOTHING (no exception, so no savepoint). An
    expired record the periodic purge has not reached yet is deleted here and
    the key claimed afresh.
    """
    table = IdempotencyRecord._meta.db_table
    created_at = IdempotencyRecord._meta.get_field("created_at").get_db_prep_save(
        timezone.now(), connection
    )
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (user_id, key, endpoint, request_hash, status, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (user_id, key, endpoint) DO NOTHING RETURNING id",
                [
                    user.pk,
                    key,
                    endpoint,
                    fingerprint,
                    IdempotencyRecord.Status.IN_FLIGHT,
                    created_at,
                ],
            )
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
        expired = IdempotencyRecord.objects.filter(
            user=user, key=key, endpoint=endpoint, created_at__lt=cutoff
        ).delete()[0]
        if not expired:
            return None
    return None


def _record_take_over(record: IdempotencyRecord) -> int | None:
    """Claim an in-flight record whose request has been gone IDEMPOTENCY_IN_FLIGHT_SECONDS:
    its id, or None while it may still be running (or a twin retry claimed it first).

    Running the request again is safe: the service under every idempotent endpoint
    is idempotent on its own (the ledger's keys, the hold's exactly-once flip), so a
    request that had moved money before it died gets that same outcome back.
    """
    now = timezone.now()
    if record.created_at > now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS):
        return None
    claimed = IdempotencyRecord.objects.filter(
        pk=record.pk, status=IdempotencyRecord.Status.IN_FLIGHT, created_at=record.created_at
    ).update(created_at=now)
    return record.pk if claimed else None


def _record_close(record_id: int, response) -> None:
    """Store the first response, so a replay returns it."""
    body = IdempotencyRecord._meta.get_field("response_body").get_db_prep_save(
        response.data, connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotencyRecord._meta.db_table}"
            " SET status = %s, response_status = %s, response_body = %s WHERE id = %s",
            [IdempotencyRecord.Status.DONE, response.status_code, body, record_id],
        )


def idempotency_purge() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
