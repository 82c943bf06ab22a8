"""RFC 9457 problem details: the one error shape of the API.

Every DRF error goes through `exception_handler`; 404 and 500 under /api/ come
from `api_not_found` / `api_server_error` (wired as handler404/handler500), so
no HTML error page ever leaves /api/.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from flexpass.errors import DomainError
from flexpass.tallies import REFUSAL_API_THROTTLE, refusal_record

logger = logging.getLogger(__name__)
CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://flexpass.dev/problems/"


def problem(*, status_code: int, title: str, detail: str = "", code: str = "", **extra) -> dict:
    body = {
        "type": TYPE_BASE + code if code else "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail or title,
    }
    if code:
        body["code"] = code
    body.update(extra)
    return body


def problem_response(body: dict, headers: dict | None = None) -> Response:
    return Response(body, status=body["status"], headers=headers, content_type=CONTENT_TYPE)


def _field_errors(data) -> list[dict]:
    """Flatten DRF's nested error dict into [{"field": "a.b", "message": ...}]."""
    errors: list[dict] = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                if isinstance(inner, dict | list):
                    walk(inner, f"{path}[{index}]")
                else:
                    walk(inner, path)
        else:
            errors.append(
                {
                    "field": path or "non_field_errors",
                    "message": str(value),
                    "code": getattr(value, "code", "invalid"),
                }
            )

    walk(data, "")
    return errors


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = problem(
            status_code=exc.status_code,
            title=exc.title,
            detail=str(exc),
            code=exc.code,
            **exc.extra,
        )
        return problem_response(body, headers=exc.headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return problem_response(
            problem(
                status_code=500,
                title="Internal server error",
                code="server_error",
                detail="Something went wrong on our side. It has been logged.",
            )
        )

    if isinstance(exc, exceptions.ValidationError):
        body = problem(
            status_code=response.status_code,
            title="Invalid request",
            detail="One or more fields are invalid.",
            code="validation_error",
            errors=_field_errors(response.data),
        )
    else:
        data = response.data if isinstance(response.data, dict) else {}
        detail = data.get("detail", "")
        body = problem(
            status_code=response.status_code,
            title=status_phrase(response.status_code),
            detail=str(detail),
            code=getattr(detail, "code", "") or getattr(exc, "default_code", ""),
        )
        if isinstance(exc, exceptions.Throttled):
            refusal_record(REFUSAL_API_THROTTLE)  # the dashboard's blocks by kind
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait)
    response.data = body
    response.content_type = CONTENT_TYPE
    return response


def status_phrase(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


@csrf_exempt  # a POST to an unknown address is a 404 problem, not the CSRF page
def api_not_found(request, exception=None):
    body = problem(
        status_code=404,
        title="Not Found",
        detail=f"No resource at {request.path}.",
        code="not_found",
    )
    return JsonResponse(body, status=404, content_type=CONTENT_TYPE)


def api_server_error(request):
    body = problem(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        title="Internal server error",
        detail="Something went wrong on our side. It has been logged.",
        code="server_error",
    )
    return JsonResponse(body, status=500, content_type=CONTENT_TYPE)
