"""The deployment description, the embedded ticker and the lock helper."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from flexpass import ticker
from flexpass.locks import LockNotAcquired, lock

ROOT = Path(settings.BASE_DIR)


def test_docker_compose_describes_the_full_deployment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name in services:
        assert "healthcheck" in services[name], f"{name} has no health check"
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "granian --interface asgi flexpass.asgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A flexpass worker")
    assert services["beat"]["command"].startswith("celery -A flexpass beat")


def test_procfile_runs_web_worker_and_beat():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(lines) == {"web", "worker", "beat"}


def test_ticker_runs_each_job_when_its_interval_has_passed(settings):
    settings.CELERY_BEAT_SCHEDULE = {
        "fast": {"task": "x", "schedule": timedelta(seconds=10)},
        "slow": {"task": "y", "schedule": 60.0},
    }

    first = ticker.due_jobs({}, now=1000.0)
    later = ticker.due_jobs({"fast": 1000.0, "slow": 1000.0}, now=1015.0)

    assert first == ["fast", "slow"]
    assert later == ["fast"]


def test_every_scheduled_job_names_a_registered_task():
    from flexpass.celery import app

    app.loader.import_default_modules()
    missing = [
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] not in app.tasks
    ]
    assert missing == []


def test_lock_refuses_a_second_holder_until_released():
    with lock("demo", timeout=5):
        with pytest.raises(LockNotAcquired), lock("demo", timeout=5):
            pass
    with lock("demo", timeout=5):
        pass  # free again after release


def test_lock_waits_up_to_its_blocking_timeout():
    acquired_after_wait = []

    def holder(release: threading.Event):
        with lock("slow", timeout=5):
            release.wait(2)

    release = threading.Event()
    thread = threading.Thread(target=holder, args=(release,))
    thread.start()
    try:
        threading.Timer(0.2, release.set).start()
        with lock("slow", timeout=5, blocking_timeout=3):
            acquired_after_wait.append(True)
    finally:
        thread.join()
    assert acquired_after_wait == [True]


def test_lock_falls_back_to_cache_add_without_redis(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    with lock("embedded", timeout=5):
        with pytest.raises(LockNotAcquired), lock("embedded", timeout=5):
            pass
    with lock("embedded", timeout=5):
        pass


def test_lock_steps_aside_when_redis_is_down(settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }
    ran = []

    with lock("no-redis", timeout=5):
        ran.append(True)

    assert ran == [True]
