"""Every request by a signed-in person counts as activity for the operator dashboard.

Runs after the view, so it sees the user whoever authenticated them: the
session (AuthenticationMiddleware's lazy user) or DRF (a JWT or vendor API key
sets the Django request's user too). It never makes the user load just for
this: when the view did not look at who is asking (health checks, say), the
request is not counted, rather than costing a session and a user query.

Cheap on the hot path: at most one Redis write per person per 30-second slot
in each process (support.activity.activity_touch_throttled), a dictionary
look-up otherwise, and nothing here can fail the request.

It also counts allauth's 429s (sign-in, sign-up and code-request rate limits)
for the security panel's blocks by kind: every one of them, page or headless,
leaves through here, and allauth has no hook of its own for them.
"""

import logging

from django.utils.functional import SimpleLazyObject, empty

from flexpass.tallies import REFUSAL_SIGN_IN, refusal_record
from support.activity import activity_touch_throttled

logger = logging.getLogger(__name__)
_SIGN_IN_PREFIXES = ("/accounts/", "/api/v1/auth/")


def _signed_in_user_id(request) -> int | None:
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None  # nobody asked: loading it now would cost queries
    if getattr(user, "is_authenticated", False):
        return user.pk
    return None


class ActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        try:
            user_id = _signed_in_user_id(request)
            if user_id:
                activity_touch_throttled(user_id)
            if response.status_code == 429 and request.path.startswith(_SIGN_IN_PREFIXES):
                refusal_record(REFUSAL_SIGN_IN)
        except Exception:  # a statistic must never fail the request
            logger.warning("could not record activity", exc_info=True)
        return response
