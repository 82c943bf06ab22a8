"""Billing's use cases. Every door (pages, API, admin, tasks) calls these.

topups.py       topup_create, topup_confirm_return, topup_capture, topups_reconcile
webhooks.py     webhook_receive
withdrawals.py  withdrawal_request, withdrawal_approve, withdrawal_reject, withdrawal_return
"""

from billing.services.topups import (
    topup_capture,
    topup_check_amount,
    topup_confirm_return,
    topup_create,
    topup_note_return_without_payment,
    topup_reconcile_now,
    topups_reconcile,
)
from billing.services.webhooks import webhook_receive
from billing.services.withdrawals import (
    withdrawal_approve,
    withdrawal_check_amount,
    withdrawal_reject,
    withdrawal_request,
    withdrawal_return,
)

__all__ = [
    "topup_capture",
    "topup_check_amount",
    "topup_confirm_return",
    "topup_create",
    "topup_note_return_without_payment",
    "topup_reconcile_now",
    "topups_reconcile",
    "webhook_receive",
    "withdrawal_approve",
    "withdrawal_check_amount",
    "withdrawal_reject",
    "withdrawal_return",
    "withdrawal_request",
]
