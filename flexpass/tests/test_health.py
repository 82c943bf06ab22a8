import asyncio
import time

import pytest
from channels.layers import get_channel_layer

from flexpass import health


@pytest.mark.django_db
def test_healthz_says_ok_without_touching_dependencies(client):
    before = time.time() * 1000
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert before <= body["now_ms"] <= time.time() * 1000  # the clock pages count down by


@pytest.mark.django_db
def test_readyz_reports_each_check_with_latency(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["mode"] == "full"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    assert all(check["ok"] and check["latency_ms"] >= 0 for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_and_names_redis_when_redis_is_unreachable(client, settings):
    # Django resets its cache handlers when CACHES changes: point it at a closed port.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    }

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False
    assert "Connection" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readyz_is_503_when_the_channel_layer_loses_the_probe(client, monkeypatch):
    # a layer that accepts the message but never delivers it (a wedged Redis)
    async def never(channel):
        await asyncio.sleep(3600)

    monkeypatch.setattr(get_channel_layer(), "receive", never, raising=False)
    started = time.monotonic()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"]["ok"] is False
    assert time.monotonic() - started < 10


@pytest.mark.django_db
def test_metrics_refuse_anonymous_callers_with_problem_details(client):
    response = client.get("/metrics")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_metrics_serve_prometheus_text_to_staff(client, django_user_model):
    staff = django_user_model.objects.create_user(email="ops@example.com", is_staff=True)
    client.force_login(staff)
    client.get("/healthz")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"flexpass_http_requests_total" in response.content


@pytest.mark.django_db
def test_metrics_accept_the_configured_bearer_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"

    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    right = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})

    assert wrong.status_code == 403
    assert right.status_code == 200


def test_readiness_checks_cover_every_dependency():
    assert list(health.READINESS_CHECKS) == ["database", "cache", "channel_layer", "broker"]
