"""Billing's Celery tasks: thin doors onto billing.services."""

import logging

import requests
from celery import shared_task
from django.conf import settings
from django.urls import reverse

from billing import services
from billing.gateways.simulated import WEBHOOK_URL_NAME
from flexpass.jobs import job_record_run

logger = logging.getLogger(__name__)


@shared_task
def topups_reconcile() -> dict[str, int]:
    """Ask the gateway about top-ups nobody heard back about. Safe to run twice and late."""
    counts = services.topups_reconcile()
    job_record_run("billing-reconcile-topups")
    if counts:
        logger.info("top-up reconciliation: %s", counts)
    return counts


@shared_task(bind=True, max_retries=6, acks_late=True)
def simulated_webhook_send(self, *, raw_body: str, signature: str, event_id: str) -> int:
    """The simulated Razorpay POSTs a signed webhook to our endpoint, like the real one.

    Anything but a 2xx is retried with backoff (Razorpay retries for 24 h).
    """
    url = settings.SITE_URL.rstrip("/") + reverse(WEBHOOK_URL_NAME)
    try:
        response = requests.post(
            url,
            data=raw_body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Razorpay-Signature": signature,
                "X-Razorpay-Event-Id": event_id,
                "User-Agent": "Razorpay-Webhook/v1 (simulated)",
            },
            timeout=10,
        )
        status = response.status_code
    except requests.RequestException as exc:
        logger.warning("simulated webhook %s to %s failed: %s", event_id, url, exc)
        status = 0
    if not 200 <= status < 300:
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries))
    return status
