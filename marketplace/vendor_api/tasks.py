"""Webhook delivery tasks (thin: the work is in marketplace.services.webhooks)."""

from celery import shared_task

from flexpass.jobs import job_record_run
from marketplace.services import webhooks


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: int) -> str:
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def webhooks_deliver_due() -> int:
    due = webhooks.webhooks_due()
    job_record_run("vendor-webhooks-deliver-due")
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)


@shared_task(ignore_result=True)
def sessions_close_stale() -> int:
    from marketplace.services.sessions import sessions_close_stale as close

    closed = close()
    job_record_run("vendor-sessions-close-stale")
    return closed
