"""Small presentation helpers for flash-sale templates."""

import uuid

from django import template

register = template.Library()

HUES = (250, 200, 160, 20, 330, 280, 40, 190)


@register.filter
def item_hue(item) -> int:
    """A stable accent hue for an item's tile (its plan's service accent is not a hue)."""
    return HUES[item.product_id % len(HUES)] if item.product_id else HUES[item.plan_id % len(HUES)]


@register.filter
def initials(name: str) -> str:
    words = [word for word in str(name).replace("·", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.filter
def quantity_choices(item) -> range:
    return range(1, min(item.per_user_limit, item.total, 10) + 1)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def uuid_token() -> str:
    """A fresh token per rendered form: a double submit of the same form holds once."""
    return uuid.uuid4().hex


@register.filter
def payment_status(value: str) -> str:
    """A mixed payment's state (the marketplace's order states) as people read it."""
    from marketplace.models import OrderStatus

    try:
        return OrderStatus(value).label
    except ValueError:
        return value
