"""How plans and passes read on the page: `{% load marketplace %}`."""

from django import template

from flexpass.money import format_rupees
from marketplace import terms
from marketplace.models import PlanKind

register = template.Library()

KIND_BADGES = {
    PlanKind.TIME: ("brand", "Time pass"),
    PlanKind.USAGE: ("ok", "Usage credits"),
    PlanKind.METERED: ("warn", "Metered"),
}


register.filter("hours_label", terms.hours_label)
register.filter("plan_terms", terms.plan_terms)


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
