"""The profile page: edit display name and phone, upload an avatar."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.forms import MAX_AVATAR_BYTES
from accounts.models import Profile
from accounts.tests.factories import UserFactory
from accounts.validators import PHONE_MESSAGE

pytestmark = pytest.mark.django_db

PROFILE = "/profile/"


def png(*, width: int, height: int, noise: bool = False) -> SimpleUploadedFile:
    """A real PNG; with noise it does not compress, so its size is about w*h*3 bytes."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), (91, 76, 240))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def customer(client):
    user = UserFactory(email="asha@example.com")
    Profile.objects.filter(user=user).update(display_name="Asha", phone="+919845012345")
    client.force_login(user)
    return user


def test_the_profile_page_needs_a_signed_in_user(client):
    # given nobody is signed in
    # when the profile page is opened
    response = client.get(PROFILE)

    # then the visitor is sent to log in first
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/profile/"


def test_the_profile_page_shows_email_and_referral_link(client, customer):
    # given a signed-in customer
    # when they open their profile
    response = client.get(PROFILE)

    # then it shows who they are and their referral link
    html = response.content.decode()
    code = customer.profile.referral_code
    assert response.status_code == 200
    assert 'data-testid="profile-email">asha@example.com<' in html
    assert f'value="http://testserver/r/{code}"' in html
    assert response.context["form"].initial == {"display_name": "Asha", "phone": "+919845012345"}


def test_saving_name_and_phone_updates_the_profile(client, customer):
    # given a signed-in customer on their profile
    # when they save a new name and phone
    response = client.post(PROFILE, {"display_name": " Asha Rao ", "phone": "+91 80 4123 4567"})

    # then both are stored and they see the page again
    assert response.status_code == 302
    assert response.url == PROFILE
    profile = Profile.objects.get(user=customer)
    assert (profile.display_name, profile.phone) == ("Asha Rao", "+91 80 4123 4567")


@pytest.mark.parametrize("phone", ["98450-CALL-ME", "1 2 3 4", "12345", "9" * 16])
def test_a_bad_phone_is_a_form_error_and_changes_nothing(client, customer, phone):
    # given a signed-in customer on their profile
    # when they save a phone number that is not one
    response = client.post(PROFILE, {"display_name": "Changed", "phone": phone})

    # then the form shows the error on the phone field and nothing is saved
    assert response.status_code == 200
    assert response.context["form"].errors == {"phone": [PHONE_MESSAGE]}
    assert PHONE_MESSAGE in response.content.decode()
    profile = Profile.objects.get(user=customer)
    assert (profile.display_name, profile.phone) == ("Asha", "+919845012345")


def test_a_small_avatar_is_stored(client, customer):
    # given a signed-in customer with no avatar
    # when they upload a small picture
    response = client.post(
        PROFILE, {"display_name": "Asha", "phone": "", "avatar": png(width=64, height=64)}
    )

    # then it is stored under avatars/ and the phone was cleared as asked
    assert response.status_code == 302
    profile = Profile.objects.get(user=customer)
    assert profile.avatar.name.startswith("avatars/me")
    assert profile.avatar.width == 64
    assert profile.phone == ""


def test_an_avatar_over_2_mb_is_refused(client, customer):
    # given a real picture just over 2 MB
    big = png(width=900, height=900, noise=True)
    assert big.size > MAX_AVATAR_BYTES == 2 * 1024 * 1024

    # when the customer uploads it
    response = client.post(PROFILE, {"display_name": "Changed", "phone": "", "avatar": big})

    # then the form refuses it and nothing is saved
    assert response.status_code == 200
    assert response.context["form"].errors == {"avatar": ["The picture must be at most 2 MB."]}
    profile = Profile.objects.get(user=customer)
    assert (profile.display_name, profile.avatar.name) == ("Asha", "")


def test_a_file_that_is_not_a_picture_is_refused(client, customer):
    # given a text file named like a picture
    fake = SimpleUploadedFile("me.png", b"not an image", content_type="image/png")

    # when the customer uploads it
    response = client.post(PROFILE, {"display_name": "Asha", "phone": "", "avatar": fake})

    # then the form refuses it
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["avatar"]
    assert Profile.objects.get(user=customer).avatar.name == ""
