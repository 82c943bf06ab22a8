"""Passwordless login with a code sent by email: app API and web pages."""

import pytest
from allauth.account import app_settings as allauth_settings
from django.contrib.auth import get_user
from django.core import mail
from django.test import Client

from accounts.tests.clock import CODE_CLOCK, clock_moved
from accounts.tests.factories import UserFactory
from accounts.tests.headless import ME, app_call, bearer, error_codes
from accounts.tests.mailbox import CODE_LINE, last_code_sent_to, mails_to

pytestmark = pytest.mark.django_db

REQUEST_CODE = "/accounts/login/code/"
CONFIRM_CODE = "/accounts/login/code/confirm/"
RATE_LIMIT_MESSAGE = "Too many failed login attempts. Try again later."


def request_code(client, email: str) -> str:
    """Ask for a code in the app; returns the session token of the pending login."""
    response = app_call(client, "post", "/auth/code/request", {"email": email})
    assert response.status_code == 401, response.content
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["login_by_code"]["is_pending"] is True
    return response.json()["meta"]["session_token"]


def confirm_code(client, code: str, session_token: str):
    return app_call(
        client, "post", "/auth/code/confirm", {"code": code}, session_token=session_token
    )


def other_code(code: str) -> str:
    return "BBBB-BBBB" if code != "BBBB-BBBB" else "CCCC-CCCC"


def test_app_login_by_emailed_code(client):
    # given a customer who asked the app for a sign-in code
    user = UserFactory(email="asha@example.com")
    session_token = request_code(client, "asha@example.com")
    assert len(mail.outbox) == 1
    code = last_code_sent_to("asha@example.com")

    # when the app confirms the code from the email
    response = confirm_code(client, code, session_token)

    # then the customer is signed in with tokens that open the API
    assert response.status_code == 200
    meta = response.json()["meta"]
    assert meta["is_authenticated"] is True
    assert response.json()["data"]["methods"][0]["method"] == "code"
    me = client.get(ME, headers=bearer(meta["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_web_login_by_emailed_code(client):
    # given a customer on the "email me a code" page
    user = UserFactory(email="asha@example.com")
    response = client.post(REQUEST_CODE, {"email": "asha@example.com"})
    assert response.status_code == 302
    assert response.url == CONFIRM_CODE

    # when they enter the code from the email
    response = client.post(CONFIRM_CODE, {"code": last_code_sent_to("asha@example.com")})

    # then they are signed in
    assert response.status_code == 302
    assert response.url == "/"
    assert get_user(client) == user


def test_an_expired_code_is_refused(client):
    # given a code requested longer ago than codes live (five minutes)
    assert allauth_settings.LOGIN_BY_CODE_TIMEOUT == 300
    UserFactory(email="asha@example.com")
    session_token = request_code(client, "asha@example.com")
    code = last_code_sent_to("asha@example.com")

    # when the right code arrives one second too late
    with clock_moved(CODE_CLOCK, seconds=allauth_settings.LOGIN_BY_CODE_TIMEOUT + 1):
        response = confirm_code(client, code, session_token)

    # then the pending login is dropped (409: nothing to confirm) and no tokens are issued
    assert response.status_code == 409
    assert response.json() == {"status": 409}


def test_a_code_just_inside_its_lifetime_still_works(client):
    # given a code requested almost as long ago as codes live
    UserFactory(email="asha@example.com")
    session_token = request_code(client, "asha@example.com")
    code = last_code_sent_to("asha@example.com")

    # when the right code arrives just in time
    with clock_moved(CODE_CLOCK, seconds=allauth_settings.LOGIN_BY_CODE_TIMEOUT - 5):
        response = confirm_code(client, code, session_token)

    # then it is accepted
    assert response.status_code == 200


def test_a_used_code_cannot_be_used_again(client):
    # given a code that already signed the customer in
    UserFactory(email="asha@example.com")
    session_token = request_code(client, "asha@example.com")
    code = last_code_sent_to("asha@example.com")
    assert confirm_code(client, code, session_token).status_code == 200

    # when the same code is sent again
    response = confirm_code(client, code, session_token)

    # then the pending session it belonged to is gone and no tokens are issued
    assert response.status_code == 410
    assert "access_token" not in response.json()["meta"]


def test_a_used_code_cannot_be_used_again_on_the_web(client):
    # given a code that already signed the customer in on the web, who then logged out
    UserFactory(email="asha@example.com")
    client.post(REQUEST_CODE, {"email": "asha@example.com"})
    code = last_code_sent_to("asha@example.com")
    client.post(CONFIRM_CODE, {"code": code})
    client.post("/accounts/logout/")

    # when the same code is entered again
    response = client.post(CONFIRM_CODE, {"code": code})

    # then it is refused: back to asking for a code, nobody signed in
    assert response.status_code == 302
    assert response.url == REQUEST_CODE
    assert not get_user(client).is_authenticated


def test_three_wrong_codes_void_the_pending_login_even_for_the_right_code(client, settings):
    # given a pending code login that received the maximum number of wrong codes
    assert settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS == 3
    UserFactory(email="asha@example.com")
    session_token = request_code(client, "asha@example.com")
    code = last_code_sent_to("asha@example.com")
    first = confirm_code(client, other_code(code), session_token)
    second = confirm_code(client, other_code(code), session_token)
    third = confirm_code(client, other_code(code), session_token)
    assert [r.status_code for r in (first, second, third)] == [400, 400, 400]
    assert error_codes(third) == ["incorrect_code"]

    # when the right code arrives
    response = confirm_code(client, code, session_token)

    # then it is refused: the pending login was dropped (409: nothing to confirm)
    assert response.status_code == 409
    assert response.json() == {"status": 409}


def test_the_fourth_code_request_for_one_email_within_a_minute_is_refused(client):
    # given three codes were requested for one address in the last minute
    UserFactory(email="asha@example.com")
    for _ in range(3):
        request_code(client, "asha@example.com")
    assert len(mails_to("asha@example.com")) == 3

    # when a fourth is requested
    response = app_call(client, "post", "/auth/code/request", {"email": "asha@example.com"})

    # then allauth refuses it and sends nothing
    assert response.status_code == 400
    assert error_codes(response) == ["too_many_login_attempts"]
    assert len(mails_to("asha@example.com")) == 3


def test_the_code_request_limit_shows_a_clear_message_on_the_web(client):
    # given three codes were requested for one address in the last minute, each
    # from a fresh browser session (one session with a pending code gets no new one)
    UserFactory(email="asha@example.com")
    for _ in range(3):
        assert Client().post(REQUEST_CODE, {"email": "asha@example.com"}).status_code == 302
    assert len(mails_to("asha@example.com")) == 3

    # when a fourth is requested on the page
    response = client.post(REQUEST_CODE, {"email": "asha@example.com"})

    # then the page says to wait, and no fourth email goes out
    assert response.status_code == 200
    assert response.context["form"].errors == {"email": [RATE_LIMIT_MESSAGE]}
    assert RATE_LIMIT_MESSAGE in response.content.decode()
    assert len(mails_to("asha@example.com")) == 3


def test_a_code_request_for_an_unknown_email_reveals_nothing_and_signs_in_nobody(client):
    # given no account for an address
    # when a code is requested for it
    session_token = request_code(client, "nobody@example.com")

    # then the answer looks the same as for a real account (a pending flow), the
    # mailbox owner is told there is no account, and no code exists to confirm
    assert session_token
    assert [m.subject for m in mail.outbox] == ["[FlexPass] Unknown Account"]
    assert not CODE_LINE.search(mail.outbox[0].body)
    response = confirm_code(client, "BBBB-BBBB", session_token)
    assert response.status_code == 400
    assert error_codes(response) == ["incorrect_code"]
