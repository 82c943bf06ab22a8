"""Password login on the web and in the app API, and the lockout after wrong passwords."""

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.headless import app_call, error_codes

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
LOCKOUT_MESSAGE = "Too many failed login attempts. Try again later."


def web_login(client, email: str, password: str):
    return client.post(LOGIN, {"login": email, "password": password})


def app_login(client, email: str, password: str):
    return app_call(client, "post", "/auth/login", {"email": email, "password": password})


def test_web_login_with_the_right_password_signs_in(client):
    # given a verified customer
    user = UserFactory(email="asha@example.com")

    # when they log in on the web page
    response = web_login(client, "asha@example.com", DEFAULT_PASSWORD)

    # then they land on the home page, signed in as themselves
    assert response.status_code == 302
    assert response.url == "/"
    assert get_user(client) == user


def test_web_login_with_a_wrong_password_shows_an_error(client):
    # given a verified customer
    UserFactory(email="asha@example.com")

    # when someone logs in with a wrong password
    response = web_login(client, "asha@example.com", "not-the-password")

    # then the form says so and nobody is signed in
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The email address and/or password you specified are not correct."
    ]
    assert not get_user(client).is_authenticated


def test_app_login_returns_jwt_access_and_refresh_tokens(client):
    # given a verified customer
    user = UserFactory(email="asha@example.com")

    # when the app logs in with email and password
    response = app_login(client, "asha@example.com", DEFAULT_PASSWORD)

    # then it gets signed tokens for that user
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["user"]["email"] == "asha@example.com"
    meta = body["meta"]
    assert meta["is_authenticated"] is True
    access = jwt.decode(meta["access_token"], settings.SECRET_KEY, algorithms=["HS256"])
    refresh = jwt.decode(meta["refresh_token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert (access["sub"], access["token_use"]) == (str(user.pk), "access")
    assert (refresh["sub"], refresh["token_use"]) == (str(user.pk), "refresh")
    assert access["exp"] - access["iat"] == settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN
    assert refresh["exp"] - refresh["iat"] == settings.HEADLESS_JWT_REFRESH_TOKEN_EXPIRES_IN
    assert meta["session_token"]


def test_app_login_with_a_wrong_password_returns_no_tokens(client):
    # given a verified customer
    UserFactory(email="asha@example.com")

    # when the app sends a wrong password
    response = app_login(client, "asha@example.com", "not-the-password")

    # then it is refused with allauth's error code and no tokens
    assert response.status_code == 400
    assert error_codes(response) == ["email_password_mismatch"]
    assert "meta" not in response.json()


def test_five_wrong_passwords_lock_the_app_login_even_for_the_right_one(client):
    # given someone guessed the password of an account five times
    UserFactory(email="asha@example.com")
    for _ in range(5):
        guess = app_login(client, "asha@example.com", "wrong-guess")
        assert error_codes(guess) == ["email_password_mismatch"]

    # when the right password comes next
    response = app_login(client, "asha@example.com", DEFAULT_PASSWORD)

    # then the account is locked for now: no tokens
    assert response.status_code == 400
    assert error_codes(response) == ["too_many_login_attempts"]
    assert "meta" not in response.json()


def test_five_wrong_passwords_lock_the_web_login_even_for_the_right_one(client):
    # given someone guessed the password of an account five times
    UserFactory(email="asha@example.com")
    for _ in range(5):
        web_login(client, "asha@example.com", "wrong-guess")

    # when the right password comes next
    response = web_login(client, "asha@example.com", DEFAULT_PASSWORD)

    # then the page explains the lockout and nobody is signed in
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [LOCKOUT_MESSAGE]
    assert LOCKOUT_MESSAGE in response.content.decode()
    assert not get_user(client).is_authenticated


def test_the_lockout_is_per_account(client):
    # given one account is locked after five wrong passwords
    UserFactory(email="asha@example.com")
    UserFactory(email="ravi@example.com")
    for _ in range(5):
        app_login(client, "asha@example.com", "wrong-guess")

    # when another account logs in from the same place
    response = app_login(client, "ravi@example.com", DEFAULT_PASSWORD)

    # then that one is not affected
    assert response.status_code == 200
