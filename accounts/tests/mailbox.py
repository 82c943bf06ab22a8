"""Read one-time codes out of the emails allauth sent (django.core.mail.outbox)."""

import re

from django.core import mail

# allauth's default user code: 8 characters in two dashed groups, e.g. "KQXB-TZLM".
CODE_LINE = re.compile(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", re.MULTILINE)


def code_in(message) -> str:
    match = CODE_LINE.search(message.body)
    assert match, f"no code in email {message.subject!r}:\n{message.body}"
    return match.group(1)


def last_code_sent_to(email: str) -> str:
    """The code in the newest email addressed to `email`."""
    messages = [m for m in mail.outbox if m.to == [email]]
    assert messages, f"no email was sent to {email}; outbox: {[m.to for m in mail.outbox]}"
    return code_in(messages[-1])


def mails_to(email: str) -> list:
    return [m for m in mail.outbox if m.to == [email]]
