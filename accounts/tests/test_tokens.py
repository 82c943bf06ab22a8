"""App tokens: obtain, refresh (rotating), revoke on logout (stateful JWT validation)."""

import jwt
import pytest
from django.conf import settings

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.headless import ME, app_call, bearer

pytestmark = pytest.mark.django_db


def app_login(client, user) -> dict:
    response = app_call(
        client, "post", "/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]


def refresh(client, refresh_token: str):
    return app_call(client, "post", "/tokens/refresh", {"refresh_token": refresh_token})


def test_refresh_returns_a_new_access_token_and_rotates_the_refresh_token(client):
    # given a signed-in app
    user = UserFactory()
    meta = app_login(client, user)

    # when it refreshes
    response = refresh(client, meta["refresh_token"])

    # then it gets a new pair, and the new access token opens the API
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["access_token"] != meta["access_token"]
    assert data["refresh_token"] != meta["refresh_token"]
    claims = jwt.decode(data["access_token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == str(user.pk)
    me = client.get(ME, headers=bearer(data["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_a_refresh_token_works_only_once(client):
    # given a refresh token that was already exchanged
    meta = app_login(client, UserFactory())
    assert refresh(client, meta["refresh_token"]).status_code == 200

    # when it is presented again (say, stolen and replayed)
    response = refresh(client, meta["refresh_token"])

    # then it is refused and yields no tokens
    assert response.status_code == 400
    assert response.json() == {"status": 400}


def test_the_rotated_refresh_token_keeps_working(client):
    # given an app that refreshed once
    meta = app_login(client, UserFactory())
    second = refresh(client, meta["refresh_token"]).json()["data"]["refresh_token"]

    # when it refreshes again with the token it was given
    response = refresh(client, second)

    # then that works
    assert response.status_code == 200


def test_an_access_token_is_not_a_refresh_token(client):
    # given a signed-in app
    meta = app_login(client, UserFactory())

    # when it tries to refresh with its access token
    response = refresh(client, meta["access_token"])

    # then it is refused
    assert response.status_code == 400


def test_logout_revokes_the_access_and_refresh_tokens(client):
    # given a signed-in app whose access token works
    meta = app_login(client, UserFactory())
    assert client.get(ME, headers=bearer(meta["access_token"])).status_code == 200

    # when it logs out with its session token
    response = app_call(client, "delete", "/auth/session", session_token=meta["session_token"])

    # then allauth reports the session ended (401, not authenticated) ...
    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False
    # ... the unexpired access token no longer opens the API ...
    me = client.get(ME, headers=bearer(meta["access_token"]))
    assert me.status_code == 401
    assert me.json()["code"] == "authentication_failed"
    # ... and the refresh token cannot mint a new one
    assert refresh(client, meta["refresh_token"]).status_code == 400


def test_logout_of_one_device_leaves_the_other_signed_in(client):
    # given the same customer signed in on two phones
    user = UserFactory()
    phone_a = app_login(client, user)
    phone_b = app_login(client, user)

    # when phone A logs out
    app_call(client, "delete", "/auth/session", session_token=phone_a["session_token"])

    # then phone B still works
    assert client.get(ME, headers=bearer(phone_a["access_token"])).status_code == 401
    assert client.get(ME, headers=bearer(phone_b["access_token"])).status_code == 200
