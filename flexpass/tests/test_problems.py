"""Every error from /api/ is RFC 9457 problem details, never an HTML page."""

import pytest
from django.test import Client, override_settings
from django.urls import path
from rest_framework.views import APIView

from flexpass.errors import RateLimited


class _Boom(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("boom")


class _Limited(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise RateLimited("Slow down.", retry_after=7)


def _crash(request):
    raise RuntimeError("plain view crash")


urlpatterns = [
    path("api/v1/boom", _Boom.as_view()),
    path("api/v1/limited", _Limited.as_view()),
    path("api/v1/crash", _crash),
]
handler404 = "flexpass.views.not_found"
handler500 = "flexpass.views.server_error"


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://flexpass.dev/problems/not_found",
        "title": "Not Found",
        "status": 404,
        "detail": "No resource at /api/v1/no-such-thing.",
        "code": "not_found",
    }


@pytest.mark.django_db
def test_unauthenticated_api_call_is_a_401_problem(client):
    response = client.get("/api/v1/accounts/me")

    body = response.json()
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert body["status"] == 401
    assert body["code"] == "not_authenticated"
    assert set(body) >= {"type", "title", "status", "detail"}


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_unhandled_exception_in_an_api_view_is_a_500_problem():
    response = Client(raise_request_exception=False).get("/api/v1/boom")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "server_error"
    assert "boom" not in response.content.decode()  # no internals leak


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_crash_outside_drf_under_api_is_still_a_json_500():
    response = Client(raise_request_exception=False).get("/api/v1/crash")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 500


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_domain_errors_keep_their_status_headers_and_extras():
    response = Client().get("/api/v1/limited")

    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert response.json()["retry_after"] == 7
    assert response.json()["detail"] == "Slow down."


@pytest.mark.django_db
def test_html_pages_keep_an_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.django_db
def test_schema_and_offline_docs_are_served(client):
    schema = client.get("/api/schema/", {"format": "json"})
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/accounts/me" in paths
    assert any(p.startswith("/api/v1/auth/app/v1/auth/") for p in paths)
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content  # no CDN


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    made = client.get("/healthz")

    assert given["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_post_to_an_unknown_api_address_is_a_404_problem_even_without_csrf():
    response = Client(enforce_csrf_checks=True).post("/api/v1/nowhere/", {})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
