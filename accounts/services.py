"""Writes for accounts: profiles, referral codes, profile edits."""

import secrets

from django.db import IntegrityError, transaction

from accounts.models import Profile, User

REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud
REFERRAL_CODE_LENGTH = 8
SESSION_REFERRAL_KEY = "referral_code"


def referral_code_generate() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def profile_ensure(*, user: User, referral_code: str = "") -> Profile:
    """Give `user` a profile with a fresh referral code, noting who referred them.

    A code that is unknown or the user's own is ignored: a referral never
    blocks a sign-up.
    """
    existing = Profile.objects.filter(user=user).first()
    if existing:
        return existing
    referrer = None
    if referral_code:
        referrer = (
            User.objects.filter(
                profile__referral_code=referral_code.strip().upper(), is_active=True
            )
            .exclude(pk=user.pk)
            .first()
        )
    for _ in range(5):
        try:
            with transaction.atomic():
                return Profile.objects.create(
                    user=user, referral_code=referral_code_generate(), referred_by=referrer
                )
        except IntegrityError:
            if Profile.objects.filter(user=user).exists():
                return Profile.objects.get(user=user)
    raise RuntimeError("could not allocate a unique referral code")


def profile_update(*, user: User, display_name: str, phone: str, avatar=None) -> Profile:
    profile = profile_ensure(user=user)
    profile.display_name = display_name.strip()
    profile.phone = phone.strip()
    fields = ["display_name", "phone"]
    if avatar is not None:
        profile.avatar = avatar
        fields.append("avatar")
    profile.save(update_fields=fields)
    return profile
