from celery import shared_task

from flexpass.jobs import job_record_run


@shared_task
def heartbeat() -> None:
    """Proves the scheduler runs: the health page shows how long ago it last did."""
    job_record_run("heartbeat")


@shared_task
def idempotency_purge() -> int:
    from flexpass.idempotency import idempotency_purge as purge

    return purge()
