"""Shared test fixtures. Tests run in full mode against real PostgreSQL and Redis."""

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; ORM calls from
# the test body are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _test_database_can_be_dropped(django_db_setup, django_db_blocker):
    """End the test database's other connections before pytest-django drops it.

    Servers and threads that tests started (a Daphne child, the ASGI request pool,
    channel-layer executors) can still hold one when the run ends; PostgreSQL then
    refuses the DROP and the database stays behind on the machine, run after run.
    """
    yield
    from django.db import connection

    if connection.settings_dict["NAME"] != connection.settings_dict["TEST"]["NAME"]:
        return  # no test in this run used the database: pytest-django created none
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (rate-limit counters, locks, idempotency)."""
    from flexpass.testing import cache_clear as clear

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser(browser_type_launch_args):
    """Chromium for this test only, for every browser story.

    It replaces pytest-playwright's session-wide `browser` (and so its `page`):
    that one keeps an event loop running in the main thread until the session
    ends, which breaks every later test that starts Playwright or asyncio itself.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**browser_type_launch_args)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure
    (browser tests save a screenshot to test-artifacts/ when the story fails)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
