from django import template

from flexpass.money import format_rupees

register = template.Library()


@register.filter
def rupees(amount_paise) -> str:
    """{{ balance_paise|rupees }} -> ₹1,23,456.78"""
    if amount_paise in (None, ""):
        return ""
    return format_rupees(int(amount_paise))
