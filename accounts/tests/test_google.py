"""Sign-in with Google, offline: only Google's HTTP answers are faked."""

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth import get_user
from django.test import Client

from accounts.models import Profile, User
from accounts.services import SESSION_REFERRAL_KEY
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.fake_google import (
    TOKEN_URL,
    GoogleSigningKey,
    google_token_endpoint,
    id_token_claims,
)
from accounts.tests.headless import ME, app_call, bearer, error_codes

pytestmark = pytest.mark.django_db

GOOGLE_LOGIN = "/accounts/google/login/"
GOOGLE_CALLBACK = "/accounts/google/login/callback/"


def start_google_login(client) -> str:
    """Click "Continue with Google"; returns the `state` allauth sent to Google."""
    response = client.get(GOOGLE_LOGIN)
    assert response.status_code == 302
    url = urlsplit(response.url)
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "accounts.google.com",
        "/o/oauth2/v2/auth",
    )
    query = parse_qs(url.query)
    assert query["client_id"] == [settings.GOOGLE_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver" + GOOGLE_CALLBACK]
    return query["state"][0]


def google_sends_back(client, state: str, claims: dict):
    """Google redirects the browser back with a code; allauth trades it for tokens."""
    with google_token_endpoint(claims) as endpoint:
        response = client.get(GOOGLE_CALLBACK, {"code": "auth-code-from-google", "state": state})
    assert [(call["method"], call["url"]) for call in endpoint.calls] == [("POST", TOKEN_URL)]
    assert endpoint.calls[0]["data"]["code"] == "auth-code-from-google"
    return response


def test_google_web_login_creates_a_new_user_with_a_profile(client):
    # given nobody with this Google address has an account
    state = start_google_login(client)
    claims = id_token_claims(sub="10769150350006150715", email="priya@gmail.com", name="Priya Nair")

    # when Google sends the visitor back
    response = google_sends_back(client, state, claims)

    # then a new account exists, linked to Google, verified, with a profile, and signed in
    assert response.status_code == 302
    assert response.url == "/"
    user = User.objects.get()
    assert user.email == "priya@gmail.com"
    assert user.role == User.Role.CUSTOMER
    assert user.has_usable_password() is False
    assert user.profile.display_name == "Priya Nair"
    assert len(user.profile.referral_code) == 8
    assert list(SocialAccount.objects.values_list("user", "provider", "uid")) == [
        (user.pk, "google", "10769150350006150715")
    ]
    assert list(EmailAddress.objects.values_list("user", "email", "verified", "primary")) == [
        (user.pk, "priya@gmail.com", True, True)
    ]
    assert get_user(client) == user


def test_google_web_login_without_a_name_still_creates_the_account(client):
    # given a Google account that shares no name (only the "email" scope was granted)
    state = start_google_login(client)
    claims = id_token_claims(sub="1001", email="quiet@gmail.com")

    # when Google sends the visitor back
    response = google_sends_back(client, state, claims)

    # then the account is created all the same
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "quiet@gmail.com"
    assert user.profile.display_name == ""
    assert get_user(client) == user


def test_google_web_login_links_to_the_existing_account_with_that_verified_email(client):
    # given a customer who signed up with a password and verified priya@gmail.com
    existing = UserFactory(email="priya@gmail.com")
    referral_code = existing.profile.referral_code
    state = start_google_login(client)
    claims = id_token_claims(sub="10769150350006150715", email="priya@gmail.com", name="Priya Nair")

    # when they continue with Google for the same address
    response = google_sends_back(client, state, claims)

    # then Google is linked to that account: no new user, the profile untouched
    assert response.status_code == 302
    assert response.url == "/"
    assert list(User.objects.values_list("pk", flat=True)) == [existing.pk]
    assert list(SocialAccount.objects.values_list("user", "uid")) == [
        (existing.pk, "10769150350006150715")
    ]
    assert Profile.objects.get().referral_code == referral_code
    assert get_user(client) == existing


def test_google_web_login_with_a_wrong_state_signs_in_nobody(client):
    # given a login that was started in this browser
    start_google_login(client)
    claims = id_token_claims(sub="1001", email="priya@gmail.com")

    # when a callback arrives with a state this browser never issued (forged link)
    with google_token_endpoint(claims) as endpoint:
        response = client.get(GOOGLE_CALLBACK, {"code": "stolen", "state": "forged-state"})

    # then the error page says no, Google is not even asked, nobody is created or signed in
    assert response.status_code == 401
    assert "socialaccount/authentication_error.html" in [t.name for t in response.templates]
    assert endpoint.calls == []
    assert User.objects.count() == 0
    assert not get_user(client).is_authenticated


def test_google_web_signup_after_a_referral_link_records_the_referrer(client):
    # given a visitor who came through a friend's referral link
    friend = UserFactory(email="friend@example.com")
    client.get(f"/r/{friend.profile.referral_code}")
    assert client.session[SESSION_REFERRAL_KEY] == friend.profile.referral_code

    # when they sign up with Google
    state = start_google_login(client)
    google_sends_back(client, state, id_token_claims(sub="1001", email="new@gmail.com"))

    # then the new account remembers who referred it
    assert User.objects.get(email="new@gmail.com").profile.referred_by == friend


def provider_token(client, id_token: str):
    return app_call(
        client,
        "post",
        "/auth/provider/token",
        {
            "provider": "google",
            "process": "login",
            "token": {"client_id": settings.GOOGLE_CLIENT_ID, "id_token": id_token},
        },
    )


def test_app_google_sign_in_with_a_signed_id_token_returns_jwts(client, google_key):
    # given the app got an id_token from Google Sign-In on the phone
    claims = id_token_claims(sub="2002", email="arjun@gmail.com", name="Arjun Das")

    # when it hands the token to the API
    with google_key.published() as fetch_key:
        response = provider_token(client, google_key.sign(claims))

    # then the signature was checked against Google's key and a new user is signed in
    assert fetch_key.call_count == 1
    assert response.status_code == 200
    meta = response.json()["meta"]
    assert meta["is_authenticated"] is True
    user = User.objects.get()
    assert user.email == "arjun@gmail.com"
    assert user.profile.display_name == "Arjun Das"
    assert SocialAccount.objects.get().user == user
    me = client.get(ME, headers=bearer(meta["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "arjun@gmail.com"


def test_app_google_sign_in_links_to_the_existing_verified_account(client, google_key):
    # given a customer with a verified password account
    existing = UserFactory(email="arjun@gmail.com")
    claims = id_token_claims(sub="2002", email="arjun@gmail.com")

    # when the app signs in with Google for the same address
    with google_key.published():
        response = provider_token(client, google_key.sign(claims))

    # then it is the same account
    assert response.status_code == 200
    assert list(User.objects.values_list("pk", flat=True)) == [existing.pk]
    assert SocialAccount.objects.get().user == existing


def test_app_google_sign_in_refuses_a_token_not_signed_by_google(client, google_key):
    # given an id_token signed with some other key
    forger = GoogleSigningKey()
    claims = id_token_claims(sub="2002", email="arjun@gmail.com")

    # when the app hands it in while Google publishes its real key
    with google_key.published():
        response = provider_token(client, forger.sign(claims))

    # then it is refused and nobody is created
    assert response.status_code == 400
    assert error_codes(response) == ["invalid_token"]
    assert User.objects.count() == 0


def test_app_google_sign_in_refuses_a_token_for_another_app(client, google_key):
    # given an id_token Google issued to a different client id
    claims = {**id_token_claims(sub="2002", email="arjun@gmail.com"), "aud": "other-app"}

    # when the app hands it in
    with google_key.published():
        response = provider_token(client, google_key.sign(claims))

    # then it is refused and nobody is created
    assert response.status_code == 400
    assert error_codes(response) == ["invalid_token"]
    assert User.objects.count() == 0


def test_google_login_to_an_unverified_account_locks_out_whoever_set_its_password(client):
    # given someone signed up with priya@gmail.com and a password, but never proved
    # they own the address (maybe a squatter waiting for the real owner)
    account = UserFactory(email="priya@gmail.com", verified=False)
    state = start_google_login(client)
    claims = id_token_claims(sub="1001", email="priya@gmail.com", name="Priya Nair")

    # when the real owner continues with Google
    google_sends_back(client, state, claims)

    # then Google proved the address, so the owner gets the account, and the
    # password someone else may know is wiped: one user, one Google link
    account.refresh_from_db()
    assert get_user(client) == account
    assert account.has_usable_password() is False
    assert list(User.objects.values_list("pk", flat=True)) == [account.pk]
    assert SocialAccount.objects.get().user == account
    squatter = Client()
    squatter.post("/accounts/login/", {"login": "priya@gmail.com", "password": DEFAULT_PASSWORD})
    assert not get_user(squatter).is_authenticated
