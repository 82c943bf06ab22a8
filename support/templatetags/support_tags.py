"""The top bar's bell and the chat widget, for every signed-in page (templates/base.html).

Light on purpose: one cached read for both counts (no query when cached, one
when not); the widget's panel is fetched only when someone opens it. Activity
("active users" on the dashboard) is recorded by support.middleware.
"""

from django import template

from support.selectors import notifications_unread_counts

register = template.Library()


def _counts(context) -> dict | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    counts = getattr(request, "_support_counts", None)
    if counts is None:
        counts = notifications_unread_counts(user_id=user.pk)
        request._support_counts = counts
    return counts


@register.inclusion_tag("support/partials/_bell.html", takes_context=True)
def support_bell(context):
    counts = _counts(context)
    return {"show": counts is not None, "unread": (counts or {}).get("all", 0)}


@register.inclusion_tag("support/partials/_widget.html", takes_context=True)
def support_widget(context):
    counts = _counts(context)
    request = context.get("request")
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    on_a_chat_page = bool(match and match.app_name == "support")  # the page is the chat
    return {
        "show": counts is not None,
        "launcher": counts is not None and not user.is_staff and not on_a_chat_page,
        "chat_unread": (counts or {}).get("chat", 0),
    }


# Feather-style stroke icons (no emoji font needed).
_PATHS = {
    "alert": '<path d="M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z"/><path d="M12 9v4M12 17h.01"/>',
    "wallet": '<rect x="2" y="6" width="20" height="14" rx="2"/><path d="M2 10h20M16 15h2"/>',
    "receipt": '<path d="M4 2v20l3-2 3 2 3-2 3 2 3-2 1 .7V2l-1 .7L16 2l-3 2-3-2-3 2-3-2z"/><path d="M8 8h8M8 12h8M8 16h5"/>',
    "clock": '<circle cx="12" cy="12" r="10"/><path d="M12 6v6l4 2"/>',
    "hourglass": '<path d="M6 2h12M6 22h12M7 2v4a5 5 0 0 0 10 0V2M7 22v-4a5 5 0 0 1 10 0v4"/>',
    "gift": '<path d="M20 12v10H4V12M2 7h20v5H2zM12 22V7"/><path d="M12 7H7.5a2.5 2.5 0 0 1 0-5C11 2 12 7 12 7zM12 7h4.5a2.5 2.5 0 0 0 0-5C13 2 12 7 12 7z"/>',
    "users": '<path d="M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/><path d="M23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75"/>',
    "ticket": '<path d="M3 7a2 2 0 0 0 2-2h14a2 2 0 0 0 2 2v3a2 2 0 0 0 0 4v3a2 2 0 0 0-2 2H5a2 2 0 0 0-2-2v-3a2 2 0 0 0 0-4z"/><path d="M13 5v2M13 17v2M13 11v2"/>',
    "bank": '<path d="M3 21h18M3 10h18M5 6l7-3 7 3M4 10v11M20 10v11M8 14v3M12 14v3M16 14v3"/>',
    "undo": '<path d="M3 7v6h6"/><path d="M21 17a9 9 0 0 0-15-6.7L3 13"/>',
    "chat": '<path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"/>',
    "stop": '<circle cx="12" cy="12" r="10"/><rect x="9" y="9" width="6" height="6"/>',
    "bell": '<path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.73 21a2 2 0 0 1-3.46 0"/>',
}
_ICONS = {
    "low_balance": ("alert", "#b45309"),
    "topup_captured": ("wallet", "#138a4b"),
    "purchase_receipt": ("receipt", "#5b4cf0"),
    "pass_expiring": ("hourglass", "#b45309"),
    "pass_expired": ("clock", "#5b6478"),
    "cashback_released": ("gift", "#138a4b"),
    "referral_reward": ("users", "#0e7490"),
    "hold_expiring": ("clock", "#c2293f"),
    "waitlist_offer": ("ticket", "#5b4cf0"),
    "flash_payment_returned": ("wallet", "#b45309"),
    "withdrawal_approved": ("bank", "#138a4b"),
    "withdrawal_rejected": ("undo", "#c2293f"),
    "chat_reply": ("chat", "#5b4cf0"),
    "consultation": ("chat", "#0e7490"),
    "session_auto_stopped": ("stop", "#c2293f"),
}


@register.filter
def notification_icon(kind: str) -> str:
    from django.utils.safestring import mark_safe

    name, colour = _ICONS.get(kind, ("bell", "#5b4cf0"))
    return mark_safe(
        f'<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="{colour}" '
        f'stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">'
        f"{_PATHS[name]}</svg>"
    )


_STATUS_BADGES = {
    "open": "brand",
    "pending": "warn",
    "snoozed": "",
    "resolved": "ok",
    "requested": "warn",
    "accepted": "brand",
    "in_progress": "brand",
    "closed": "ok",
}


@register.filter
def status_badge(status: str) -> str:
    return _STATUS_BADGES.get(status, "")


@register.filter
def initials(name: str) -> str:
    words = [word for word in str(name).replace("@", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


_COLOURS = ["#5b4cf0", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6"]


@register.filter
def avatar_colour(value) -> str:
    return _COLOURS[sum(str(value).encode()) % len(_COLOURS)]


@register.simple_tag
def csat_faces():
    return [(1, "😞"), (2, "🙁"), (3, "😐"), (4, "🙂"), (5, "😍")]


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.simple_tag
def icon(name: str, size: int = 28) -> str:
    from django.utils.safestring import mark_safe

    return mark_safe(
        f'<svg viewBox="0 0 24 24" width="{size}" height="{size}" fill="none" stroke="currentColor" '
        f'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">'
        f"{_PATHS[name]}</svg>"
    )


@register.filter
def short_ago(moment) -> str:
    """ "now", "5m", "3h", "2d", or the date: for tight lists."""
    from django.utils import timezone

    if not moment:
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    return timezone.localtime(moment).strftime("%d %b")
