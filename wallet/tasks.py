from celery import shared_task

from flexpass.jobs import job_record_run
from wallet import services


@shared_task
def reservations_expire() -> int:
    """Void reservations nobody settled in time. Safe to run twice and late."""
    count = services.reservations_expire_overdue()
    job_record_run("wallet-expire-reservations")
    return count
