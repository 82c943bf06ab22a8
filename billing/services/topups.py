"""Money in: top-up orders, their capture (exactly once) and reconciliation.

A captured payment reaches us up to three ways - the browser's signed return,
the gateway's signed webhook (possibly several times) and reconciliation. All
three end in `_capture`, which inside one money_transaction flips the TopUp to
CAPTURED with a conditional UPDATE and posts the credit with the ledger
idempotency key `topup:<pk>:capture`. Whoever comes second finds the row
already captured (PostgreSQL re-checks the WHERE after the first commits) and
does nothing, so the wallet is credited exactly once.
"""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from billing import lock_objects, selectors
from billing.errors import (
    GatewayUnavailable,
    InvalidIdempotencyKey,
    InvalidPaymentSignature,
    TopUpRefused,
)
from billing.gateways import active_gateway, gateway_named
from billing.metrics import SIGNATURE_FAILURES
from billing.models import CAPTURABLE, OPEN, TopUp, TopUpStatus
from flexpass.money import format_rupees
from support.services import notify
from wallet.errors import IdempotencyConflict
from wallet.models import AccountKind, EntryKind
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    platform_account,
    validate_amount,
    wallet_ensure,
)

logger = logging.getLogger(__name__)


def _clean_key(idempotency_key) -> str:
    key = str(idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise InvalidIdempotencyKey("An idempotency key of 1 to 255 characters is required.")
    return key


def topup_check_amount(amount_paise) -> int:
    """The per-top-up limits (the daily one needs the user: see topup_create)."""
    validate_amount(amount_paise)
    if amount_paise < settings.TOPUP_MIN_PAISE:
        raise TopUpRefused(
            f"The smallest top-up is {format_rupees(settings.TOPUP_MIN_PAISE)}.",
            min_paise=settings.TOPUP_MIN_PAISE,
        )
    if amount_paise > settings.TOPUP_MAX_PAISE:
        raise TopUpRefused(
            f"The largest single top-up is {format_rupees(settings.TOPUP_MAX_PAISE)}.",
            max_paise=settings.TOPUP_MAX_PAISE,
        )
    return amount_paise


@money_transaction
def _topup_open(*, user, amount_paise: int, idempotency_key: str, gateway_name: str) -> TopUp:
    lock_objects.user_for_topup(user.pk)
    existing = TopUp.objects.filter(user=user, idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.amount_paise != amount_paise:
            raise IdempotencyConflict(
                "This idempotency key was already used for a top-up of a different amount."
            )
        return existing
    used = selectors.topup_total_today(user=user)
    daily = settings.TOPUP_DAILY_MAX_PAISE
    if used + amount_paise > daily:
        left = max(0, daily - used)
        raise TopUpRefused(
            f"You can add up to {format_rupees(daily)} a day (every top-up started today "
            f"counts, paid or not). {format_rupees(left)} is left for today.",
            daily_max_paise=daily,
            left_today_paise=left,
        )
    return TopUp.objects.create(
        user=user,
        amount_paise=amount_paise,
        gateway=gateway_name,
        idempotency_key=idempotency_key,
    )


def topup_create(*, user, amount_paise: int, idempotency_key: str) -> TopUp:
    """Open a top-up of `amount_paise` and its gateway order. Same key -> same top-up.

    Two phases, so no row lock is held during the gateway call: (1) check the
    limits and insert the TopUp under the user's lock; (2) create the gateway
    order and store its id. If (2) fails the caller gets GatewayUnavailable
    and a retry with the same key resumes at (2).
    """
    topup_check_amount(amount_paise)
    key = _clean_key(idempotency_key)
    topup = _topup_open(
        user=user,
        amount_paise=amount_paise,
        idempotency_key=key,
        gateway_name=active_gateway().name,
    )
    if topup.gateway_order_id:
        return topup
    gateway = gateway_named(topup.gateway)
    order_id = gateway.create_order(amount_paise=topup.amount_paise, receipt=f"topup_{topup.pk}")
    TopUp.objects.filter(pk=topup.pk, gateway_order_id__isnull=True).update(
        gateway_order_id=order_id, updated_at=timezone.now()
    )
    topup.refresh_from_db()  # a concurrent retry may have stored its order first: theirs wins
    return topup


# --- capture, failure, expiry -------------------------------------------------------------


def _capture(*, topup: TopUp, payment_id: str, via: str) -> bool:
    """Flip `topup` to CAPTURED and credit the wallet, once. The caller holds money_transaction.

    Returns False when someone else captured it first (nothing is posted).
    """
    now = timezone.now()
    won = TopUp.objects.filter(pk=topup.pk, status__in=CAPTURABLE).update(
        status=TopUpStatus.CAPTURED,
        gateway_payment_id=payment_id,
        captured_via=via,
        captured_at=now,
        updated_at=now,
        failure_reason="",
    )
    if not won:
        current = TopUp.objects.filter(pk=topup.pk).values_list("gateway_payment_id", flat=True)
        if current and current[0] != payment_id:
            logger.warning(
                "top-up %s already captured by %s; payment %s not credited again",
                topup.pk,
                current[0],
                payment_id,
            )
        return False
    wallet = wallet_ensure(user=topup.user)
    entry = entry_post(
        kind=EntryKind.TOPUP,
        legs=[
            Leg(platform_account(AccountKind.GATEWAY_CLEARING), -topup.amount_paise),
            Leg(wallet.available, topup.amount_paise),
        ],
        memo="Added money with Razorpay"
        if topup.gateway == "razorpay"
        else "Added money (test gateway)",
        category="topup",
        idempotency_key=f"topup:{topup.pk}:capture",
        metadata={
            "topup": topup.pk,
            "gateway": topup.gateway,
            "order_id": topup.gateway_order_id,
            "payment_id": payment_id,
            "via": via,
        },
    )
    TopUp.objects.filter(pk=topup.pk).update(entry=entry)
    notify(
        user=topup.user_id,
        kind="topup_captured",
        title=f"{format_rupees(topup.amount_paise)} added to your wallet",
        url="/wallet/",
        dedupe_key=f"topup:{topup.pk}",
    )
    logger.info("top-up %s captured via %s: credited %d paise", topup.pk, via, topup.amount_paise)
    return True


@money_transaction
def topup_capture(*, topup_id: int, payment_id: str, via: str) -> bool:
    """Credit a top-up the gateway says is captured. True if this call credited it."""
    topup = TopUp.objects.select_related("user").get(pk=topup_id)
    return _capture(topup=topup, payment_id=payment_id, via=via)


def _fail(*, topup: TopUp, reason: str) -> bool:
    """Open -> FAILED. A later capture on the same order still wins (see CAPTURABLE)."""
    return bool(
        TopUp.objects.filter(pk=topup.pk, status__in=OPEN).update(
            status=TopUpStatus.FAILED,
            failure_reason=reason[:200],
            updated_at=timezone.now(),
            asked_at=None,  # first in line among the late ones, not last
        )
    )


def _mark_pending(*, topup: TopUp) -> bool:
    return bool(
        TopUp.objects.filter(pk=topup.pk, status=TopUpStatus.CREATED).update(
            status=TopUpStatus.PENDING, updated_at=timezone.now()
        )
    )


def _expire(*, topup: TopUp) -> bool:
    return bool(
        TopUp.objects.filter(pk=topup.pk, status__in=OPEN).update(
            status=TopUpStatus.EXPIRED,
            failure_reason="Not paid in time.",
            updated_at=timezone.now(),
            asked_at=None,  # first in line among the late ones, not last
        )
    )


def topup_confirm_return(*, user, topup_id, payment_id: str, signature: str) -> TopUp:
    """The payer's browser (or app) came back from checkout with a signed payment.

    The signature is checked against the order id WE stored for this top-up,
    never against one echoed by the client; a mismatch credits nothing.
    """
    topup = selectors.access_topup(user=user, topup_id=topup_id)
    payment_id = str(payment_id or "").strip()[:64]
    signature = str(signature or "").strip()
    gateway = gateway_named(topup.gateway)
    if not (
        topup.gateway_order_id
        and payment_id
        and gateway.verify_payment_signature(
            order_id=topup.gateway_order_id, payment_id=payment_id, signature=signature
        )
    ):
        SIGNATURE_FAILURES.labels(source="return").inc()
        logger.warning(
            "top-up %s: payment signature mismatch for payment %r (user %s)",
            topup.pk,
            payment_id,
            user.pk,
        )
        raise InvalidPaymentSignature(
            "We could not verify this payment. If money left your account, it will be "
            "added to your wallet as soon as Razorpay confirms it."
        )
    topup_capture(topup_id=topup.pk, payment_id=payment_id, via="return")
    topup.refresh_from_db()
    return topup


def topup_note_return_without_payment(*, topup: TopUp) -> TopUp:
    """The payer came back without a signed payment (cancelled, failed, closed the sheet).

    A created top-up becomes pending: reconciliation will ask the gateway. It is
    not marked failed on the browser's word alone (that part is unsigned).
    """
    _mark_pending(topup=topup)
    topup.refresh_from_db()
    return topup


# --- reconciliation -----------------------------------------------------------------------


def _reconcile_one(*, topup: TopUp, expire_before) -> str:
    if not topup.gateway_order_id:  # the gateway never gave us an order: nobody can pay it
        return "expired" if _expire(topup=topup) else "unchanged"
    try:
        order = gateway_named(topup.gateway).fetch_order(topup.gateway_order_id)
    except GatewayUnavailable as exc:
        logger.warning("reconcile: cannot ask the gateway about top-up %s: %s", topup.pk, exc)
        return "gateway_error"
    captured = order.captured_payment
    if captured is not None:
        if captured.amount_paise != topup.amount_paise:
            logger.error(
                "reconcile: top-up %s is for %d paise but payment %s captured %d; left for staff",
                topup.pk,
                topup.amount_paise,
                captured.payment_id,
                captured.amount_paise,
            )
            return "amount_mismatch"
        credited = topup_capture(topup_id=topup.pk, payment_id=captured.payment_id, via="reconcile")
        return "captured" if credited else "unchanged"
    if topup.created_at <= expire_before and not order.payment_in_flight:
        return "expired" if _expire(topup=topup) else "unchanged"
    return "unchanged"


def _least_recently_asked(topups, *, limit: int, now) -> list[TopUp]:
    """Up to `limit` of `topups`: never asked first (oldest first), then least recently
    asked; stamped as asked now. A backlog larger than the batch rotates instead of the
    same ones (a gateway that keeps erroring on them) being asked every run."""
    if limit <= 0:
        return []
    chosen = list(topups.order_by(F("asked_at").asc(nulls_first=True), "id")[:limit])
    TopUp.objects.filter(pk__in=[topup.pk for topup in chosen]).update(asked_at=now)
    return chosen


def topups_reconcile(*, now=None) -> dict[str, int]:
    """Ask the gateway about top-ups still open after TOPUP_RECONCILE_AFTER_MINUTES.

    Captured -> credited through the same exactly-once path; still unpaid after
    TOPUP_EXPIRE_MINUTES -> expired. Failed and expired top-ups of the last
    TOPUP_LATE_CAPTURE_HOURS are asked too, with what is left of the batch: the
    payer may retry on the same gateway order after a failed attempt, or pay after
    we gave up waiting, and if that webhook never arrives nothing else would credit
    money the gateway took. Safe to run twice, late or concurrently.
    """
    now = now or timezone.now()
    ask_before = now - timedelta(minutes=settings.TOPUP_RECONCILE_AFTER_MINUTES)
    expire_before = now - timedelta(minutes=settings.TOPUP_EXPIRE_MINUTES)
    batch = settings.TOPUP_RECONCILE_BATCH
    due = _least_recently_asked(
        TopUp.objects.open().filter(created_at__lte=ask_before), limit=batch, now=now
    )
    late_since = now - timedelta(hours=settings.TOPUP_LATE_CAPTURE_HOURS)
    late = _least_recently_asked(
        TopUp.objects.filter(
            status__in=(TopUpStatus.FAILED, TopUpStatus.EXPIRED),
            created_at__gte=late_since,
            gateway_order_id__gt="",
        ),
        limit=batch - len(due),
        now=now,
    )
    counts: Counter[str] = Counter()
    for topup in due + late:
        counts[_reconcile_one(topup=topup, expire_before=expire_before)] += 1
    return dict(counts)


def topup_reconcile_now(*, topup_ids: list[int], now=None) -> dict[str, int]:
    """Staff asked: reconcile these open top-ups now, whatever their age."""
    now = now or timezone.now()
    expire_before = now - timedelta(minutes=settings.TOPUP_EXPIRE_MINUTES)
    counts: Counter[str] = Counter()
    for topup in TopUp.objects.open().filter(pk__in=topup_ids).order_by("id"):
        counts[_reconcile_one(topup=topup, expire_before=expire_before)] += 1
    return dict(counts)
