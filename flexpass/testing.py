"""Helpers shared by the test suites (imported by tests only)."""

import threading

from django.core.cache import cache
from django.db import connection


def cache_clear() -> None:
    """Empty this test run's cache only. cache.clear() would flush the whole Redis
    database, which the other xdist worker's tests are using at the same moment."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # under this run's key prefix
    else:
        cache.clear()


def race(count: int, work, *, max_connections: int | None = None) -> list:
    """Run work(i) in `count` threads released at the same moment; return what each
    returned or raised. Every thread closes its own database connection.

    `max_connections` caps how many threads hold a database connection at once
    (PostgreSQL here allows 100, shared with other test runs): the rest queue
    right behind them, still released together.
    """
    barrier = threading.Barrier(count)
    slots = threading.BoundedSemaphore(max_connections or count)
    outcomes: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with slots:
                outcomes[i] = work(i)
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def results_and_errors(outcomes: list) -> tuple[list, list]:
    """Split race()'s outcomes into what returned and what raised."""
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)], errors
