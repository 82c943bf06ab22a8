"""Liveness, readiness and Prometheus metrics."""

import asyncio
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    cache.set("readyz:probe", "1", timeout=5)
    if cache.get("readyz:probe") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_channel_layer() -> None:
    async def round_trip() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.probe"})
        return await asyncio.wait_for(layer.receive(channel), timeout=2)

    # One coroutine: in a request thread with no event loop each async_to_sync call
    # starts a loop (and channels-redis a connection pool) of its own.
    message = async_to_sync(round_trip)()
    if message.get("type") != "readyz.probe":
        raise RuntimeError("channel layer lost the probe message")


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # embedded mode: tasks run inline, there is no broker
    from flexpass.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "channel_layer": _check_channel_layer,
    "broker": _check_broker,
}


def run_readiness_checks() -> dict[str, dict]:
    results = {}
    for name, check in READINESS_CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            ok, error = True, None
        except Exception as exc:  # a failing dependency is a result, not a crash
            ok, error = False, f"{type(exc).__name__}: {exc}"
        result = {"ok": ok, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        if error:
            result["error"] = error
        results[name] = result
    return results


@never_cache
def healthz(request):
    """Alive. `now_ms` is the server's clock: pages set their countdowns by it (app.js)."""
    return JsonResponse({"status": "ok", "now_ms": int(time.time() * 1000)})


@never_cache
def readyz(request):
    checks = run_readiness_checks()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "mode": "embedded" if settings.EMBEDDED else "full",
            "checks": checks,
        },
        status=200 if ready else 503,
    )


@never_cache
def metrics(request):
    token = settings.METRICS_TOKEN
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    allowed = (request.user.is_authenticated and request.user.is_staff) or (
        token and bearer == token
    )
    if not allowed:
        return JsonResponse(
            {
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
                "detail": "Metrics need a staff session or the METRICS_TOKEN bearer token.",
            },
            status=403,
            content_type="application/problem+json",
        )
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
