"""Input rules shared by every door (profile page, API), so they cannot drift apart."""

import re

from django.core.exceptions import ValidationError

PHONE_MAX_LENGTH = 20
PHONE_MESSAGE = "Enter a phone number of 7 to 15 digits, optionally starting with +."
# Digits in groups separated by single spaces, "+" only in front: "+91 98450 12345".
_PHONE_SHAPE = re.compile(r"^\+?[0-9]+(?: [0-9]+)*$")


def validate_phone(value: str) -> None:
    """A phone number has 7 to 15 digits (E.164 allows at most 15); blank means none."""
    value = value.strip()
    if not value:
        return
    digits = sum(character.isdigit() for character in value)
    if not _PHONE_SHAPE.match(value) or not 7 <= digits <= 15:
        raise ValidationError(PHONE_MESSAGE, code="invalid_phone")
