from flexpass.errors import Conflict, DomainError, NotFound


class TopUpRefused(DomainError):
    """The amount is outside the top-up limits (min, max per top-up, daily)."""

    status_code = 400
    code = "topup_refused"
    title = "Top-up refused"


class TopUpNotFound(NotFound):
    code = "topup_not_found"
    title = "Top-up not found"


class InvalidPaymentSignature(DomainError):
    status_code = 400
    code = "invalid_payment_signature"
    title = "Payment signature does not match"


class InvalidWebhookSignature(DomainError):
    status_code = 400
    code = "invalid_webhook_signature"
    title = "Webhook signature does not match"


class InvalidWebhookPayload(DomainError):
    status_code = 400
    code = "invalid_webhook_payload"
    title = "Webhook body is not a gateway event"


class GatewayUnavailable(DomainError):
    """The gateway could not be reached or refused the call; nothing was charged."""

    status_code = 502
    code = "gateway_unavailable"
    title = "Payment gateway unavailable"


class WithdrawalRefused(DomainError):
    status_code = 400
    code = "withdrawal_refused"
    title = "Withdrawal refused"


class WithdrawalAlreadyReviewed(Conflict):
    code = "withdrawal_already_reviewed"
    title = "Withdrawal already approved or rejected"


class InvalidIdempotencyKey(DomainError):
    status_code = 400
    code = "idempotency_key_invalid"
    title = "Invalid idempotency key"


class NotAllowed(DomainError):
    status_code = 403
    code = "not_allowed"
    title = "Not allowed"
