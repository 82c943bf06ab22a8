"""Access checks and exactly-once usage ingest for the vendor API.

Access check: a pass token -> valid or not, kind, expiry, units left. The pass
row is cached (VENDOR_ACCESS_CACHE_SECONDS); every change made here drops the
entry after commit (`access_cache_drop_on_commit`), and validity is recomputed
from the cached expires_at on every read, so expiry never waits for a job.

Ingest (one transaction per call, single or batch):
1. validate each event (malformed ones are refused, the rest go on);
2. claim event ids with INSERT .. ON CONFLICT (vendor, event_id) DO NOTHING
   RETURNING: ids already stored - or being stored by a concurrent request,
   which we wait for on the unique index - are duplicates, never billed twice;
3. per usage pass, lock the row and take the events in order while they fit
   (conditional UPDATE, units_left never below zero); the claims of events that
   do not fit are deleted, so they are refused and can be retried later;
4. broadcast "pass.usage" to the owner and write usage.recorded to the outbox.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from flexpass.realtime import broadcast_on_commit, user_group
from marketplace.models import ApiKey, ApiKeyMode, Pass, PassStatus, PlanKind, UsageEvent
from marketplace.services.webhooks import webhook_event_record

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"


def _cache_key(token: str) -> str:
    return f"vendorapi:access:{token}"


def access_cache_drop_on_commit(token: str) -> None:
    transaction.on_commit(lambda: cache.delete(_cache_key(token)))


def access_cache_drop_many_on_commit(tokens: list[str]) -> None:
    if tokens:
        keys = [_cache_key(t) for t in tokens]
        transaction.on_commit(lambda: cache.delete_many(keys))


def _pass_snapshot(token: str) -> dict | None:
    key = _cache_key(token)
    snap = cache.get(key)
    if snap is not None:
        return snap or None
    p = (
        Pass.objects.filter(token=token)
        .values(
            "pk",
            "kind",
            "status",
            "starts_at",
            "expires_at",
            "units_left",
            "units_total",
            "is_test",
            "service__vendor_id",
            "service__slug",
            "plan__name",
        )
        .first()
    )
    cache.set(key, p or {}, settings.VENDOR_ACCESS_CACHE_SECONDS)
    return p


def access_check(*, key: ApiKey, token: str, now=None) -> dict:
    """What the vendor's service needs to decide; never reveals other vendors' passes."""
    now = now or timezone.now()
    p = _pass_snapshot(token)
    if (
        p is None
        or p["service__vendor_id"] != key.vendor_id
        or p["is_test"] != (key.mode == ApiKeyMode.TEST)
    ):
        return {"valid": False, "reason": "unknown_pass"}
    reason = ""
    if p["status"] != PassStatus.ACTIVE:
        reason = p["status"]
    elif p["expires_at"] is not None and p["expires_at"] <= now:
        reason = PassStatus.EXPIRED
    elif p["starts_at"] > now:
        reason = "not_started"
    elif p["units_left"] is not None and p["units_left"] <= 0:
        reason = PassStatus.USED_UP
    return {
        "valid": not reason,
        "reason": reason,
        "kind": p["kind"],
        "service": p["service__slug"],
        "plan": p["plan__name"],
        "expires_at": p["expires_at"],
        "units_left": p["units_left"],
        "units_total": p["units_total"],
        "test": p["is_test"],
    }


@dataclass
class EventIn:
    event_id: str
    pass_token: str
    units: int
    occurred_at: datetime | None = None


@dataclass
class EventResult:
    event_id: str
    status: str
    reason: str = ""
    units_left: int | None = None

    def as_dict(self) -> dict:
        out = {"event_id": self.event_id, "status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.units_left is not None:
            out["units_left"] = self.units_left
        return out


@dataclass
class IngestOutcome:
    results: list[EventResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


def _claim(vendor_id: int, rows: list[tuple[str, int, int, datetime]]) -> set[str]:
    """Insert the event rows unless their id exists; the ids we inserted."""
    if not rows:
        return set()
    table = UsageEvent._meta.db_table
    now = timezone.now()
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    params: list = []
    # Sorted: two requests claiming overlapping ids take the index locks in one order.
    for event_id, pass_id, units, occurred_at in sorted(rows):
        params += [vendor_id, event_id, pass_id, units, occurred_at, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (vendor_id, event_id, pass_obj_id, units, occurred_at, "
            f"created_at) VALUES {values} ON CONFLICT (vendor_id, event_id) DO NOTHING "
            f"RETURNING event_id",
            params,
        )
        return {row[0] for row in cursor.fetchall()}


@transaction.atomic
def usage_ingest(*, key: ApiKey, events: list[EventIn], now=None) -> IngestOutcome:
    """Record `events` exactly once each; one result per event, in input order."""
    now = now or timezone.now()
    future_limit = now + timedelta(seconds=settings.USAGE_FUTURE_TOLERANCE_SECONDS)
    results: dict[int, EventResult] = {}
    seen: set[str] = set()
    tokens = {e.pass_token for e in events}
    passes = {
        p.token: p
        for p in Pass.objects.filter(token__in=tokens)
        .select_related("service")
        .only(
            "pk",
            "token",
            "kind",
            "status",
            "starts_at",
            "expires_at",
            "units_left",
            "is_test",
            "owner_id",
            "service__vendor_id",
        )
    }
    test_mode = key.mode == ApiKeyMode.TEST
    to_claim: list[tuple[int, EventIn, Pass]] = []
    for i, e in enumerate(events):
        p = passes.get(e.pass_token)
        reason = ""
        if e.event_id in seen:
            results[i] = EventResult(e.event_id, DUPLICATE, "repeated_in_batch")
            continue
        seen.add(e.event_id)
        if e.units <= 0:
            reason = "units_not_positive"
        elif e.occurred_at is not None and e.occurred_at > future_limit:
            reason = "timestamp_in_future"
        elif p is None or p.service.vendor_id != key.vendor_id or p.is_test != test_mode:
            reason = "unknown_pass"
        elif p.kind == PlanKind.METERED:
            reason = "metered_pass_uses_sessions"
        elif p.effective_status(now) != PassStatus.ACTIVE or p.starts_at > now:
            reason = f"pass_{p.effective_status(now)}"
        if reason:
            results[i] = EventResult(e.event_id, REFUSED, reason)
        else:
            to_claim.append((i, e, p))

    claimed = _claim(
        key.vendor_id, [(e.event_id, p.pk, e.units, e.occurred_at or now) for _, e, p in to_claim]
    )
    by_pass: dict[int, list[tuple[int, EventIn, Pass]]] = defaultdict(list)
    for i, e, p in to_claim:
        if e.event_id not in claimed:
            results[i] = EventResult(e.event_id, DUPLICATE)
        else:
            by_pass[p.pk].append((i, e, p))

    refused_ids: list[str] = []
    touched: list[tuple[Pass, int, int | None, int]] = []  # pass, units, units_left, events
    for pass_id in sorted(by_pass):  # pk order: two batches never deadlock
        items = by_pass[pass_id]
        p = items[0][2]
        if p.units_left is None:  # time pass: usage is recorded, nothing to use up
            for i, e, _ in items:
                results[i] = EventResult(e.event_id, ACCEPTED)
            touched.append((p, sum(e.units for _, e, _ in items), None, len(items)))
            continue
        left = (
            Pass.objects.select_for_update()
            .filter(pk=pass_id)
            .values_list("units_left", flat=True)[0]
        )
        taken = 0
        for i, e, _ in items:
            if taken + e.units <= left:
                taken += e.units
                results[i] = EventResult(e.event_id, ACCEPTED, units_left=left - taken)
            else:
                results[i] = EventResult(
                    e.event_id, REFUSED, "insufficient_units", units_left=left - taken
                )
                refused_ids.append(e.event_id)
        if taken:
            updated = Pass.objects.filter(pk=pass_id, units_left__gte=taken).update(
                units_left=F("units_left") - taken,
                status=PassStatus.USED_UP if left - taken == 0 else F("status"),
                updated_at=now,
            )
            assert updated == 1  # we hold the row lock
            accepted = sum(1 for i, _, _ in items if results[i].status == ACCEPTED)
            touched.append((p, taken, left - taken, accepted))
    if refused_ids:
        UsageEvent.objects.filter(vendor_id=key.vendor_id, event_id__in=refused_ids).delete()

    for p, units, units_left, count in touched:
        access_cache_drop_on_commit(p.token)
        broadcast_on_commit(
            user_group(p.owner_id),
            {
                "type": "pass.usage",
                "pass_id": p.pk,
                "units": units,
                "units_left": units_left,
                "events": count,
            },
        )
        webhook_event_record(
            vendor_id=key.vendor_id,
            event_type="usage.recorded",
            data={
                "pass_id": p.pk,
                "units": units,
                "units_left": units_left,
                "events": count,
                "test": p.is_test,
            },
        )
    return IngestOutcome(results=[results[i] for i in range(len(events))])


def purchase_event_record(*, purchase, event_type: str, **extra) -> None:
    """pass.purchased / pass.refunded: outbox row for the vendor, access cache dropped.

    Called inside the purchase's or refund's transaction (one line at each call site).
    """
    pass_obj = Pass.objects.filter(purchase=purchase).only("pk", "token").first()
    if pass_obj is not None and event_type != "pass.purchased":  # a new token is never cached
        access_cache_drop_on_commit(pass_obj.token)
    webhook_event_record(
        vendor_id=purchase.vendor_id,
        event_type=event_type,
        data={
            "purchase_id": purchase.pk,
            "pass_id": pass_obj.pk if pass_obj else None,
            "plan_id": purchase.plan_id,
            "service_id": purchase.service_id,
            "price_paise": purchase.price_paise,
            "vendor_share_paise": purchase.vendor_share_paise,
            **extra,
        },
    )
