"""{% load rewards %}: badges and purchase rewards, for any page that shows them."""

from django import template

from marketplace import badges
from marketplace.models import CashbackGrant, ReferralReward

register = template.Library()


@register.inclusion_tag("marketplace/partials/_rewards_badges.html")
def user_badges(user, compact=False):
    """The user's badges (one query), or an invitation to earn the first."""
    earned = badges.badges_for(user) if user.is_authenticated else []
    earned_codes = {badge.code for badge, _ in earned}
    return {
        "earned": earned,
        "locked": [badge for code, badge in badges.BADGES.items() if code not in earned_codes],
        "compact": compact,
    }


@register.inclusion_tag("marketplace/partials/_rewards_receipt.html")
def receipt_rewards(purchase):
    """Cashback and referral bonus earned by one purchase (two small queries)."""
    return {
        "cashback": CashbackGrant.objects.filter(purchase=purchase).first(),
        "referral": ReferralReward.objects.filter(purchase=purchase).first(),
        "purchase": purchase,
    }
