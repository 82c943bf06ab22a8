"""A newcomer's first visit, in a real browser: sign up, verify, log out, log in by code.

The live server runs in this process (pytest-django's threaded WSGI server), so
emails land in django.core.mail.outbox where the story reads the codes.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from accounts.tests.mailbox import last_code_sent_to, mails_to

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EMAIL = "meera@example.com"
PASSWORD = "Sup3r-secret-flexpass"


@pytest.mark.django_db(transaction=True)
def test_sign_up_verify_log_out_and_log_back_in_with_an_emailed_code(story_page, live_server):
    page = story_page
    site = live_server.url
    nav = page.get_by_role("banner")

    # Meera signs up with her email and a password
    page.goto(f"{site}/")
    nav.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(f"{site}/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # she is asked for the code we emailed her, and types it in
    expect(page).to_have_url(f"{site}/accounts/confirm-email/")
    expect(page.get_by_role("heading", name="Verify your email")).to_be_visible()
    expect(page.get_by_text(f"We sent a code to {EMAIL}")).to_be_visible()
    page.get_by_label("Code").fill(last_code_sent_to(EMAIL))
    page.get_by_role("button", name="Confirm").click()

    # her address is verified and she is signed in
    expect(page).to_have_url(f"{site}/")
    expect(page.get_by_test_id("nav-user")).to_have_text("meera")
    assert User.objects.get(email=EMAIL).emailaddress_set.get().verified is True

    # she logs out
    nav.get_by_role("button", name="Log out").click()
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)

    # later she logs in without her password: a code by email
    nav.get_by_role("link", name="Log in").click()
    page.get_by_role("link", name="Email me a sign-in code").click()
    expect(page).to_have_url(f"{site}/accounts/login/code/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Email me a code").click()
    expect(page).to_have_url(f"{site}/accounts/login/code/confirm/")
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    assert len(mails_to(EMAIL)) == 2  # the verification code, then the sign-in code
    page.get_by_label("Code").fill(last_code_sent_to(EMAIL))
    page.get_by_role("button", name="Confirm").click()

    # she is signed in again and her profile shows her email
    expect(page.get_by_test_id("nav-user")).to_have_text("meera")
    page.get_by_test_id("nav-user").click()
    expect(page).to_have_url(f"{site}/profile/")
    expect(page.get_by_test_id("profile-email")).to_have_text(EMAIL)
    expect(page.get_by_test_id("referral-code")).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
