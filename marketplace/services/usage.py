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
3. per usage pass, one conditional UPDATE takes all its events' units if they
   fit (`units_left >= total`: never below zero); if not, lock the row and take
   the events in order while they fit; the claims of events that do not fit are
   deleted, so they are refused and can be retried later;
4. broadcast "pass.usage" to the owner and write usage.recorded to the outbox
   (all passes' events in one INSERT).
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from flexpass.realtime import broadcast_on_commit, user_group
from marketplace.models import ApiKey, ApiKeyMode, Pass, PassStatus, PlanKind, UsageEvent
from marketplace.services.webhooks import webhook_event_record, webhook_events_record

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


UNITS_MAX = 2_147_483_647  # UsageEvent.units is a PostgreSQL integer


def _claim(vendor_id: int, rows: list[tuple[str, int, int, datetime]], now) -> set[str]:
    """Insert the event rows unless their id exists; the ids we inserted.

    One statement. On PostgreSQL the rows travel as one JSON array, not as thousands
    of bind parameters (or arrays that the driver quotes element by element).
    """
    if not rows:
        return set()
    table = UsageEvent._meta.db_table
    rows = sorted(rows)  # two requests claiming overlapping ids take the index locks in one order
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The rows travel as one JSON text: one parameter to quote, parsed by the server.
            payload = json.dumps(
                [
                    [event_id, pass_id, units, at.isoformat()]
                    for event_id, pass_id, units, at in rows
                ]
            )
            cursor.execute(
                f"INSERT INTO {table} (vendor_id, event_id, pass_obj_id, units, occurred_at, "
                f"created_at) SELECT %s, e->>0, (e->>1)::bigint, (e->>2)::integer, "
                f"(e->>3)::timestamptz, %s FROM json_array_elements(%s::json) WITH ORDINALITY "
                f"AS rows(e, n) ORDER BY n "
                f"ON CONFLICT (vendor_id, event_id) DO NOTHING RETURNING event_id",
                [vendor_id, now, payload],
            )
        else:  # SQLite (embedded mode)
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
            params: list = []
            for event_id, pass_id, units, occurred_at in rows:
                params += [vendor_id, event_id, pass_id, units, occurred_at, now]
            cursor.execute(
                f"INSERT INTO {table} (vendor_id, event_id, pass_obj_id, units, occurred_at, "
                f"created_at) VALUES {values} ON CONFLICT (vendor_id, event_id) DO NOTHING "
                f"RETURNING event_id",
                params,
            )
        return {row[0] for row in cursor.fetchall()}


def _take_all(pass_id: int, units: int, now) -> int | None:
    """Take `units` from the pass in one conditional UPDATE; units left, or None if short
    (or no longer active: a refund may have revoked it since we read it)."""
    table = Pass._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET units_left = units_left - %s, updated_at = %s, "
            f"status = CASE WHEN units_left = %s THEN %s ELSE status END "
            f"WHERE id = %s AND status = %s AND units_left >= %s RETURNING units_left",
            [units, now, units, PassStatus.USED_UP, pass_id, PassStatus.ACTIVE, units],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def _pass_refusal(p: Pass | None, key: ApiKey, test_mode: bool, now) -> str:
    if p is None or p.service.vendor_id != key.vendor_id or p.is_test != test_mode:
        return "unknown_pass"
    if p.kind == PlanKind.METERED:
        return "metered_pass_uses_sessions"
    if p.effective_status(now) != PassStatus.ACTIVE or p.starts_at > now:
        return f"pass_{p.effective_status(now)}"
    return ""


@transaction.atomic
def usage_ingest(*, key: ApiKey, events: list[EventIn], now=None) -> IngestOutcome:
    """Record `events` exactly once each; one result per event, in input order.

    Statements per call, whatever the batch size: the passes read, one INSERT .. ON
    CONFLICT DO NOTHING RETURNING for the claims, one conditional UPDATE per usage
    pass (plus a locked read and a delete only when the pass runs short), the
    endpoints read and one outbox INSERT.
    """
    now = now or timezone.now()
    tolerance = timedelta(seconds=settings.USAGE_FUTURE_TOLERANCE_SECONDS)
    future_limit = now + tolerance
    results: list[EventResult | None] = [None] * len(events)
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
    refusals: dict[str, str] = {}  # per pass token, worked out once
    to_claim: list[tuple[int, EventIn, Pass]] = []
    for i, e in enumerate(events):
        if e.event_id in seen:
            results[i] = EventResult(e.event_id, DUPLICATE, "repeated_in_batch")
            continue
        seen.add(e.event_id)
        if e.units <= 0:
            reason = "units_not_positive"
        elif e.units > UNITS_MAX:
            reason = "units_too_large"
        elif e.occurred_at is not None and e.occurred_at > future_limit:
            reason = "timestamp_in_future"
        else:
            reason = refusals.get(e.pass_token)
            if reason is None:
                p = passes.get(e.pass_token)
                reason = refusals[e.pass_token] = _pass_refusal(p, key, test_mode, now)
            # Use from before the pass existed (a clock at year 1, a replayed log) is not
            # use of this pass: the same clock tolerance as for the future.
            pass_start = passes[e.pass_token].starts_at if not reason else None
            if e.occurred_at is not None and pass_start and e.occurred_at < pass_start - tolerance:
                reason = "timestamp_before_pass"
        if reason:
            results[i] = EventResult(e.event_id, REFUSED, reason)
        else:
            to_claim.append((i, e, passes[e.pass_token]))

    claimed = _claim(
        key.vendor_id,
        [(e.event_id, p.pk, e.units, e.occurred_at or now) for _, e, p in to_claim],
        now,
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
        total = sum(e.units for _, e, _ in items)
        after = _take_all(pass_id, total, now)
        if after is not None:  # the common case: everything fits, one statement
            left = after + total
            taken = 0
            for i, e, _ in items:
                taken += e.units
                results[i] = EventResult(e.event_id, ACCEPTED, units_left=left - taken)
            touched.append((p, total, after, len(items)))
            continue
        # Short of units: lock, take the events in order while they fit, refuse the rest.
        left, status = (
            Pass.objects.select_for_update()
            .filter(pk=pass_id)
            .values_list("units_left", "status")[0]
        )
        if status not in (PassStatus.ACTIVE, PassStatus.USED_UP):  # revoked or expired meanwhile
            for i, e, _ in items:
                results[i] = EventResult(e.event_id, REFUSED, f"pass_{status}")
                refused_ids.append(e.event_id)
            continue
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
            after = _take_all(pass_id, taken, now)
            assert after == left - taken  # we hold the row lock
            accepted = sum(1 for i, _, _ in items if results[i].status == ACCEPTED)
            touched.append((p, taken, after, accepted))
    if refused_ids:
        UsageEvent.objects.filter(vendor_id=key.vendor_id, event_id__in=refused_ids).delete()

    access_cache_drop_many_on_commit([p.token for p, _, _, _ in touched])
    for p, units, units_left, count in touched:
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
    webhook_events_record(
        [
            (
                key.vendor_id,
                "usage.recorded",
                {
                    "pass_id": p.pk,
                    "units": units,
                    "units_left": units_left,
                    "events": count,
                    "test": p.is_test,
                },
            )
            for p, units, units_left, count in touched
        ]
    )
    return IngestOutcome(results=results)


def purchase_event_record(*, purchase, event_type: str, pass_obj=None, **extra) -> None:
    """pass.purchased / pass.refunded: outbox row for the vendor, access cache dropped.

    Called inside the purchase's or refund's transaction (one line at each call site);
    a caller that has just created the pass hands it over (`pass_obj`).
    """
    if pass_obj is None:
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
