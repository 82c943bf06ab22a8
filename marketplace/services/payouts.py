"""Vendors' earnings out: the payable balance moves to the vendor's own wallet.

A vendor's share of every sale is credited to their `vendor_payable` ledger
account. `earnings_to_wallet` moves some or all of it to the vendor user's own
wallet (`available`) in one balanced journal entry (kind EARNINGS, memo
"Earnings moved to wallet", category "earnings"); from there the ordinary
withdrawal flow (billing.services.withdrawals) pays it out to the bank.

The payable never goes below zero: the entry locks it and refuses more than its
balance (InsufficientFunds, with the balance in the message), so ten moves at
once can never take out more than was there. Nor does the vendor's share of a
sale younger than EARNINGS_HOLD_HOURS (the refund window) move: it is *held*,
so a staff refund inside the window always finds the vendor's part still in the
payable. (A refund after the window, of money already moved, is fronted by the
platform adjustments account and recorded on the refund: marketplace.refunds.)
Each move is exactly once per idempotency key. Staff can move a vendor's
earnings for them (admin); the entry then records who did it and why.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from flexpass.money import format_rupees
from marketplace.console_selectors import earnings_held
from marketplace.errors import EarningsMoveRefused
from marketplace.models import VendorProfile
from marketplace.services.purchases import clean_idempotency_key
from wallet import lock_objects
from wallet.errors import IdempotencyConflict, InsufficientFunds
from wallet.models import EntryKind, JournalEntry
from wallet.services import (
    MAX_AMOUNT_PAISE,
    Leg,
    entry_by_key,
    entry_post,
    money_transaction,
    validate_amount,
    vendor_payable_account,
    wallet_ensure,
)

logger = logging.getLogger(__name__)

MEMO = "Earnings moved to wallet"
CATEGORY = "earnings"


@dataclass(frozen=True)
class EarningsMove:
    entry_id: int
    amount_paise: int
    created_at: datetime
    payable_paise: int  # the vendor's payable balance right after the move
    available_paise: int  # the vendor's wallet balance right after the move
    replayed: bool = False  # this key had already moved the money: nothing moved now


def _scoped_key(*, vendor_user, acting_user, key: str) -> str:
    if acting_user.pk == vendor_user.pk:
        return f"user:{vendor_user.pk}:earnings:{key}"
    return f"staff:{acting_user.pk}:earnings:{vendor_user.pk}:{key}"


def _same_request(entry: JournalEntry, *, vendor_user, amount_paise: int | None) -> bool:
    metadata = entry.metadata or {}
    if entry.kind != EntryKind.EARNINGS or metadata.get("vendor_user") != vendor_user.pk:
        return False
    if amount_paise is None:
        return metadata.get("all") is True
    return not metadata.get("all") and metadata.get("amount_paise") == amount_paise


@money_transaction
def earnings_to_wallet(
    *,
    vendor_user,
    amount_paise: int | None,
    idempotency_key: str,
    acting_user=None,
    reason: str = "",
    now=None,
) -> EarningsMove:
    """Move `amount_paise` (None: the whole balance) from the vendor's payable to their wallet.

    `acting_user` is the vendor themself (the default) or staff, who must give a
    reason. The same key and request return the first move; the same key with a
    different amount raises IdempotencyConflict. More than the payable balance
    raises InsufficientFunds and moves nothing, and so does more than the
    balance less the held earnings (the message says how much is held and why).
    """
    acting_user = acting_user or vendor_user
    key = clean_idempotency_key(idempotency_key)
    reason = " ".join(str(reason or "").split())[:200]
    staff = acting_user.pk != vendor_user.pk
    if staff and not acting_user.is_staff:
        raise EarningsMoveRefused("Only the vendor or staff can move a vendor's earnings.")
    if staff and len(reason) < 3:
        raise EarningsMoveRefused("Say why you are moving this vendor's earnings.", field="reason")
    if amount_paise is not None:
        validate_amount(amount_paise)
    vendor = VendorProfile.objects.filter(user=vendor_user).first()
    if vendor is None:
        raise EarningsMoveRefused("Only vendors have earnings to move.")

    payable = vendor_payable_account(vendor_user)
    wallet = wallet_ensure(user=vendor_user)
    scoped_key = _scoped_key(vendor_user=vendor_user, acting_user=acting_user, key=key)
    # Both rows in pk order (entry_post takes them again, already held): the
    # balance read for "all of it" and the key look-up below are then current.
    locked = lock_objects.accounts_for_posting([payable.pk, wallet.available_id])
    balance = locked[payable.pk].balance_paise

    first = entry_by_key(scoped_key)
    if first is not None:
        if not _same_request(first, vendor_user=vendor_user, amount_paise=amount_paise):
            raise IdempotencyConflict(
                "This idempotency key was already used for a different amount."
            )
        return EarningsMove(
            entry_id=first.pk,
            amount_paise=first.metadata["amount_paise"],
            created_at=first.created_at,
            payable_paise=balance,
            available_paise=locked[wallet.available_id].balance_paise,
            replayed=True,
        )

    held = earnings_held(vendor=vendor, now=now).of(balance)
    movable = balance - held
    whose = "The vendor has" if staff else "You have"
    if amount_paise is None:
        if movable <= 0:
            raise InsufficientFunds(
                f"{_to_move(whose, 0, held)}." if held else f"{whose} no earnings to move yet.",
                field="amount_paise",
                balance_paise=0,
            )
        amount = min(movable, MAX_AMOUNT_PAISE)
    else:
        amount = amount_paise
    if amount > movable:
        raise InsufficientFunds(
            f"{_to_move(whose, movable, held)}; you asked to move {format_rupees(amount)}.",
            field="amount_paise",
            balance_paise=max(movable, 0),
            needed_paise=amount,
        )

    metadata = {
        "vendor": vendor.pk,
        "vendor_user": vendor_user.pk,
        "amount_paise": amount,
        "all": amount_paise is None,
    }
    if staff:
        metadata.update(acting_user=acting_user.pk, reason=reason)
    entry = entry_post(
        kind=EntryKind.EARNINGS,
        legs=[Leg(payable, -amount), Leg(wallet.available, amount)],
        memo=f"{MEMO} by FlexPass staff: {reason}" if staff else MEMO,
        category=CATEGORY,
        idempotency_key=scoped_key,
        metadata=metadata,
        acting_user=acting_user,
    )
    logger.info(
        "earnings %s moved to wallet for vendor %s by user %s (entry %s)",
        amount,
        vendor.pk,
        acting_user.pk,
        entry.pk,
    )
    return EarningsMove(
        entry_id=entry.pk,
        amount_paise=amount,
        created_at=entry.created_at,
        payable_paise=payable.balance_paise,
        available_paise=wallet.available.balance_paise,
    )


def _to_move(whose: str, movable: int, held: int) -> str:
    """The "You have ₹X of earnings to move" message, naming what is held back and why."""
    text = f"{whose} {format_rupees(max(movable, 0))} of earnings to move"
    if held:
        text += (
            f" now ({format_rupees(held)} from sales in the last "
            f"{settings.EARNINGS_HOLD_HOURS} hours stays until their refund window closes)"
        )
    return text
