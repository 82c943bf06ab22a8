"""Time travel for the clocks allauth reads with `time.time()`.

Only the named module's view of the clock moves, so the rest of Django (the
session store, the cache) keeps real time.
"""

import time
from contextlib import contextmanager
from unittest import mock


@contextmanager
def clock_moved(module: str, *, seconds: float):
    """Inside the block, `module` sees `time.time()` shifted by `seconds`."""
    real_time = time.time
    with mock.patch(f"{module}.time") as fake_time:
        fake_time.time.side_effect = lambda: real_time() + seconds
        yield


# The clock that decides whether a one-time code (login, email verification) expired.
CODE_CLOCK = "allauth.account.internal.flows.code_verification"
# The clock that stamps `iat`/`exp` on the JWTs allauth headless issues.
JWT_CLOCK = "allauth.headless.tokens.strategies.jwt.internal"
