"""Staff refunds of purchases, full or partial, as one reversing journal entry each.

The buyer gets the amount back; the vendor's share and the platform fee are
reversed in proportion; cashback is cancelled in proportion while pending, or
clawed back once released (never below zero: what cannot be taken is recorded
as a debt on the refund); the pass is revoked (full refund) or shortened. The
vendor's share is taken from their payable, never from what is held there for
their other sales' refund windows; a refund after the window of money the
vendor already moved is fronted by the platform (`vendor_shortfall_paise`).
"""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from flexpass.errors import DomainError, NotFound
from flexpass.money import format_rupees
from marketplace.console_selectors import earnings_held
from marketplace.models import (
    CashbackGrant,
    CashbackStatus,
    Pass,
    PassStatus,
    PlanKind,
    Purchase,
    PurchaseStatus,
    Refund,
)
from marketplace.services import usage as vendor_events
from support.services import notify
from wallet import lock_objects
from wallet.models import AccountKind, EntryKind
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    pending_account,
    platform_account,
    validate_amount,
    vendor_payable_account,
    wallet_ensure,
)


class RefundRefused(DomainError):
    status_code = 400
    code = "refund_refused"
    title = "Refund refused"


def share_of(total: int, part: int, whole: int) -> int:
    """total * part / whole, rounded half-up to a paisa (integers only)."""
    return (2 * total * part + whole) // (2 * whole)


def share_step(total: int, refunded: tuple[int, int], whole: int) -> int:
    """The share of `total` a refund takes when the refunded sum goes from `before` to
    `after` of `whole`: taken on the running totals, so rounding never drifts and
    refunds that add up to the price take exactly all of it."""
    before, after = refunded
    return share_of(total, after, whole) - share_of(total, before, whole)


@money_transaction
def purchase_refund(
    *, purchase_id: int, amount_paise: int, reason: str, acting_user, idempotency_key: str
) -> Refund:
    """Refund `amount_paise` of a purchase. The same key returns the first refund."""
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.purchase_id != purchase_id:
            raise RefundRefused("This refund form was already used for another purchase.")
        return existing
    validate_amount(amount_paise)
    reason = (reason or "").strip()
    if not reason:
        raise RefundRefused("Give a reason for the refund.")
    # The purchase row is locked first: racing refunds of one purchase take turns, and
    # each sees what the ones before it refunded (the last one revokes the pass).
    purchase = (
        Purchase.objects.select_related(
            "buyer", "service__vendor__user", "service__category", "plan"
        )
        .select_for_update(of=("self",))
        .filter(pk=purchase_id)
        .first()
    )
    if purchase is None:
        raise NotFound("No such purchase.")
    refunded_before = purchase.refunded_paise
    left = purchase.price_paise - refunded_before
    if amount_paise > left:
        raise RefundRefused(
            f"At most {format_rupees(left)} of this purchase is left to refund."
            if left
            else "This purchase has already been refunded in full."
        )
    refunded_total = refunded_before + amount_paise
    full = refunded_total == purchase.price_paise
    Purchase.objects.filter(pk=purchase.pk).update(
        refunded_paise=refunded_total,
        status=PurchaseStatus.REFUNDED if full else PurchaseStatus.PARTIALLY_REFUNDED,
    )

    buyer = purchase.buyer
    buyer_available = wallet_ensure(user=buyer).available
    vendor_account = vendor_payable_account(purchase.service.vendor.user)
    vendor_part = share_step(
        purchase.vendor_share_paise, (refunded_before, refunded_total), purchase.price_paise
    )
    fee_part = amount_paise - vendor_part
    locked = lock_objects.accounts_for_update([vendor_account.pk])
    # The vendor's share of their other sales still in their refund window stays put
    # for those sales' refunds; this sale's own share, if held, is there to take.
    held_for_others = earnings_held(
        vendor=purchase.service.vendor, excluding_purchase=purchase.pk
    ).paise
    takeable = max(locked[vendor_account.pk].balance_paise - held_for_others, 0)
    vendor_take = min(vendor_part, takeable)
    shortfall = vendor_part - vendor_take

    legs = [Leg(buyer_available, amount_paise)]
    if vendor_take:
        legs.append(Leg(vendor_account, -vendor_take))
    if shortfall:
        legs.append(Leg(platform_account(AccountKind.PLATFORM_ADJUSTMENTS), -shortfall))
    if fee_part:
        legs.append(Leg(platform_account(AccountKind.PLATFORM_REVENUE), -fee_part))
    cancelled, clawed, debt = _cashback_reverse(
        purchase, legs, buyer_available, refunded=(refunded_before, refunded_total)
    )

    entry = entry_post(
        kind=EntryKind.REFUND,
        legs=_merge(legs),
        memo=f"Refund: {purchase.service.name} · {purchase.plan.name}",
        category=purchase.service.category.name if purchase.service.category_id else "",
        idempotency_key=f"refund:{idempotency_key}",
        metadata={"purchase": purchase.pk, "reason": reason[:200]},
        acting_user=acting_user,
    )
    _pass_cut(purchase, full=full, refunded=(refunded_before, refunded_total))
    vendor_events.purchase_event_record(
        purchase=purchase, event_type="pass.refunded", amount_paise=amount_paise
    )
    notify(
        user=buyer,
        kind="purchase_receipt",
        title=f"Refund of {format_rupees(amount_paise)}: {purchase.service.name}",
        body=f"{reason[:200]} The money is back in your wallet.",
        url=f"/receipts/{purchase.pk}/",
        dedupe_key=f"refund:{idempotency_key}"[:120],
    )
    return Refund.objects.create(
        purchase=purchase,
        amount_paise=amount_paise,
        reason=reason[:200],
        vendor_reversed_paise=vendor_part,
        fee_reversed_paise=fee_part,
        vendor_shortfall_paise=shortfall,
        cashback_cancelled_paise=cancelled,
        cashback_clawed_back_paise=clawed,
        cashback_debt_paise=debt,
        entry=entry,
        acting_user=acting_user,
        idempotency_key=idempotency_key,
    )


def _merge(legs: list[Leg]) -> list[Leg]:
    """One leg per account (the clawback and the refund both touch the buyer's wallet)."""
    totals: dict[int, list] = {}
    for leg in legs:
        totals.setdefault(leg.account.pk, [leg.account, 0])[1] += leg.amount_paise
    return [Leg(account, amount) for account, amount in totals.values() if amount]


def _cashback_reverse(purchase, legs, buyer_available, *, refunded) -> tuple[int, int, int]:
    """Add the legs that take back this refund's share of the cashback.

    `refunded` is (before, after) this refund. The share is taken on those running
    totals, like the vendor's, so partial refunds that add up to the price take
    back exactly the whole cashback. Returns (cancelled while pending, clawed back
    after release, debt).
    """
    grant = CashbackGrant.objects.select_for_update().filter(purchase=purchase).first()
    if grant is None:
        return 0, 0, 0
    part = min(
        share_step(grant.amount_paise, refunded, purchase.price_paise),
        grant.amount_paise - grant.cancelled_paise - grant.clawed_back_paise,
    )
    if part <= 0:
        return 0, 0, 0
    cashback = platform_account(AccountKind.PLATFORM_CASHBACK)
    if grant.status == CashbackStatus.PENDING:
        legs += [Leg(pending_account(purchase.buyer), -part), Leg(cashback, part)]
        left = grant.amount_paise - grant.cancelled_paise - part
        CashbackGrant.objects.filter(pk=grant.pk).update(
            cancelled_paise=F("cancelled_paise") + part,
            status=CashbackStatus.CANCELLED if left == 0 else CashbackStatus.PENDING,
        )
        return part, 0, 0
    # Released: take it back from available - which this refund itself has just
    # credited with more than the cashback - never below zero.
    before, after = refunded
    can_take = buyer_available.balance_paise + (after - before)
    take = min(part, can_take)
    if take:
        legs += [Leg(buyer_available, -take), Leg(cashback, take)]
    CashbackGrant.objects.filter(pk=grant.pk).update(
        clawed_back_paise=F("clawed_back_paise") + take
    )
    return 0, take, part - take


def _pass_cut(purchase, *, full: bool, refunded: tuple[int, int]) -> None:
    """Revoke the pass on a full refund; otherwise shorten it in proportion.

    `refunded` is (before, after) this refund: the pass keeps the unrefunded share
    of what it was sold as, however many partial refunds got it there.
    """
    now = timezone.now()
    the_pass = Pass.objects.select_for_update().filter(purchase=purchase).first()
    if the_pass is None or the_pass.status != PassStatus.ACTIVE:
        return
    if full:
        Pass.objects.filter(pk=the_pass.pk).update(status=PassStatus.REVOKED, updated_at=now)
        return
    before, after = refunded
    price = purchase.price_paise
    if the_pass.kind == PlanKind.TIME and the_pass.expires_at:
        # Its length now is the share left after the earlier refunds: scale that.
        length = (the_pass.expires_at - the_pass.starts_at).total_seconds()
        new_end = the_pass.starts_at + timedelta(
            seconds=length * (price - after) / (price - before)
        )
        changes = {"expires_at": new_end, "updated_at": now}
        if new_end <= now:
            changes["status"] = PassStatus.EXPIRED
        Pass.objects.filter(pk=the_pass.pk).update(**changes)
    elif the_pass.kind == PlanKind.USAGE and the_pass.units_total:
        # ceil, on the running totals: each refund takes whole units, none twice
        cut = -(-the_pass.units_total * after // price) - -(-the_pass.units_total * before // price)
        units_left = max(0, (the_pass.units_left or 0) - cut)
        changes = {"units_left": units_left, "updated_at": now}
        if units_left == 0:
            changes["status"] = PassStatus.USED_UP
        Pass.objects.filter(pk=the_pass.pk).update(**changes)
