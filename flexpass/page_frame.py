"""A page rendered once for everybody, with holes filled per request.

base.html marks the parts of the frame that differ from person to person with
`{% frame_part "<template>" %}` (the user menu with the bell, the toasts, the
chat widget). Normally the tag simply includes that template. A view whose page
is the same for everyone else (the catalog) renders the whole page once with
`frame_render()`: the CSRF token and the parts listed in `frame_holes()` come out
as markers, and the result is kept as segments, text and hole names in turn.
`frame_fill()` then serves it per request: one template render per hole, no
page template at all.

What stays in the frame may depend only on what `frame_variant()` says (signed
in or not, and the role, which decides the nav links); everything about the
particular person must be a hole. Anonymous visitors' user menu and widget are
the same for all of them, so only the token and the toasts are holes there.
"""

import re
import secrets
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

HOLES_CONTEXT_KEY = "page_frame_holes"
CSRF_HOLE = "csrf"
TOASTS = "partials/_toasts.html"
PER_PERSON = ("partials/_nav_end.html", "partials/_support_widget.html")


@dataclass(frozen=True)
class Holes:
    names: frozenset[str]
    nonce: str  # random per render: nothing in the page's data can forge a marker

    def marker(self, name: str) -> SafeString:
        return mark_safe(f"\x00{self.nonce}:{name}\x00")


def frame_variant(request) -> str:
    """What the frame may depend on: signed in or not, and the role (nav links)."""
    user = request.user
    return f"role:{user.role}" if user.is_authenticated else "anonymous"


def frame_holes(request) -> tuple[str, ...]:
    return (TOASTS, *PER_PERSON) if request.user.is_authenticated else (TOASTS,)


def frame_render(
    request, template_name: str, context: dict, *, holes: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """The page with its per-person parts left as holes: (text, hole, text, ..., text).

    `holes` names the page's own per-person `frame_part`s, on top of the frame's.
    """
    holes = Holes(frozenset((*frame_holes(request), *holes)), secrets.token_hex(8))
    html = render_to_string(
        template_name,
        {**context, HOLES_CONTEXT_KEY: holes, "csrf_token": holes.marker(CSRF_HOLE)},
        request,
    )
    return tuple(re.split(f"\x00{holes.nonce}:([^\x00]+)\x00", html))


def _fill(request, name: str, context: dict) -> str:
    if name == CSRF_HOLE:
        return context.get("csrf_token", "")
    if name == TOASTS and not len(get_messages(request)):  # no cookie read beyond this
        return ""
    return render_to_string(name, context, request)


def frame_fill(
    segments: tuple[str, ...], request, *, csrf: bool = True, context: dict | None = None
) -> str:
    """The page for this request: the frame's text with every hole rendered for it.

    Holes render with the request's context plus `context` (the per-person data
    the page's own holes need) and share one CSRF token, as one page render
    would. `csrf=False` leaves the page's token empty, for a page that cannot
    post anything (minting one costs 33 urandom calls and a Set-Cookie).
    """
    context = dict(context or {})
    if csrf:
        context["csrf_token"] = get_token(request)
    parts = list(segments)
    for index in range(1, len(parts), 2):
        parts[index] = _fill(request, parts[index], context)
    return "".join(parts)
