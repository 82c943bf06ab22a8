"""{% load vendor_console %}: the "Become a vendor" card on the profile page.

A template tag, so the accounts app shows the marketplace's card without
importing marketplace models.
"""

from django import template

from marketplace.models import VendorApplication

register = template.Library()


@register.inclusion_tag("marketplace/console/_become_vendor_card.html")
def become_vendor_card(user):
    """A vendor: a link to the console. Otherwise the latest application or an invitation."""
    if not user.is_authenticated:
        return {"show": False}
    is_vendor = hasattr(user, "vendor_profile")
    application = None if is_vendor else VendorApplication.objects.filter(user=user).first()
    return {"show": True, "is_vendor": is_vendor, "application": application}
