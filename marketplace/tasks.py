"""Marketplace jobs. Thin: each calls one service; all are safe to run twice and late."""

from celery import shared_task

from flexpass.jobs import job_record_run


@shared_task
def passes_expire() -> int:
    from marketplace.services import passes_expire as expire

    count = expire()
    job_record_run("marketplace-passes-expire")
    return count


@shared_task
def passes_notify_expiring() -> int:
    from marketplace.services import passes_notify_expiring as notify

    count = notify()
    job_record_run("marketplace-passes-notify-expiring")
    return count


@shared_task
def orders_expire() -> dict:
    from marketplace.services.orders import orders_sync_due

    result = orders_sync_due()
    job_record_run("marketplace-orders-expire")
    return result


@shared_task
def cashback_release() -> int:
    from marketplace import rewards

    count = rewards.cashback_release_due()
    job_record_run("marketplace-cashback-release")
    return count


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def receipt_email_send(purchase_id: int) -> bool:
    from marketplace import rewards

    return rewards.receipt_email_send(purchase_id=purchase_id)


@shared_task
def receipts_send_due() -> int:
    from marketplace import rewards

    count = rewards.receipts_send_due()
    job_record_run("marketplace-receipts-retry")
    return count
