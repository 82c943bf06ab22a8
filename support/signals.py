"""Security records from sign-in events: the one use of signals in support.

Not domain logic: these only write SecurityEvent rows for the dashboard's
security panel. allauth's authenticate() ends in Django's `user_login_failed`
on a wrong password; allauth sends `*_code_rejected` for wrong one-time codes.
"""

import logging

from allauth.account import signals as allauth_signals
from django.contrib.auth.signals import user_login_failed

logger = logging.getLogger(__name__)


def _safely(record):
    try:
        record()
    except Exception:  # a failed record must never turn a sign-in attempt into a 500
        logger.warning("could not record a security event", exc_info=True)


def _login_failed(sender, credentials, request=None, **kwargs):
    from support.services.security import login_failure_record

    email = credentials.get("email") or credentials.get("username") or ""
    _safely(lambda: login_failure_record(email=str(email), request=request))


def _code_rejected(kind):
    def receiver(sender, request=None, user=None, **kwargs):
        from support.services.security import security_event_record

        _safely(lambda: security_event_record(kind=kind, user=user, request=request))

    return receiver


_receivers = []


def connect() -> None:
    from support.models import SecurityEventKind

    user_login_failed.connect(_login_failed, dispatch_uid="support-login-failed")
    for signal, kind in (
        (allauth_signals.login_code_rejected, SecurityEventKind.LOGIN_CODE_REJECTED),
        (
            allauth_signals.email_verification_code_rejected,
            SecurityEventKind.VERIFICATION_CODE_REJECTED,
        ),
        (allauth_signals.password_reset_code_rejected, SecurityEventKind.RESET_CODE_REJECTED),
    ):
        receiver = _code_rejected(kind)
        _receivers.append(receiver)  # signals hold weak references
        signal.connect(receiver, dispatch_uid=f"support-{kind}")
