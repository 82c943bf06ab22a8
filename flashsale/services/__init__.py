"""Flash-sale writes: one function per use case. Every door (pages, API, admin,
jobs, commands) calls these."""

from flashsale.services.checkout import hold_checkout, platform_fee
from flashsale.services.holds import (
    hold_create,
    hold_expire,
    hold_for_owner,
    hold_release,
    hold_void,
    holds_expire_overdue,
    sale_holds_void,
)
from flashsale.services.payments import (
    hold_pay_mixed,
    payment_cancel,
    payment_note_return,
    payment_sync,
    payments_sync_due,
)
from flashsale.services.stock import (
    counter_bump,
    item_create,
    item_restock,
    item_terms_change,
    item_terms_check,
)
from flashsale.services.waitlist import waitlist_join, waitlist_leave, waitlist_offer

__all__ = [
    "counter_bump",
    "hold_checkout",
    "hold_create",
    "hold_expire",
    "hold_pay_mixed",
    "hold_release",
    "hold_for_owner",
    "hold_void",
    "holds_expire_overdue",
    "item_create",
    "item_terms_change",
    "item_terms_check",
    "item_restock",
    "payment_cancel",
    "payment_note_return",
    "payment_sync",
    "payments_sync_due",
    "platform_fee",
    "sale_holds_void",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer",
]
