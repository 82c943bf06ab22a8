"""Support jobs and the notification email. Thin: each calls one service."""

from celery import shared_task

from flexpass.jobs import job_record_run


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notification_email_send(notification_id: int) -> bool:
    from support.services import notification_email_deliver

    return notification_email_deliver(notification_id=notification_id)


@shared_task
def notifications_sweep() -> dict:
    from support.services.feeds import notifications_sweep as sweep

    result = sweep()
    job_record_run("support-notifications-sweep")
    return result


@shared_task
def conversations_tick() -> dict:
    from support.services import conversations_assign_backlog, conversations_wake_snoozed
    from support.services.security import security_events_purge

    result = {
        "woken": conversations_wake_snoozed(),
        "assigned": conversations_assign_backlog(),
        "security_events_purged": security_events_purge(),
    }
    job_record_run("support-conversations-tick")
    return result
