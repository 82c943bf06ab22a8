"""When each periodic job last ran, kept in the cache for the health page."""

import time

from django.core.cache import cache

_KEY = "jobs:last-run:{}"


def job_record_run(name: str) -> None:
    cache.set(_KEY.format(name), time.time(), timeout=None)


def job_last_run(name: str) -> float | None:
    return cache.get(_KEY.format(name))
