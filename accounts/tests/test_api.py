"""GET/PATCH /api/v1/accounts/me: Bearer auth and RFC 9457 problem details."""

import jwt
import pytest
from django.conf import settings

from accounts.models import Profile
from accounts.tests.clock import JWT_CLOCK, clock_moved
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.headless import ME, app_call, bearer
from accounts.validators import PHONE_MESSAGE

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def access_token_for(client, user) -> str:
    response = app_call(
        client, "post", "/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["access_token"]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body.keys() >= PROBLEM_KEYS
    assert body["status"] == status
    return body


def test_no_token_is_refused_with_a_problem(client):
    # given no credentials at all
    # when the profile is requested
    response = client.get(ME)

    # then 401 with a problem body and a Bearer challenge
    body = assert_problem(response, 401)
    assert body == {
        "type": "https://flexpass.dev/problems/not_authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
        "Bearer two words",
        "Bearer",
    ],
    ids=["garbage", "bad-signature", "two-words", "empty"],
)
def test_a_malformed_token_is_refused_with_a_problem(client, header):
    # given a request carrying a malformed Bearer token
    # when the profile is requested
    response = client.get(ME, headers={"Authorization": header})

    # then 401 with a problem body
    body = assert_problem(response, 401)
    assert body["title"] == "Unauthorized"
    assert body["code"] == "authentication_failed"


def test_a_token_signed_with_another_key_is_refused(client):
    # given a well-formed access token for a real user, signed by someone else
    user = UserFactory()
    genuine = access_token_for(client, user)
    claims = jwt.decode(genuine, settings.SECRET_KEY, algorithms=["HS256"])
    forged = jwt.encode(claims, "someone-else's-secret-key-of-32-bytes!", algorithm="HS256")

    # when it is used
    response = client.get(ME, headers=bearer(forged))

    # then it is refused
    assert_problem(response, 401)


def test_an_expired_token_is_refused_with_a_problem(client):
    # given an access token minted one second longer ago than tokens live
    user = UserFactory()
    lifetime = settings.HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN
    with clock_moved(JWT_CLOCK, seconds=-(lifetime + 1)):
        token = access_token_for(client, user)

    # when it is used now
    response = client.get(ME, headers=bearer(token))

    # then 401 with a problem body
    body = assert_problem(response, 401)
    assert body["code"] == "authentication_failed"
    assert body["detail"] == "Invalid token."


def test_a_valid_token_returns_the_profile(client):
    # given a customer with a filled-in profile and a valid access token
    user = UserFactory(email="asha@example.com")
    Profile.objects.filter(user=user).update(display_name="Asha Rao", phone="+91 98450 12345")
    token = access_token_for(client, user)

    # when the app asks for the profile
    response = client.get(ME, headers=bearer(token))

    # then it gets exactly the profile
    assert response.status_code == 200
    code = user.profile.referral_code
    assert response.json() == {
        "id": user.pk,
        "email": "asha@example.com",
        "role": "customer",
        "display_name": "Asha Rao",
        "phone": "+91 98450 12345",
        "referral_code": code,
        "referral_url": f"http://testserver/r/{code}",
    }


def test_patch_updates_the_profile(client):
    # given a signed-in app
    user = UserFactory()
    token = access_token_for(client, user)

    # when it changes name and phone
    response = client.patch(
        ME,
        {"display_name": "  Asha R  ", "phone": "+919845012345"},
        content_type="application/json",
        headers=bearer(token),
    )

    # then both are saved (trimmed) and returned
    assert response.status_code == 200
    assert (response.json()["display_name"], response.json()["phone"]) == (
        "Asha R",
        "+919845012345",
    )
    profile = Profile.objects.get(user=user)
    assert (profile.display_name, profile.phone) == ("Asha R", "+919845012345")


def test_patch_with_only_a_name_keeps_the_phone(client):
    # given a profile with a phone number
    user = UserFactory()
    Profile.objects.filter(user=user).update(phone="+919845012345")
    token = access_token_for(client, user)

    # when only the name is sent
    client.patch(
        ME, {"display_name": "Asha"}, content_type="application/json", headers=bearer(token)
    )

    # then the phone stays
    profile = Profile.objects.get(user=user)
    assert (profile.display_name, profile.phone) == ("Asha", "+919845012345")


@pytest.mark.parametrize(
    "phone",
    ["12ab45678", "123", "1 2 3 4", "+ 1234567", "+91-98450-12345", "9" * 16],
    ids=["letters", "too-short", "4-digits-spaced", "space-after-plus", "dashes", "too-long"],
)
def test_patch_with_a_bad_phone_is_a_400_problem_naming_the_field(client, phone):
    # given a profile with a name and phone
    user = UserFactory()
    Profile.objects.filter(user=user).update(display_name="Asha", phone="+919845012345")
    token = access_token_for(client, user)

    # when a bad phone number is sent
    response = client.patch(
        ME,
        {"display_name": "Changed", "phone": phone},
        content_type="application/json",
        headers=bearer(token),
    )

    # then 400 problem details list the phone field, and nothing changed
    body = assert_problem(response, 400)
    assert body["type"] == "https://flexpass.dev/problems/validation_error"
    assert body["title"] == "Invalid request"
    assert [(error["field"], error["message"]) for error in body["errors"]] == [
        ("phone", PHONE_MESSAGE)
    ]
    profile = Profile.objects.get(user=user)
    assert (profile.display_name, profile.phone) == ("Asha", "+919845012345")


def test_the_browser_session_also_opens_the_api(client):
    # given a customer signed in on the website
    user = UserFactory()
    client.force_login(user)

    # when the page's script asks for the profile
    response = client.get(ME)

    # then the session cookie is enough
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


@pytest.mark.parametrize("phone", ["+91 98450 12345", "080 4123 4567", "9845012345", ""])
def test_patch_accepts_real_phone_numbers_and_clearing_it(client, phone):
    # given a signed-in app
    user = UserFactory()
    token = access_token_for(client, user)

    # when it sends a real phone number (or clears it)
    response = client.patch(
        ME, {"phone": phone}, content_type="application/json", headers=bearer(token)
    )

    # then it is stored as sent
    assert response.status_code == 200
    assert Profile.objects.get(user=user).phone == phone
