from flexpass.errors import Conflict, DomainError


class InvalidAmount(DomainError):
    status_code = 400
    code = "invalid_amount"
    title = "Invalid amount"


class InsufficientFunds(DomainError):
    status_code = 402
    code = "insufficient_funds"
    title = "Insufficient funds"


class UnbalancedEntry(DomainError):
    status_code = 500
    code = "unbalanced_entry"
    title = "Unbalanced journal entry"


class IdempotencyConflict(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


class ReservationClosed(Conflict):
    code = "reservation_closed"
    title = "Reservation already settled, released or expired"


class ReservationOwned(Conflict):
    code = "reservation_owned"
    title = "Reservation belongs to a withdrawal, order or session"


class TransferRefused(DomainError):
    status_code = 400
    code = "transfer_refused"
    title = "Transfer refused"


class RecipientNotFound(DomainError):
    status_code = 404
    code = "recipient_not_found"
    title = "Recipient not found"


class AdjustmentRefused(DomainError):
    status_code = 400
    code = "adjustment_refused"
    title = "Adjustment refused"
