"""Checks for Indian bank details, shared by the service, the form and the API."""

import re

from django.utils.crypto import salted_hmac

from billing.errors import WithdrawalRefused

IFSC_RE = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
ACCOUNT_NUMBER_RE = re.compile(r"[0-9]{9,18}")  # ASCII: \d takes any script's digits


def clean_ifsc(value) -> str:
    ifsc = str(value or "").strip().upper()
    if not IFSC_RE.match(ifsc):
        raise WithdrawalRefused(
            "Enter a valid IFSC: 4 letters, a zero, then 6 letters or digits (like HDFC0001234).",
            field="ifsc",
        )
    return ifsc


def clean_account_number(value) -> str:
    number = re.sub(r"[\s-]", "", str(value or ""))
    if not ACCOUNT_NUMBER_RE.fullmatch(number):
        raise WithdrawalRefused("Bank account numbers are 9 to 18 digits.", field="account_number")
    return number


def clean_account_holder(value) -> str:
    holder = " ".join(str(value or "").split())
    if not 2 <= len(holder) <= 100:
        raise WithdrawalRefused(
            "Enter the account holder's name as the bank has it.", field="account_holder"
        )
    return holder


def account_number_hash(number: str) -> str:
    """A keyed hash of the full number: the same account matches, the number is not kept."""
    return salted_hmac("billing.withdrawal.account", number, algorithm="sha256").hexdigest()
