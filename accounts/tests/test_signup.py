"""Sign-up by email and password on the web, with mandatory email verification by code."""

import re

import pytest
from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user
from django.core import mail

from accounts.models import Profile, User
from accounts.services import REFERRAL_ALPHABET, REFERRAL_CODE_LENGTH
from accounts.tests.clock import CODE_CLOCK, clock_moved
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.headless import app_call
from accounts.tests.mailbox import code_in, last_code_sent_to

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
VERIFY = "/accounts/confirm-email/"
REFERRAL_CODE = re.compile(f"^[{REFERRAL_ALPHABET}]{{{REFERRAL_CODE_LENGTH}}}$")


def sign_up(client, email: str, password: str = DEFAULT_PASSWORD):
    return client.post(SIGNUP, {"email": email, "password1": password, "password2": password})


def test_signup_creates_user_with_profile_and_emails_a_verification_code(client):
    # given nobody has an account
    # when a visitor signs up with email and password
    response = sign_up(client, "Meera@Example.com")

    # then the account exists with a profile and a readable referral code
    assert response.status_code == 302
    assert response.url == VERIFY
    user = User.objects.get()
    assert user.email == "meera@example.com"
    assert user.check_password(DEFAULT_PASSWORD)
    assert user.role == User.Role.CUSTOMER
    assert REFERRAL_CODE.match(user.profile.referral_code)
    assert user.profile.referred_by is None
    # and the address is not verified yet, so the visitor is not signed in
    assert list(EmailAddress.objects.values_list("email", "verified")) == [
        ("meera@example.com", False)
    ]
    assert not get_user(client).is_authenticated
    # and exactly one email went out, carrying the code
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["meera@example.com"]
    assert mail.outbox[0].subject.startswith("[FlexPass] ")
    code_in(mail.outbox[0])


def test_entering_the_emailed_code_verifies_the_address_and_signs_in(client):
    # given a visitor who just signed up
    sign_up(client, "meera@example.com")
    code = last_code_sent_to("meera@example.com")

    # when they type the code from the email
    response = client.post(VERIFY, {"code": code})

    # then the address is verified and they are signed in
    assert response.status_code == 302
    assert response.url == "/"
    assert EmailAddress.objects.get(email="meera@example.com").verified is True
    assert get_user(client).email == "meera@example.com"


def test_a_wrong_verification_code_verifies_nothing(client):
    # given a visitor who just signed up
    sign_up(client, "meera@example.com")
    code = last_code_sent_to("meera@example.com")
    wrong = "BBBB-BBBB" if code != "BBBB-BBBB" else "CCCC-CCCC"

    # when they type a different code
    response = client.post(VERIFY, {"code": wrong})

    # then the form says so and nothing is verified
    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["Incorrect code."]}
    assert EmailAddress.objects.get(email="meera@example.com").verified is False
    assert not get_user(client).is_authenticated


def test_an_expired_verification_code_is_refused(client):
    # given a visitor who signed up longer ago than the code lives
    sign_up(client, "meera@example.com")
    code = last_code_sent_to("meera@example.com")
    timeout = allauth_settings.EMAIL_VERIFICATION_BY_CODE_TIMEOUT

    # when they type the right code too late
    with clock_moved(CODE_CLOCK, seconds=timeout + 1):
        response = client.post(VERIFY, {"code": code})

    # then the pending verification is dropped: back to the login page
    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    # and the address stays unverified and they are not signed in
    assert EmailAddress.objects.get(email="meera@example.com").verified is False
    assert not get_user(client).is_authenticated


def test_password_login_before_verification_only_sends_a_new_code(client):
    # given an account whose address was never verified
    UserFactory(email="late@example.com", verified=False)

    # when its owner logs in with the right password
    response = client.post(
        "/accounts/login/", {"login": "late@example.com", "password": DEFAULT_PASSWORD}
    )

    # then they are sent to verification instead of being signed in
    assert response.status_code == 302
    assert response.url == VERIFY
    assert not get_user(client).is_authenticated
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["late@example.com"]


def test_every_signup_gets_its_own_referral_code(client):
    # given three people sign up
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        client.logout()
        sign_up(client, email)

    # then each has a profile with a distinct code
    codes = list(Profile.objects.values_list("referral_code", flat=True))
    assert len(codes) == 3
    assert len(set(codes)) == 3
    assert all(REFERRAL_CODE.match(code) for code in codes)


def test_signup_with_a_taken_email_creates_no_second_account(client):
    # given an existing account
    UserFactory(email="taken@example.com")

    # when someone signs up with the same address
    sign_up(client, "taken@example.com")

    # then there is still one account and one profile
    assert User.objects.filter(email="taken@example.com").count() == 1
    assert Profile.objects.count() == 1


def test_app_signup_creates_a_profile_and_verifies_by_code(client):
    # given the app signs a new customer up
    response = app_call(
        client, "post", "/auth/signup", {"email": "app@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 401
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["verify_email"]["is_pending"] is True
    session_token = response.json()["meta"]["session_token"]
    user = User.objects.get(email="app@example.com")
    assert REFERRAL_CODE.match(user.profile.referral_code)

    # when it sends the code from the email
    response = app_call(
        client,
        "post",
        "/auth/email/verify",
        {"key": last_code_sent_to("app@example.com")},
        session_token=session_token,
    )

    # then the address is verified and the app is signed in with tokens
    assert response.status_code == 200
    assert response.json()["meta"]["is_authenticated"] is True
    assert response.json()["meta"]["access_token"]
    assert EmailAddress.objects.get(email="app@example.com").verified is True
