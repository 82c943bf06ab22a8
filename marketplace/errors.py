"""Marketplace refusals, mapped once to problem details (API) and to toasts (pages)."""

from flexpass.errors import Conflict, DomainError, NotFound


class ServiceUnavailable(Conflict):
    code = "service_unavailable"
    title = "Service not on sale"


class PlanUnavailable(Conflict):
    code = "plan_unavailable"
    title = "Plan not on sale"


class PlanNotPurchasable(DomainError):
    status_code = 400
    code = "plan_not_purchasable"
    title = "Plan cannot be bought up front"


class PlanNotFound(NotFound):
    code = "plan_not_found"
    title = "Plan not found"


class ServiceNotFound(NotFound):
    code = "service_not_found"
    title = "Service not found"


class PriceChanged(Conflict):
    """The client's idea of the price differs from the server's: nothing was charged."""

    code = "price_changed"
    title = "Price changed"


class OwnServiceRefused(DomainError):
    status_code = 400
    code = "own_service"
    title = "You cannot buy your own service"


class PurchaseNotFound(NotFound):
    code = "purchase_not_found"
    title = "Purchase not found"


class PassNotFound(NotFound):
    code = "pass_not_found"
    title = "Pass not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class OrderNotNeeded(DomainError):
    """The wallet covers the whole price: buy directly instead of opening an order."""

    status_code = 400
    code = "order_not_needed"
    title = "Your wallet covers this purchase"


class IllegalOrderTransition(Conflict):
    code = "illegal_order_transition"
    title = "Order cannot move to that state"


class OrderClosed(Conflict):
    code = "order_closed"
    title = "Order already completed, failed, cancelled or expired"


class InvalidIdempotencyKey(DomainError):
    status_code = 400
    code = "idempotency_key_invalid"
    title = "Invalid idempotency key"


class EarningsMoveRefused(DomainError):
    status_code = 400
    code = "earnings_move_refused"
    title = "Earnings cannot be moved"
