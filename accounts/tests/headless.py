"""Drive allauth's headless *app* client the way the mobile apps do.

The app client keeps no cookies: a pending flow (login by code) is carried by
the `X-Session-Token` header, a signed-in app by `Authorization: Bearer <jwt>`.
"""

APP = "/api/v1/auth/app/v1"
ME = "/api/v1/accounts/me"


def app_call(client, method: str, path: str, data=None, *, session_token: str = ""):
    headers = {"X-Session-Token": session_token} if session_token else {}
    return getattr(client, method)(
        APP + path, data or {}, content_type="application/json", headers=headers
    )


def error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}"}
