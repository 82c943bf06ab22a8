"""How plans and passes read on the page: `{% load marketplace %}`."""

from django import template

from flexpass.money import format_rupees
from marketplace.models import MeteredUnit, PlanKind

register = template.Library()

KIND_BADGES = {
    PlanKind.TIME: ("brand", "Time pass"),
    PlanKind.USAGE: ("ok", "Usage credits"),
    PlanKind.METERED: ("warn", "Metered"),
}


@register.filter
def hours_label(hours) -> str:
    """24 -> '24 hours', 72 -> '3 days', 168 -> '1 week', 1 -> '1 hour'."""
    hours = int(hours or 0)
    if hours >= 48 and hours % 24 == 0:
        days = hours // 24
        if days % 7 == 0:
            weeks = days // 7
            return f"{weeks} week{'s' if weeks != 1 else ''}"
        return f"{days} days"
    return f"{hours} hour{'s' if hours != 1 else ''}"


@register.filter
def plan_terms(plan) -> str:
    """What you get: '24 hours unlimited', '100 calls · valid 30 days', 'billed per minute'."""
    if plan.kind == PlanKind.TIME:
        return f"Unlimited use for {hours_label(plan.duration_hours)}"
    if plan.kind == PlanKind.USAGE:
        text = f"{plan.units:,} {plan.unit_label or 'credits'}"
        return (
            f"{text} · valid {plan.validity_days} days"
            if plan.validity_days
            else f"{text} · no expiry"
        )
    unit = MeteredUnit(plan.metered_unit).label if plan.metered_unit else ""
    return f"Billed {unit} while a session runs"


@register.filter
def plan_price(plan) -> str:
    if plan.kind == PlanKind.METERED:
        unit = {"second": "/s", "minute": "/min", "call": "/call"}.get(plan.metered_unit, "")
        return f"{format_rupees(plan.metered_rate_paise or 0)}{unit}"
    return format_rupees(plan.price_paise)


@register.inclusion_tag("marketplace/partials/_kind_badge.html")
def kind_badge(kind):
    tone, label = KIND_BADGES.get(kind, ("", kind))
    return {"tone": tone, "label": label, "kind": kind}
