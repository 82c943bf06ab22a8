"""Emails that must go out: claim the row for a while, send, then mark it sent.

A receipt or a notification email is sent by a Celery task after the commit
and, if that task was lost, by a retry job a minute later. Each row carries
two timestamps (an `Outbox` names them): *claimed* and *sent*. A sender first
claims the row with a conditional UPDATE (only if unsent and unclaimed, or
claimed longer than LEASE ago), so the task and the job never send at the
same time; then it sends and marks the row sent. What a failure does:

* the mail server was unreachable, hung up or answered 4xx: the claim is
  given back and the error raised (the task retries; the job stops its batch,
  since the next email would meet the same server);
* the server refused this email for good (5xx, every recipient refused): the
  row is marked done and the refusal logged, so a bad address is not retried
  every minute;
* the worker dies between the claim and marking it sent: the claim lapses
  after LEASE and the retry job sends it. At least once: if the send itself
  went through just before the crash, the person gets it twice, which beats
  never (SMTP offers no exactly-once).
"""

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # far longer than a send (EMAIL_TIMEOUT) can take


@dataclass(frozen=True)
class Outbox:
    """Where an email's claim and delivery are kept: two datetime fields of `rows`.

    The retry job sends rows made more than `retry_after` ago (the after-commit
    task normally sent them by then) and less than `retry_window` ago (older
    than that, a lost email is not worth sending late).
    """

    rows: QuerySet
    claimed: str
    sent: str
    retry_window: timedelta
    retry_after: timedelta = timedelta(minutes=1)

    def _free(self, now: datetime) -> Q:
        unclaimed = Q(**{f"{self.claimed}__isnull": True})
        lapsed = Q(**{f"{self.claimed}__lt": now - LEASE})
        return Q(**{f"{self.sent}__isnull": True}) & (unclaimed | lapsed)

    def claim(self, pk: int, now: datetime) -> bool:
        return bool(self.rows.filter(self._free(now), pk=pk).update(**{self.claimed: now}))

    def give_back(self, pk: int) -> None:
        self.rows.filter(pk=pk).update(**{self.claimed: None})

    def done(self, pk: int, now: datetime) -> None:
        self.rows.filter(pk=pk).update(**{self.sent: now})

    def send(self, pk: int, message, now: datetime) -> bool:
        """Claim row `pk`, send `message` (already rendered), mark it sent. True if this did."""
        if not self.claim(pk, now):
            return False
        try:
            message.send()
        except Exception as exc:
            if is_permanent(exc):
                logger.error("email %r refused for good, not retried: %s", message.subject, exc)
                self.done(pk, now)
                return False
            self.give_back(pk)
            raise
        self.done(pk, now)
        return True

    def send_due(self, send: Callable[[int], bool], *, now: datetime, limit: int = 100) -> int:
        """The retry job: send the free, unsent rows made inside the window, oldest first.

        Stops at the first failure: the mail server is away.
        """
        rows = self.rows.filter(
            self._free(now),
            created_at__lte=now - self.retry_after,
            created_at__gt=now - self.retry_window,
        ).order_by("created_at")
        sent = 0
        for pk in list(rows.values_list("pk", flat=True)[:limit]):
            try:
                sent += send(pk)
            except Exception:
                logger.exception("email for row %s failed; the rest wait for the next run", pk)
                break
        return sent


def is_permanent(exc: BaseException) -> bool:
    """True if the mail server refused this message for good (5xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, smtplib.SMTPNotSupportedError)
