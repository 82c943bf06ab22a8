"""Factories for accounts: users that can sign in the way real ones do."""

import factory
from allauth.account.models import EmailAddress

from accounts.models import User
from accounts.services import profile_ensure

DEFAULT_PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    """A customer with a profile and a primary email address.

    The address is verified unless `verified=False` (as right after sign-up);
    `referral_code="ABCD2345"` records who referred the user.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    role = User.Role.CUSTOMER
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=obj, email=obj.email, primary=True, verified=extracted is not False
            )

    @factory.post_generation
    def referral_code(obj, create, extracted, **kwargs):
        if create:
            profile_ensure(user=obj, referral_code=extracted or "")
