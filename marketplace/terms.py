"""How a plan's terms read, in words: one source for pages, receipts and what a purchase keeps."""

from marketplace.models import MeteredUnit, PlanKind


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


def plan_terms(plan) -> str:
    """What you get: 'Unlimited use for 24 hours', '100 calls · valid 30 days', 'Billed per
    minute while a session runs'."""
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
