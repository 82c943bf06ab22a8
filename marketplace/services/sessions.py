"""Metered sessions: reserve block by block, settle the exact cost at stop.

Billing rule (the one documented rounding; see `cost_paise`):
  per second: rate x whole seconds elapsed (a partial second is free);
  per minute: rate x minutes started (ceil(seconds / 60));
  per call:   rate x calls reported.
A session always holds reservations covering its cost up to one block ahead
(SESSION_BLOCK_SECONDS, or SESSION_BLOCK_CALLS for per-call plans). When the
next block cannot be reserved the session stops with `insufficient_funds`.
The charge is never above what was reserved (a session that outran its
heartbeats is billed the reserved amount at most). At stop the reservations
are settled in order (platform fee first, then vendor share) and the
remainder returns to the user's available balance.

Vendor-started sessions need the user's consent: a **session grant**. The user
asks for one (`session_grant_issue`, POST /api/v1/sessions/grants/) and hands it
to the vendor the way they hand over a pass token; the vendor's server redeems
it (`session_start_by_vendor`, POST /api/v1/vendor/sessions/). A grant is
stateless and signed (django.core.signing, salted): it names the user and one
metered plan, is good for SESSION_GRANT_SECONDS, and starts at most one
session: the session's token is derived from the grant's nonce, so the unique
index on MeteredSession.token refuses a second session from the same grant even
when two redemptions race.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from flexpass.errors import Conflict, DomainError, NotFound
from flexpass.realtime import broadcast_on_commit, user_group
from marketplace.models import MeteredSession, MeteredUnit, Plan, PlanKind, SessionStatus
from marketplace.services.purchases import fee_split
from marketplace.services.webhooks import webhook_event_record
from support.services import notify
from wallet.errors import InsufficientFunds
from wallet.models import AccountKind, Reservation, ReservationStatus
from wallet.services import (
    Leg,
    money_transaction,
    platform_account,
    reservation_create,
    reservation_settle,
    reservation_void,
    vendor_payable_account,
    wallet_ensure,
)

logger = logging.getLogger(__name__)


class SessionStopped(Conflict):
    code = "session_stopped"
    title = "Session already stopped"


class GrantInvalid(DomainError):
    status_code = 422
    code = "session_grant_invalid"
    title = "Invalid session grant"


class GrantExpired(GrantInvalid):
    code = "session_grant_expired"
    title = "Session grant expired"


class GrantUsed(Conflict):
    code = "session_grant_used"
    title = "Session grant already used"


class PlanNotMetered(DomainError):
    status_code = 422
    code = "plan_not_metered"
    title = "Not a metered plan on sale"


GRANT_PREFIX = "fpsg_"
_GRANT_SALT = "marketplace.session-grant"


def cost_paise(*, rate_paise: int, unit: str, seconds: int, calls: int = 0) -> int:
    """The exact cost of `seconds` (whole, >= 0) or `calls` at `rate_paise` per unit."""
    if unit == MeteredUnit.SECOND:
        return rate_paise * seconds
    if unit == MeteredUnit.MINUTE:
        return rate_paise * (-(-seconds // 60))
    return rate_paise * calls


def block_paise(*, rate_paise: int, unit: str) -> int:
    if unit == MeteredUnit.CALL:
        return rate_paise * settings.SESSION_BLOCK_CALLS
    return cost_paise(rate_paise=rate_paise, unit=unit, seconds=settings.SESSION_BLOCK_SECONDS)


def _elapsed(session: MeteredSession, at) -> int:
    return max(0, int((at - session.started_at).total_seconds()))


def _cost_at(session: MeteredSession, at, calls: int | None = None) -> int:
    return cost_paise(
        rate_paise=session.rate_paise,
        unit=session.unit,
        seconds=_elapsed(session, at),
        calls=session.calls if calls is None else calls,
    )


def _lock(session_id: int) -> MeteredSession:
    session = MeteredSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    return session


def _reserve_block(session: MeteredSession, wallet) -> bool:
    """Reserve one more block; False (and nothing changed) if funds do not cover it."""
    amount = block_paise(rate_paise=session.rate_paise, unit=session.unit)
    try:
        with transaction.atomic():
            reservation = reservation_create(
                wallet=wallet,
                amount_paise=amount,
                purpose=f"metered session {session.pk}",
                idempotency_key=f"session:{session.pk}:block:{len(session.reservations)}",
                memo=f"{session.plan.service.name}: metered session",
            )
    except InsufficientFunds:
        return False
    session.reservations = [*session.reservations, reservation.pk]
    session.reserved_paise += amount
    return True


def _cover_ahead(session: MeteredSession, wallet, now) -> bool:
    """Reserve until the cost one block ahead is covered; False if funds ran out."""
    if session.unit == MeteredUnit.CALL:
        ahead = _cost_at(session, now, calls=session.calls + settings.SESSION_BLOCK_CALLS)
    else:
        ahead = _cost_at(session, now + timedelta(seconds=settings.SESSION_BLOCK_SECONDS))
    while session.reserved_paise < ahead:
        if not _reserve_block(session, wallet):
            return False
    return True


def _event(session: MeteredSession, now, **extra) -> dict:
    return {
        "type": "session.tick",
        "session_id": session.pk,
        "status": session.status,
        "cost_paise": min(_cost_at(session, now), session.reserved_paise)
        if session.status == SessionStatus.RUNNING
        else session.cost_paise,
        "reserved_paise": session.reserved_paise,
        "stop_reason": session.stop_reason,
        **extra,
    }


def _check_metered(plan: Plan) -> None:
    if plan.kind != PlanKind.METERED or not plan.is_active or not plan.service.is_live:
        raise PlanNotMetered("This plan is not a metered plan on sale.")


def _start(
    *, user, plan: Plan, now, token: str | None = None, terms: tuple[int, str] | None = None
) -> MeteredSession:
    """Create the session and reserve its first block (caller's durable transaction).

    `terms` is the (rate, unit) the user agreed to, when they agreed before the start
    (a grant, a consultation): a vendor changing the plan in between does not change
    what this session bills. Without it, the plan's terms now.
    """
    _check_metered(plan)
    rate_paise, unit = terms or (plan.metered_rate_paise, plan.metered_unit)
    fields = {"token": token} if token else {}
    session = MeteredSession.objects.create(
        user=user,
        plan=plan,
        vendor_id=plan.service.vendor_id,
        rate_paise=rate_paise,
        unit=unit,
        started_at=now,
        last_heartbeat_at=now,
        **fields,
    )
    if not _reserve_block(session, wallet_ensure(user=user)):
        raise InsufficientFunds("Your balance does not cover the first block of this session.")
    session.save(update_fields=["reservations", "reserved_paise"])
    broadcast_on_commit(user_group(user.pk), _event(session, now))
    return session


@money_transaction
def session_start(
    *, user, plan: Plan, now=None, terms: tuple[int, str] | None = None
) -> MeteredSession:
    """Start a metered session on `plan`, reserving the first block (402 if unaffordable).
    `terms`: the (rate, unit) the user agreed to earlier, if they did (see _start)."""
    return _start(user=user, plan=plan, now=now or timezone.now(), terms=terms)


def session_grant_issue(*, user, plan: Plan, now=None) -> tuple[str, datetime]:
    """The user's consent for `plan`'s vendor to start one session: (grant, redeem by)."""
    _check_metered(plan)
    now = now or timezone.now()
    # The rate and unit the user agrees to travel with the grant: what the session bills.
    payload = {
        "u": user.pk,
        "p": plan.pk,
        "n": secrets.token_urlsafe(12),
        "r": plan.metered_rate_paise,
        "m": plan.metered_unit,
    }
    grant = signing.dumps(payload, salt=_GRANT_SALT, compress=True)
    return GRANT_PREFIX + grant, now + timedelta(seconds=settings.SESSION_GRANT_SECONDS)


def _grant_read(grant: str) -> dict:
    if not grant.startswith(GRANT_PREFIX):
        raise GrantInvalid("Not a session grant.")
    try:
        return signing.loads(
            grant.removeprefix(GRANT_PREFIX),
            salt=_GRANT_SALT,
            max_age=timedelta(seconds=settings.SESSION_GRANT_SECONDS),
        )
    except signing.SignatureExpired as exc:
        raise GrantExpired("This session grant has expired; ask the user for a new one.") from exc
    except signing.BadSignature as exc:
        raise GrantInvalid("This session grant is not valid.") from exc


def grant_session_token(nonce: str) -> str:
    """The token of the one session a grant may start (keyed: not guessable from the grant)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{_GRANT_SALT}:{nonce}".encode(), hashlib.sha256
    )
    return "sg_" + digest.hexdigest()[:40]


@money_transaction
def session_start_by_vendor(*, vendor_id: int, grant: str, now=None) -> MeteredSession:
    """Redeem a user's session grant: start their session, reserving the first block.

    Refused (nothing changed) when the grant is not valid, names another vendor's plan
    (reported as not valid: grants of other vendors are not revealed), has expired or
    was already used, when the plan is no longer a metered plan on sale, or when the
    user's balance does not cover the first block (402).
    """
    data = _grant_read(grant)
    plan = Plan.objects.select_related("service").filter(pk=data["p"]).first()
    if plan is None or plan.service.vendor_id != vendor_id:
        raise GrantInvalid("This session grant is not valid.")
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None:
        raise GrantInvalid("This session grant is not valid.")
    token = grant_session_token(data["n"])
    _refuse_if_started(token)
    try:
        with transaction.atomic():  # a racing redemption waits here on the token index
            terms = (data["r"], data["m"]) if "r" in data else None  # older grants: the plan's
            return _start(user=user, plan=plan, now=now or timezone.now(), token=token, terms=terms)
    except IntegrityError as exc:
        if "token" not in str(exc):
            raise
    _refuse_if_started(token)  # the racing redemption committed it
    raise GrantUsed("This session grant has already started a session.")


def _refuse_if_started(token: str) -> None:
    """GrantUsed naming the session the grant started (the vendor's own), if it did.

    A vendor whose first answer was lost (a timeout, a retry that took the request
    over) learns which session to heartbeat instead of only that the grant is spent.
    """
    session_id = MeteredSession.objects.filter(token=token).values_list("pk", flat=True).first()
    if session_id is not None:
        raise GrantUsed(
            "This session grant has already started a session.",
            session_id=session_id,
            token=token,
        )


@money_transaction
def session_heartbeat(*, session_id: int, vendor_id: int, calls: int = 0, now=None) -> dict:
    """Extend the session by a block if needed; cost so far. Stops it if funds run out."""
    now = now or timezone.now()
    session = _lock(session_id)
    if session.vendor_id != vendor_id:
        raise NotFound("No such session.")
    if session.status != SessionStatus.RUNNING:
        raise SessionStopped("This session has stopped.")
    if calls < 0:
        raise DomainError("calls must not be negative.")
    session.calls += calls
    session.last_heartbeat_at = now
    wallet = wallet_ensure(user=session.user)
    if not _cover_ahead(session, wallet, now):
        _stop(session, now, reason="insufficient_funds")
        return _event(session, now)
    _low_balance_check(session, wallet)
    session.save(
        update_fields=[
            "calls",
            "last_heartbeat_at",
            "reservations",
            "reserved_paise",
            "low_balance_warned",
        ]
    )
    event = _event(session, now)
    broadcast_on_commit(user_group(session.user_id), event)
    return event


def _low_balance_check(session: MeteredSession, wallet) -> None:
    """Warn once per crossing below SESSION_LOW_BALANCE_MINUTES of funds left."""
    per_minute = (
        session.rate_paise * 60
        if session.unit == MeteredUnit.SECOND
        else session.rate_paise
        if session.unit == MeteredUnit.MINUTE
        else 0
    )
    if not per_minute:
        return
    wallet.available.refresh_from_db(fields=["balance_paise"])
    low = wallet.available.balance_paise < per_minute * settings.SESSION_LOW_BALANCE_MINUTES
    if low and not session.low_balance_warned:
        notify(
            user=session.user,
            kind="low_balance",
            title="Your balance is running low",
            body=f"Less than {settings.SESSION_LOW_BALANCE_MINUTES} minutes of "
            f"{session.plan.service.name} left in your wallet.",
            url=f"/sessions/{session.pk}/",
            dedupe_key=f"session:{session.pk}:low:{len(session.reservations)}",
        )
    session.low_balance_warned = low


def _stop(session: MeteredSession, at, *, reason: str) -> None:
    """Settle the exact cost up to `at` (capped at the reservation), void the rest.

    Only blocks still held pay: one voided or expired elsewhere went back to the
    user and lowers the cap (it must not leave the session unable to stop).
    """
    blocks = list(
        Reservation.objects.select_related("wallet__available", "wallet__reserved")
        .filter(pk__in=session.reservations, status=ReservationStatus.PENDING)
        .order_by("pk")
    )
    held = sum(block.amount_paise for block in blocks)
    cost = min(_cost_at(session, at), session.reserved_paise, held)
    fee_left, share_left = fee_split(cost) if cost else (0, 0)
    vendor_account = vendor_payable_account(session.vendor.user)
    revenue = platform_account(AccountKind.PLATFORM_REVENUE)
    category = session.plan.service.category.name
    for reservation in blocks:
        fee = min(fee_left, reservation.amount_paise)
        share = min(share_left, reservation.amount_paise - fee)
        fee_left, share_left = fee_left - fee, share_left - share
        if fee + share == 0:
            reservation_void(reservation=reservation, memo="Metered session: unused")
            continue
        payees = [
            leg for leg in (Leg(revenue, fee), Leg(vendor_account, share)) if leg.amount_paise
        ]
        reservation_settle(
            reservation=reservation,
            payees=payees,
            memo=f"{session.plan.service.name}: metered session",
            category=category,
            metadata={"session": session.pk},
        )
    session.status = SessionStatus.STOPPED
    session.stop_reason = reason
    session.stopped_at = at
    session.cost_paise = cost
    session.save(
        update_fields=[
            "status",
            "stop_reason",
            "stopped_at",
            "cost_paise",
            "calls",
            "last_heartbeat_at",
            "reservations",
            "reserved_paise",
        ]
    )
    if reason == "insufficient_funds":
        notify(
            user=session.user,
            kind="session_auto_stopped",
            title=f"{session.plan.service.name} stopped: balance too low",
            url=f"/sessions/{session.pk}/",
            dedupe_key=f"session:{session.pk}:stopped",
        )
    webhook_event_record(
        vendor_id=session.vendor_id,
        event_type="session.stopped",
        data={
            "session_id": session.pk,
            "token": session.token,
            "reason": reason,
            "cost_paise": cost,
            "seconds": _elapsed(session, at),
            "calls": session.calls,
        },
    )
    broadcast_on_commit(user_group(session.user_id), _event(session, at))


@money_transaction
def session_stop(
    *, session_id: int, user=None, vendor_id: int | None = None, calls: int = 0, now=None
) -> MeteredSession:
    """Stop by the user (from the page) or the vendor (API); bills up to now."""
    now = now or timezone.now()
    session = _lock(session_id)
    if (user is not None and session.user_id != user.pk) or (
        vendor_id is not None and session.vendor_id != vendor_id
    ):
        raise NotFound("No such session.")
    if session.status != SessionStatus.RUNNING:
        raise SessionStopped("This session has stopped.")
    session.calls += max(0, calls)
    _stop(session, now, reason="stopped_by_user" if user is not None else "stopped_by_vendor")
    return session


@money_transaction
def _stale_close_one(session_id: int, cutoff) -> bool:
    session = _lock(session_id)
    if session.status != SessionStatus.RUNNING or session.last_heartbeat_at > cutoff:
        return False
    _stop(session, session.last_heartbeat_at, reason="heartbeat_timeout")
    return True


def sessions_close_stale(*, now=None) -> int:
    """Close sessions with no heartbeat for SESSION_HEARTBEAT_TIMEOUT_SECONDS, billed to it."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT_SECONDS)
    ids = MeteredSession.objects.filter(
        status=SessionStatus.RUNNING, last_heartbeat_at__lte=cutoff
    ).values_list("pk", flat=True)[:500]
    closed = 0
    for pk in list(ids):
        try:
            closed += _stale_close_one(pk, cutoff)
        except DomainError:  # one session's trouble must not keep the others running
            logger.exception("stale metered session %s could not be closed", pk)
    return closed
