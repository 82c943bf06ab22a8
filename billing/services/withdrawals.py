"""Money out: a withdrawal reserves the amount at once; staff approve or reject it once.

Approve settles the reservation to the platform payouts account (the payout
itself is simulated); reject voids it back to the user's available balance.
Each review is a conditional UPDATE requested -> approved/rejected, so a second
approve or reject is refused with WithdrawalAlreadyReviewed and moves nothing.
"""

import logging

from django.conf import settings
from django.utils import timezone

from billing.bank_details import (
    account_number_hash,
    clean_account_holder,
    clean_account_number,
    clean_ifsc,
)
from billing.errors import (
    InvalidIdempotencyKey,
    NotAllowed,
    WithdrawalAlreadyReviewed,
    WithdrawalRefused,
)
from billing.models import Withdrawal, WithdrawalStatus
from flexpass.money import format_rupees
from support.models import NotificationKind
from support.services import notify
from wallet.errors import IdempotencyConflict, InsufficientFunds
from wallet.models import AccountKind, EntryKind
from wallet.services import (
    Leg,
    entry_post,
    money_transaction,
    platform_account,
    reservation_create,
    reservation_settle,
    reservation_void,
    validate_amount,
    wallet_ensure,
)

logger = logging.getLogger(__name__)


def withdrawal_check_amount(amount_paise) -> int:
    validate_amount(amount_paise)
    if amount_paise < settings.WITHDRAWAL_MIN_PAISE:
        raise WithdrawalRefused(
            f"The smallest withdrawal is {format_rupees(settings.WITHDRAWAL_MIN_PAISE)}.",
            field="amount_paise",
        )
    if amount_paise > settings.WITHDRAWAL_MAX_PAISE:
        raise WithdrawalRefused(
            f"The largest withdrawal is {format_rupees(settings.WITHDRAWAL_MAX_PAISE)}.",
            field="amount_paise",
        )
    return amount_paise


@money_transaction
def withdrawal_request(
    *,
    user,
    amount_paise: int,
    account_holder: str,
    account_number: str,
    ifsc: str,
    idempotency_key: str,
) -> Withdrawal:
    """Ask for `amount_paise` to be paid to a bank account; the amount is reserved now.

    Same key and same request -> the first withdrawal; same key, other request ->
    IdempotencyConflict. Not enough available money -> InsufficientFunds, nothing changes.
    """
    withdrawal_check_amount(amount_paise)
    holder = clean_account_holder(account_holder)
    number = clean_account_number(account_number)
    ifsc = clean_ifsc(ifsc)
    key = str(idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise InvalidIdempotencyKey("An idempotency key of 1 to 255 characters is required.")
    digest = account_number_hash(number)

    request = (amount_paise, digest, ifsc, holder)

    existing = Withdrawal.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None:
        return _same_request_or_conflict(existing, request)

    wallet = wallet_ensure(user=user)
    try:
        reservation = reservation_create(
            wallet=wallet,
            amount_paise=amount_paise,
            purpose="withdrawal",
            idempotency_key=f"user:{user.pk}:withdrawal:{key}",
            memo=f"Withdrawal to bank •••• {number[-4:]}",
        )
    except InsufficientFunds as exc:
        wallet.available.refresh_from_db(fields=["balance_paise"])
        raise InsufficientFunds(
            f"You have {format_rupees(wallet.available.balance_paise)} available; "
            f"you asked to withdraw {format_rupees(amount_paise)}.",
            field="amount_paise",
        ) from exc
    twin = Withdrawal.objects.filter(reservation=reservation).first()
    if twin is not None:
        # A double submit: the twin request committed first, and the ledger's key handed
        # its reservation back to us. Its withdrawal is the answer to both, if it asked
        # for the same thing.
        return _same_request_or_conflict(twin, request)
    withdrawal = Withdrawal.objects.create(
        user=user,
        amount_paise=amount_paise,
        account_holder=holder,
        account_last4=number[-4:],
        account_hash=digest,
        ifsc=ifsc,
        reservation=reservation,
        idempotency_key=key,
    )
    logger.info("withdrawal %s requested by user %s", withdrawal.pk, user.pk)
    return withdrawal


def _same_request_or_conflict(first: Withdrawal, request: tuple) -> Withdrawal:
    """The first withdrawal under this key, if `request` asks for the same thing."""
    if (first.amount_paise, first.account_hash, first.ifsc, first.account_holder) != request:
        raise IdempotencyConflict(
            "This idempotency key was already used for a different withdrawal."
        )
    return first


def _review(*, withdrawal: Withdrawal, acting_user, status: str, reason: str) -> Withdrawal:
    """requested -> `status`, once. The caller holds money_transaction."""
    _staff_only(acting_user)
    now = timezone.now()
    won = Withdrawal.objects.filter(pk=withdrawal.pk, status=WithdrawalStatus.REQUESTED).update(
        status=status, reviewed_by=acting_user, reviewed_at=now, reason=reason
    )
    if not won:
        raise WithdrawalAlreadyReviewed(f"Withdrawal #{withdrawal.pk} was already reviewed.")
    return _reloaded(withdrawal)


def _staff_only(acting_user) -> None:
    if acting_user is None or not acting_user.is_staff:
        raise NotAllowed("Only staff can review withdrawals.")


def _reloaded(withdrawal: Withdrawal) -> Withdrawal:
    return Withdrawal.objects.select_related(
        "reservation__wallet__available", "reservation__wallet__reserved"
    ).get(pk=withdrawal.pk)


@money_transaction
def withdrawal_approve(*, withdrawal: Withdrawal, acting_user) -> Withdrawal:
    """Pay the reserved amount out (to the platform payouts account). Exactly once."""
    withdrawal = _review(
        withdrawal=withdrawal, acting_user=acting_user, status=WithdrawalStatus.APPROVED, reason=""
    )
    reservation_settle(
        reservation=withdrawal.reservation,
        payees=[Leg(platform_account(AccountKind.PLATFORM_PAYOUTS), withdrawal.amount_paise)],
        kind=EntryKind.WITHDRAWAL,
        category="withdrawal",
        memo=f"Withdrawal to bank {withdrawal.account_masked}",
        metadata={"withdrawal": withdrawal.pk, "ifsc": withdrawal.ifsc},
        acting_user=acting_user,
    )
    notify(
        user=withdrawal.user_id,
        kind="withdrawal_approved",
        title=f"{format_rupees(withdrawal.amount_paise)} paid out to {withdrawal.account_masked}",
        url="/billing/withdraw/",
    )
    logger.info("withdrawal %s approved by %s", withdrawal.pk, acting_user.pk)
    return withdrawal


def _staff_reason(reason: str, what: str) -> str:
    reason = " ".join(str(reason or "").split())[:200]
    if len(reason) < 3:
        raise WithdrawalRefused(f"Say why the withdrawal {what}; the user will see it.")
    return reason


@money_transaction
def withdrawal_return(*, withdrawal: Withdrawal, acting_user, reason: str) -> Withdrawal:
    """The bank sent a payout back (a closed account, a name mismatch): paid out ->
    returned, and the amount goes back to the user's available balance. Exactly once."""
    reason = _staff_reason(reason, "came back")
    _staff_only(acting_user)
    # Who approved the payout, and when, stay on the row; the entry records who
    # recorded the return (acting_user) and when.
    won = Withdrawal.objects.filter(pk=withdrawal.pk, status=WithdrawalStatus.APPROVED).update(
        status=WithdrawalStatus.RETURNED, reason=reason
    )
    if not won:
        raise WithdrawalRefused(
            f"Withdrawal #{withdrawal.pk} is not a payout that went out: "
            "only a paid-out withdrawal can come back."
        )
    withdrawal = _reloaded(withdrawal)
    wallet = withdrawal.reservation.wallet
    entry_post(
        kind=EntryKind.WITHDRAWAL,
        legs=[
            Leg(platform_account(AccountKind.PLATFORM_PAYOUTS), -withdrawal.amount_paise),
            Leg(wallet.available, withdrawal.amount_paise),
        ],
        memo=f"Withdrawal returned by the bank: {reason}"[:200],
        category="withdrawal",
        idempotency_key=f"withdrawal:{withdrawal.pk}:returned",
        metadata={"withdrawal": withdrawal.pk},
        acting_user=acting_user,
    )
    notify(
        user=withdrawal.user_id,
        kind=NotificationKind.WITHDRAWAL_RETURNED,
        title=f"{format_rupees(withdrawal.amount_paise)} came back from your bank",
        body=f"{reason} The money is back in your wallet.",
        url="/billing/withdraw/",
    )
    logger.info("withdrawal %s returned, recorded by %s", withdrawal.pk, acting_user.pk)
    return withdrawal


@money_transaction
def withdrawal_reject(*, withdrawal: Withdrawal, acting_user, reason: str) -> Withdrawal:
    """Release the reserved amount back to the user's available balance. Exactly once."""
    reason = _staff_reason(reason, "is rejected")
    withdrawal = _review(
        withdrawal=withdrawal,
        acting_user=acting_user,
        status=WithdrawalStatus.REJECTED,
        reason=reason,
    )
    reservation_void(
        reservation=withdrawal.reservation,
        acting_user=acting_user,
        memo=f"Withdrawal rejected: {reason}"[:200],
    )
    notify(
        user=withdrawal.user_id,
        kind="withdrawal_rejected",
        title=f"Withdrawal of {format_rupees(withdrawal.amount_paise)} rejected",
        body=f"{reason} The money is back in your wallet.",
        url="/billing/withdraw/",
    )
    logger.info("withdrawal %s rejected by %s", withdrawal.pk, acting_user.pk)
    return withdrawal
