"""The one hierarchy of domain errors.

Services raise these; the API maps them to problem details (flexpass.api.problems)
and pages show their message as a form error or toast.
"""


class DomainError(Exception):
    status_code = 400
    code = "domain_error"
    title = "Request refused"

    def __init__(self, detail: str = "", *, headers: dict | None = None, **extra):
        super().__init__(detail or self.title)
        self.headers = headers
        self.extra = extra


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class RetryLater(DomainError):
    """The database was busy (lock timeout, serialization failure): safe to retry."""

    status_code = 503
    code = "retry_later"
    title = "Busy, please retry"

    def __init__(self, detail: str = "", **extra):
        super().__init__(
            detail or "The system is busy. Please retry.", headers={"Retry-After": "1"}, **extra
        )


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int = 1, **extra):
        super().__init__(
            detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after, **extra
        )
