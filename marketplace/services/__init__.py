"""Marketplace writes: one function per use case (purchases, passes, orders)."""

from marketplace.services.orders import (
    order_cancel,
    order_create,
    order_note_return,
    order_sync,
    order_transition,
    orders_sync_due,
)
from marketplace.services.passes import passes_expire, passes_notify_expiring
from marketplace.services.purchases import (
    clean_idempotency_key,
    fee_split,
    pass_purchase,
    plan_for_sale,
    purchase_record,
)

__all__ = [
    "clean_idempotency_key",
    "fee_split",
    "order_cancel",
    "order_create",
    "order_note_return",
    "order_sync",
    "order_transition",
    "orders_sync_due",
    "pass_purchase",
    "passes_expire",
    "passes_notify_expiring",
    "plan_for_sale",
    "purchase_record",
]
