"""Vendor API keys: create (secret shown once), authenticate, revoke; test passes.

A key is `fp_test_<secret>` or `fp_live_<secret>`; only sha256(full key) is
stored, with the last four characters for the masked listing.

Every vendor API request authenticates, so the key row is kept in this process
for VENDOR_API_KEY_CACHE_SECONDS (a query and its ORM work saved per request).
Expiry is still checked against the clock on every request; a revocation drops
the entry in the revoking process at once and reaches the other server
processes within that many seconds. Unknown keys are never cached.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from flexpass.errors import DomainError, NotFound
from marketplace.models import ApiKey, ApiKeyMode, Pass, Plan, PlanKind, VendorProfile

PREFIXES = {ApiKeyMode.TEST: "fp_test_", ApiKeyMode.LIVE: "fp_live_"}
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often
_KEY_CACHE_MAX = 10_000
_key_cache: dict[str, tuple[float, ApiKey]] = {}  # secret hash -> (good until, key)


class KeyInvalid(DomainError):
    status_code = 401
    code = "api_key_invalid"
    title = "Invalid API key"


class KeyForbidden(DomainError):
    status_code = 403
    code = "api_key_forbidden"
    title = "This API key may not do that"


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str  # the full key; shown once, never stored


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, vendor: VendorProfile, mode: str, name: str = "", expires_at: datetime | None = None
) -> CreatedKey:
    if mode not in PREFIXES:
        raise DomainError("mode must be test or live.")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("expires_at must be in the future.")
    raw = PREFIXES[mode] + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        vendor=vendor,
        name=name[:80],
        mode=mode,
        prefix=PREFIXES[mode],
        secret_hash=key_hash(raw),
        last4=raw[-4:],
        expires_at=expires_at,
    )
    return CreatedKey(key=key, secret=raw)


def api_key_revoke(*, vendor: VendorProfile, key_id: int) -> ApiKey:
    updated = ApiKey.objects.filter(pk=key_id, vendor=vendor, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key = ApiKey.objects.filter(pk=key_id, vendor=vendor).first()
    if key is None:
        raise NotFound("No such key.")
    del updated  # revoking twice is a no-op
    _key_cache.pop(key.secret_hash, None)
    return key


def _key_lookup(digest: str) -> ApiKey | None:
    hit = _key_cache.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    key = ApiKey.objects.select_related("vendor__user").filter(secret_hash=digest).first()
    ttl = settings.VENDOR_API_KEY_CACHE_SECONDS
    if key is not None and ttl > 0:
        if len(_key_cache) >= _KEY_CACHE_MAX:
            _key_cache.clear()
        _key_cache[digest] = (time.monotonic() + ttl, key)
    return key


def api_key_cache_clear() -> None:
    _key_cache.clear()


def api_key_authenticate(raw: str, *, now=None) -> ApiKey:
    """The usable key for `raw`, or KeyInvalid (unknown, revoked or expired)."""
    now = now or timezone.now()
    if not raw.startswith(tuple(PREFIXES.values())):
        raise KeyInvalid("Unknown API key.")
    key = _key_lookup(key_hash(raw))
    if key is None:
        raise KeyInvalid("Unknown API key.")
    if key.revoked_at is not None:
        raise KeyInvalid("This API key was revoked.")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyInvalid("This API key has expired.")
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@transaction.atomic
def test_pass_mint(*, vendor: VendorProfile, plan: Plan) -> Pass:
    """A pass on the vendor's own plan for test-mode keys: no sale, no money."""
    if plan.service.vendor_id != vendor.pk:
        raise NotFound("No such plan.")
    now = timezone.now()
    units = plan.units if plan.kind == PlanKind.USAGE else None
    expires_at = None
    if plan.kind == PlanKind.TIME:
        expires_at = now + timedelta(hours=plan.duration_hours)
    return Pass.objects.create(
        purchase=None,
        owner=vendor.user,
        plan=plan,
        service=plan.service,
        kind=plan.kind,
        starts_at=now,
        expires_at=expires_at,
        units_total=units,
        units_left=units,
        is_test=True,
        created_at=now,
        updated_at=now,
    )
