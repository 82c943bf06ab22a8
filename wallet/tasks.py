from celery import shared_task

from flexpass.jobs import job_record_run
from wallet import integrity, services


@shared_task
def reservations_expire() -> int:
    """Void reservations nobody settled in time. Safe to run twice and late."""
    count = services.reservations_expire_overdue()
    job_record_run("wallet-expire-reservations")
    return count


@shared_task
def ledger_seal() -> int:
    """Extend the seal chain over new journal entries. Safe to run twice and late."""
    count = integrity.ledger_seal_all()
    job_record_run("wallet-seal-ledger")
    return count


@shared_task
def ledger_check() -> bool:
    """Prove the ledger's invariants; the result is stored as a LedgerCheckRun."""
    result = integrity.ledger_check(triggered_by="beat")
    job_record_run("wallet-check-ledger")
    return result.ok
