"""The sign-in pages carry the product's choices: Google only when configured, codes always."""

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOGLE_FORM = '<form method="post" action="/accounts/google/login/?process=login">'


def test_login_page_offers_google_and_an_emailed_code(client):
    # given Google is configured (the test settings set a client id)
    # when a visitor opens the login page
    response = client.get("/accounts/login/")

    # then it offers Google (as a POST) and a sign-in code by email
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["GOOGLE_LOGIN_ENABLED"] is True
    assert GOOGLE_FORM in html
    assert "Continue with Google" in html
    assert (
        'href="/accounts/login/code/" data-testid="login-by-code">Email me a sign-in code</a>'
        in html
    )


def test_login_and_signup_pages_hide_google_when_it_is_not_configured(client, settings):
    # given no Google client id
    settings.GOOGLE_LOGIN_ENABLED = False

    # when a visitor opens the login and sign-up pages
    pages = [client.get("/accounts/login/"), client.get("/accounts/signup/")]

    # then neither shows a Google button, and login still offers a code
    for page in pages:
        assert page.status_code == 200
        assert "with Google" not in page.content.decode()
        assert "/accounts/google/login/" not in page.content.decode()
    assert "Email me a sign-in code" in pages[0].content.decode()


def test_signup_page_mentions_the_invitation_after_a_referral_link(client):
    # given a visitor who followed a valid referral link
    friend = UserFactory()
    client.get(f"/r/{friend.profile.referral_code}")

    # when the sign-up page shows
    response = client.get("/accounts/signup/")

    # then it says they were invited
    assert 'data-testid="referral-note"' in response.content.decode()


def test_google_confirmation_page_posts_back_to_itself(client, settings):
    # given Google login needs a POST (the production setting)
    settings.SOCIALACCOUNT_LOGIN_ON_GET = False

    # when the visitor lands on the Google login URL with a GET
    response = client.get("/accounts/google/login/")

    # then a "Continue with Google" page asks them to confirm
    assert response.status_code == 200
    assert "socialaccount/login.html" in [t.name for t in response.templates]
    assert "<h1>Continue with Google</h1>" in response.content.decode()
