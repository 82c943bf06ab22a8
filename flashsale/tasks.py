from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from flashsale import services
from flexpass.errors import RetryLater
from flexpass.jobs import job_record_run


@shared_task
def holds_expire() -> int:
    """Return the units of holds whose time ran out. Safe to run twice and late.

    Correctness never waits for this job (stock reads and takes expire lazily);
    it keeps the bookkeeping and the waitlist moving when nobody is looking. Mixed
    payments are synced first (fulfilled, failed or expired with their hold).
    """
    services.payments_sync_due()  # card payments captured in time confirm their holds first
    count = services.holds_expire_overdue(limit=settings.FLASH_EXPIRY_BATCH)
    job_record_run("flashsale-expire-holds")
    return count


@shared_task(autoretry_for=(DatabaseError, RetryLater), retry_backoff=True, max_retries=5)
def sale_holds_void(
    *, sale_id: int, staff_id: int, reason: str, taken_off_at: str | None = None
) -> int:
    """End a sale's open holds after staff took it off (the admin's save queues this)."""
    from accounts.models import User

    return services.sale_holds_void(
        sale_id=sale_id,
        acting_user=User.objects.get(pk=staff_id),
        reason=reason,
        taken_off_at=datetime.fromisoformat(taken_off_at) if taken_off_at else None,
    )
