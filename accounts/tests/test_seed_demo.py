"""`manage.py seed_demo` loads the demo users and can be run any number of times."""

import io

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from accounts.models import Profile, User
from accounts.tests.headless import app_call

pytestmark = pytest.mark.django_db

DEMO_EMAILS = sorted(email for email, *_ in DEMO_USERS)


def snapshot() -> dict:
    return {
        "users": sorted(User.objects.values_list("email", "role", "is_staff")),
        "profiles": sorted(Profile.objects.values_list("user__email", "referral_code")),
        "emails": sorted(EmailAddress.objects.values_list("email", "verified", "primary")),
    }


def test_seed_demo_twice_leaves_the_same_data(client):
    # given an empty database seeded once
    call_command("seed_demo", stdout=io.StringIO())
    first = snapshot()

    # when it is seeded again
    call_command("seed_demo", stdout=io.StringIO())

    # then nothing changed: same users, same referral codes, all emails verified
    assert snapshot() == first
    assert [email for email, *_ in first["users"]] == DEMO_EMAILS
    assert first["emails"] == [(email, True, True) for email in DEMO_EMAILS]
    assert len(first["profiles"]) == len(DEMO_USERS)
    assert User.objects.get(email="staff@demo.flexpass.dev").is_superuser is True
    assert User.objects.get(email="vendor@demo.flexpass.dev").role == User.Role.VENDOR


def test_seed_demo_keeps_a_changed_demo_password_and_name(client):
    # given a demo user who changed their password and display name
    call_command("seed_demo", stdout=io.StringIO())
    asha = User.objects.get(email="asha@demo.flexpass.dev")
    asha.set_password("my-own-secret-42")
    asha.save(update_fields=["password"])
    Profile.objects.filter(user=asha).update(display_name="Asha R.")

    # when the seed runs again
    call_command("seed_demo", stdout=io.StringIO())

    # then their changes stay
    asha.refresh_from_db()
    assert asha.check_password("my-own-secret-42")
    assert asha.profile.display_name == "Asha R."


def test_demo_users_can_log_in_with_the_demo_password(client):
    # given the demo data
    call_command("seed_demo", stdout=io.StringIO())

    # when the demo customer logs in through the app
    response = app_call(
        client,
        "post",
        "/auth/login",
        {"email": "asha@demo.flexpass.dev", "password": DEMO_PASSWORD},
    )

    # then it works straight away (no verification step)
    assert response.status_code == 200
    assert response.json()["meta"]["is_authenticated"] is True


def test_the_demo_vendor_has_earnings_to_move_and_the_demo_sales_held():
    from marketplace.console_selectors import vendor_earnings
    from marketplace.demo import DEMO_EARLIER_EARNINGS_PAISE, VENDOR_EMAIL
    from marketplace.models import VendorProfile

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # the opening balance is posted once

    earnings = vendor_earnings(vendor=VendorProfile.objects.get(user__email=VENDOR_EMAIL))
    assert earnings.movable_paise == DEMO_EARLIER_EARNINGS_PAISE
    assert earnings.held_paise == earnings.payable_paise - DEMO_EARLIER_EARNINGS_PAISE > 0
