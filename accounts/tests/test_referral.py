"""Referral links: /r/<code> remembers the referrer for the sign-up that follows."""

import pytest
from django.contrib.messages import get_messages

from accounts.models import User
from accounts.services import SESSION_REFERRAL_KEY
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_up(client, email: str):
    return client.post(
        "/accounts/signup/",
        {"email": email, "password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD},
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_a_referral_link_remembers_the_code_and_the_signup_records_the_referrer(client):
    # given a customer with a display name shares their link
    friend = UserFactory(email="friend@example.com")
    friend.profile.display_name = "Kavya"
    friend.profile.save(update_fields=["display_name"])
    code = friend.profile.referral_code

    # when a visitor opens it (typed in lower case)
    response = client.get(f"/r/{code.lower()}")

    # then they are sent to sign up, told who invited them, and the code is remembered
    assert response.status_code == 302
    assert response.url == "/accounts/signup/"
    assert client.session[SESSION_REFERRAL_KEY] == code
    assert messages_of(response) == [("success", "Kavya invited you. Sign up to join FlexPass.")]

    # and when they sign up, the new profile records the referrer
    sign_up(client, "newbie@example.com")
    assert User.objects.get(email="newbie@example.com").profile.referred_by == friend


def test_an_unknown_referral_code_warns_and_records_no_referrer(client):
    # given a code that belongs to nobody
    UserFactory(email="friend@example.com")

    # when a visitor opens the link
    response = client.get("/r/NOSUCH23")

    # then they are sent to sign up with a warning, and nothing is remembered
    assert response.status_code == 302
    assert response.url == "/accounts/signup/"
    assert messages_of(response) == [("warning", "That referral link is not valid any more.")]
    assert SESSION_REFERRAL_KEY not in client.session

    # and the sign-up that follows has no referrer
    sign_up(client, "newbie@example.com")
    assert User.objects.get(email="newbie@example.com").profile.referred_by is None


def test_the_warning_is_shown_on_the_signup_page(client):
    # given a visitor who followed a dead referral link
    # when they follow the redirect to the sign-up page
    response = client.get("/r/NOSUCH23", follow=True)

    # then the page shows the warning
    assert response.redirect_chain == [("/accounts/signup/", 302)]
    assert "That referral link is not valid any more." in response.content.decode()


def test_a_referral_link_of_a_deactivated_account_is_unknown(client):
    # given the referrer's account was deactivated
    friend = UserFactory(is_active=False)

    # when a visitor opens their link
    response = client.get(f"/r/{friend.profile.referral_code}")

    # then the code is not remembered
    assert messages_of(response) == [("warning", "That referral link is not valid any more.")]
    assert SESSION_REFERRAL_KEY not in client.session


def test_a_signed_in_customer_opening_a_referral_link_is_not_referred(client):
    # given a customer who is already signed in
    me = UserFactory()
    friend = UserFactory()
    client.force_login(me)

    # when they open a friend's link
    response = client.get(f"/r/{friend.profile.referral_code}")

    # then nothing is remembered and their own profile is unchanged
    assert response.status_code == 302
    assert response.url == "/"
    assert SESSION_REFERRAL_KEY not in client.session
    me.profile.refresh_from_db()
    assert me.profile.referred_by is None


def test_people_added_in_the_admin_get_their_own_referral_codes(client):
    from accounts.models import Profile, User
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for email in ("one@example.com", "two@example.com"):
        added = client.post(
            "/admin/accounts/user/add/",
            {
                "email": email,
                "role": "customer",
                "password1": "a long pass phrase 42",
                "password2": "a long pass phrase 42",
            },
        )
        assert added.status_code == 302

    for user in User.objects.filter(email__in=["one@example.com", "two@example.com"]):
        page = client.get(f"/admin/accounts/user/{user.pk}/change/")
        assert page.status_code == 200
    codes = list(
        Profile.objects.filter(user__email__in=["one@example.com", "two@example.com"]).values_list(
            "referral_code", flat=True
        )
    )
    assert len(codes) == 2 and all(codes) and len(set(codes)) == 2
