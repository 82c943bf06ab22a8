"""Helpers shared by the test suites (imported by tests only)."""

import threading
import time

from django.core.cache import cache
from django.db import connection, connections, transaction


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


def wait_until_blocked_on_a_lock(timeout: float = 10.0) -> None:
    """Until another connection to this PostgreSQL database waits on a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view each time
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second call never waited on the first one's locks")


def second_waits_for_first(first, second) -> tuple:
    """One exact interleaving of two calls, every time (PostgreSQL, transactional tests).

    `first` runs in a transaction left open; `second` starts in a thread and runs
    until it waits on a lock `first` holds (having read everything before that
    without seeing `first`'s writes); then `first` commits and `second` finishes.
    Returns (what first returned, what second returned or raised).
    """
    outcome: list = [None]

    def run_second() -> None:
        try:
            outcome[0] = second()
        except Exception as exc:  # handed to the test, like race()
            outcome[0] = exc
        finally:
            connections.close_all()

    worker = threading.Thread(target=run_second)
    try:
        with transaction.atomic():
            result = first()
            worker.start()
            wait_until_blocked_on_a_lock()
    finally:  # never leave the thread on a connection while the test tears down
        if worker.is_alive():
            worker.join(timeout=60)
    assert not worker.is_alive(), "the second call hung"
    return result, outcome[0]
