"""Embedded mode's stand-in for Celery beat.

The in-memory channel layer only delivers what the server's own event loop
sends, so in embedded mode the periodic jobs run from a task on that loop
(started on the first ASGI call) instead of from a beat process. It runs the
same CELERY_BEAT_SCHEDULE, each job in a worker thread via sync_to_async.
"""

import asyncio
import logging
import time
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)


def _interval_seconds(schedule) -> float:
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float):
        return float(schedule)
    return schedule.run_every.total_seconds()  # celery.schedules.schedule


def due_jobs(last_run: dict[str, float], now: float) -> list[str]:
    """Names of the beat entries whose interval has passed since they last ran."""
    due = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if now - last_run.get(name, 0.0) >= _interval_seconds(entry["schedule"]):
            due.append(name)
    return due


def _run_job(name: str) -> None:
    from flexpass.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE[name]
    try:
        app.tasks[entry["task"]].apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
    except Exception:  # one failing job must not stop the others
        logger.exception("embedded job %s failed", name)


async def tick_forever() -> None:
    from flexpass.celery import app

    app.loader.import_default_modules()  # registers every app's tasks
    last_run: dict[str, float] = {}
    while True:
        now = time.monotonic()
        for name in due_jobs(last_run, now):
            last_run[name] = now
            await sync_to_async(_run_job, thread_sensitive=False)(name)
        await asyncio.sleep(settings.EMBEDDED_TICKER_SECONDS)


def with_embedded_ticker(app):
    started = False

    async def wrapper(scope, receive, send):
        nonlocal started
        if not started and scope["type"] in ("http", "websocket"):
            started = True
            asyncio.get_running_loop().create_task(tick_forever())
        return await app(scope, receive, send)

    return wrapper
