"""Security records for the operator dashboard: failed sign-ins, lockouts, code abuse; unlocks.

allauth locks an email after too many failed passwords by keeping a list of
failure timestamps in the cache under a key made from the request's host and
the email (its "login_failed" rate limit). We record every failure (Django's
`user_login_failed` signal, which allauth's authenticate() triggers) with that
host, so staff can see who is locked and unlock them: unlocking deletes
exactly those cache keys, through allauth's own key function.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from support.errors import NotAllowed
from support.models import AuditLog, SecurityEvent, SecurityEventKind

logger = logging.getLogger(__name__)
_APP = "allauth.account"
_ACTION = "login_failed"


def _client_ip(request) -> str | None:
    if request is None:
        return None
    try:
        from allauth.account.adapter import get_adapter

        return get_adapter().get_client_ip(request)
    except Exception:
        return request.META.get("REMOTE_ADDR") or None


def _host(request) -> str:
    if request is None:
        return ""
    try:
        return request.get_host()[:120]
    except Exception:  # DisallowedHost: allauth would not have got this far either
        return ""


def security_event_record(*, kind: str, email: str = "", user=None, request=None) -> SecurityEvent:
    return SecurityEvent.objects.create(
        kind=kind,
        email=(email or (user.email if user is not None else "")).strip().lower()[:254],
        user=user if user is not None and getattr(user, "pk", None) else None,
        ip=_client_ip(request),
        host=_host(request),
    )


# --- allauth's lockout -----------------------------------------------------------------------


def _key_rates():
    return [
        rate for rate in allauth_ratelimit.get_rates(app=_APP, action=_ACTION) if rate.per == "key"
    ]


def _lockout_cache_keys(*, email: str, host: str) -> list[tuple[str, object]]:
    """allauth's cache keys (and rates) for failed logins of `email` via `host`."""
    login_key = f"{host}:{email.lower()}"
    return [
        (
            allauth_ratelimit.get_cache_key(
                HttpRequest(), app=_APP, action=_ACTION, rate=rate, key=login_key
            ),
            rate,
        )
        for rate in _key_rates()
    ]


def lockout_failures(*, email: str, host: str, now: float | None = None) -> tuple[int, bool]:
    """(failures counted now, locked?) for `email` signing in via `host`."""
    from django.core.cache import cache

    now = now or time.time()
    worst, locked = 0, False
    for cache_key, rate in _lockout_cache_keys(email=email, host=host):
        history = [stamp for stamp in cache.get(cache_key, []) if stamp > now - rate.duration]
        worst = max(worst, len(history))
        locked = locked or len(history) >= rate.amount
    return worst, locked


def login_failure_record(*, email: str, request) -> None:
    """A wrong password for `email`: record it, and the lockout if this attempt caused it."""
    event = security_event_record(kind=SecurityEventKind.LOGIN_FAILED, email=email, request=request)
    if not event.email or not event.host:
        return
    _, locked = lockout_failures(email=event.email, host=event.host)
    if not locked:
        return
    window = max((rate.duration for rate in _key_rates()), default=300)
    already = SecurityEvent.objects.filter(
        kind=SecurityEventKind.ACCOUNT_LOCKED,
        email=event.email,
        created_at__gte=timezone.now() - timedelta(seconds=window),
    ).exists()
    if not already:
        security_event_record(
            kind=SecurityEventKind.ACCOUNT_LOCKED, email=event.email, request=request
        )


@dataclass(frozen=True)
class LockedAccount:
    email: str
    host: str
    failures: int
    last_failure_at: object


def locked_accounts(*, now=None) -> list[LockedAccount]:
    """Emails locked right now (per allauth's cache), among those that failed recently."""
    now = now or timezone.now()
    window = max((rate.duration for rate in _key_rates()), default=300)
    recent = (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.LOGIN_FAILED,
            created_at__gte=now - timedelta(seconds=window),
        )
        .exclude(email="")
        .exclude(host="")
        .order_by("-id")
        .values_list("email", "host", "created_at")[:2000]
    )
    seen: dict[tuple[str, str], object] = {}
    for email, host, created_at in recent:
        seen.setdefault((email, host), created_at)
    locked = []
    for (email, host), last in seen.items():
        failures, is_locked = lockout_failures(email=email, host=host)
        if is_locked:
            locked.append(LockedAccount(email, host, failures, last))
    return locked


def account_unlock(*, email: str, acting_user, reason: str) -> int:
    """Clear allauth's failed-login history for `email` (every host it failed on).

    Staff only; leaves an audit row (who, when, why) and a security event.
    Returns how many cache keys were cleared.
    """
    from django.core.cache import cache

    if acting_user is None or not acting_user.is_staff:
        raise NotAllowed("Only staff can unlock accounts.")
    email = email.strip().lower()
    reason = " ".join(str(reason or "").split())[:300]
    hosts = set(
        SecurityEvent.objects.filter(email=email)
        .exclude(host="")
        .values_list("host", flat=True)
        .distinct()
    )
    cleared = 0
    for host in hosts:
        for cache_key, _rate in _lockout_cache_keys(email=email, host=host):
            if cache.get(cache_key) is not None:
                cleared += 1
            cache.delete(cache_key)
    with transaction.atomic():
        SecurityEvent.objects.create(
            kind=SecurityEventKind.ACCOUNT_UNLOCKED, email=email, user=acting_user
        )
        AuditLog.objects.create(
            actor=acting_user,
            action="account_unlock",
            target=email,
            reason=reason,
            data={"hosts": sorted(hosts), "cleared_keys": cleared},
        )
    logger.info(
        "account %s unlocked by %s (%s)",
        hashlib.sha256(email.encode()).hexdigest()[:12],
        acting_user.pk,
        reason,
    )
    return cleared


def api_key_revoke_by_staff(*, key_id: int, acting_user, reason: str):
    """Staff revoke a vendor's API key from the security panel: the marketplace's own
    revoke, plus an audit row (who, when, why)."""
    from marketplace.models import ApiKey
    from marketplace.services.keys import api_key_revoke

    if acting_user is None or not acting_user.is_staff:
        raise NotAllowed("Only staff can revoke keys.")
    key = ApiKey.objects.select_related("vendor").filter(pk=key_id).first()
    if key is None:
        from flexpass.errors import NotFound

        raise NotFound("No such key.")
    with transaction.atomic():
        key = api_key_revoke(vendor=key.vendor, key_id=key.pk)
        AuditLog.objects.create(
            actor=acting_user,
            action="api_key_revoke",
            target=f"{key.vendor.business_name} {key.masked}",
            reason=" ".join(str(reason or "").split())[:300],
            data={"key": key.pk, "vendor": key.vendor_id},
        )
    return key


# --- housekeeping ----------------------------------------------------------------------------


def security_events_purge(*, now=None) -> int:
    """Drop security events older than 90 days."""
    now = now or timezone.now()
    deleted, _ = SecurityEvent.objects.filter(created_at__lt=now - timedelta(days=90)).delete()
    return deleted
