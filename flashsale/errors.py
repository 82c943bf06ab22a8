"""Flash-sale refusals: each maps to one problem type in the API and one toast on pages."""

from flexpass.errors import Conflict, DomainError, NotFound, RateLimited


class SaleNotLive(Conflict):
    code = "sale_not_live"
    title = "This sale is not live"


class SoldOut(Conflict):
    code = "sold_out"
    title = "Sold out"


class InvalidQuantity(DomainError):
    status_code = 400
    code = "invalid_quantity"
    title = "Invalid quantity"


class PerUserLimitReached(Conflict):
    code = "per_user_limit"
    title = "Limit per customer reached"


class HoldThrottled(RateLimited):
    code = "hold_throttled"
    title = "Too many holds"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "Hold not found"


class ItemNotFound(NotFound):
    code = "item_not_found"
    title = "Sale item not found"


class SaleNotFound(NotFound):
    code = "sale_not_found"
    title = "Sale not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "Payment not found"


class HoldExpired(DomainError):
    status_code = 410
    code = "hold_expired"
    title = "Hold expired"


class HoldClosed(Conflict):
    """Released, or confirmed by another request (for checkout see hold_checkout)."""

    code = "hold_closed"
    title = "Hold no longer active"


class HoldAlreadyPaid(Conflict):
    """A new checkout (a new Idempotency-Key) of a hold that was paid; the problem names the order."""

    code = "hold_already_paid"
    title = "Hold already paid"


class WaitlistRefused(Conflict):
    code = "waitlist_refused"
    title = "Cannot join the waitlist"


class RestockRefused(DomainError):
    status_code = 400
    code = "restock_refused"
    title = "Restock refused"
